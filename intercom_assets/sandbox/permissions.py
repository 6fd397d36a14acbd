"""The permissions of the token's app: which one each route needs, and the refusal without it.

An Intercom app (the Developer Hub's "Authentication" settings) is given permissions, named
there as below; its access token reads only what they cover. `Sandbox(permissions=...)`
grants a subset (default: all of them); a request to a route whose permission is missing is
refused with 403 `forbidden`, "You do not have the required scope (...) to access this
resource", as the 2.16 description's example of a token that lacks a scope (it names the
OAuth scope there, `read_conversations`; the sandbox names the permission).
`permission_status=401` answers 401 `unauthorized` instead, as some clients report live
Intercom doing for a missing scope. `GET /me` needs no permission.
"""

from collections.abc import Collection

USERS_AND_COMPANIES = "Read and list users and companies"
PERMISSION_BY_PREFIX: tuple[tuple[str, str], ...] = (
    ("/admins/activity_logs", "Read admin activity logs"),
    ("/admins", "Read admins"),
    ("/teams", "Read admins"),
    ("/tags", "Read tags"),
    ("/segments", USERS_AND_COMPANIES),
    ("/data_attributes", USERS_AND_COMPANIES),
    ("/companies", USERS_AND_COMPANIES),
    ("/contacts", USERS_AND_COMPANIES),
    ("/subscription_types", USERS_AND_COMPANIES),
    ("/conversations", "Read conversations"),
    ("/events", "Read events"),
    ("/tickets", "Read tickets"),
    ("/ticket_states", "Read tickets"),
    ("/ticket_types", "Read tickets"),
    ("/help_center", "Read and list articles"),
    ("/articles", "Read and list articles"),
)
"""Each path prefix (first match wins) and the permission its routes need. The names and
what they cover are those of Intercom's list of OAuth scopes ("Read and list users and
companies: list and view all segments, users and companies", "Read tickets: view tickets",
...); routes that list does not name (teams, data attributes, subscription types, ticket
types and states, help centers) sit with the permission of their neighbours."""
ALL_PERMISSIONS = frozenset(name for _, name in PERMISSION_BY_PREFIX)
PERMISSION_STATUSES = (403, 401)


def required_permission(path: str) -> str | None:
    """The permission a request to `path` needs; None for routes that need none."""
    for prefix, name in PERMISSION_BY_PREFIX:
        if path == prefix or path.startswith(f"{prefix}/"):
            return name
    return None


def check_permissions(granted: Collection[str] | None, status: int) -> frozenset[str]:
    """The granted permissions as a set (None: all), each a known name; `status` 403 or 401."""
    if status not in PERMISSION_STATUSES:
        raise ValueError(f"permission_status must be 403 or 401, got {status}")
    if granted is None:
        return ALL_PERMISSIONS
    unknown = sorted(set(granted) - ALL_PERMISSIONS)
    if unknown:
        known = ", ".join(sorted(ALL_PERMISSIONS))
        raise ValueError(f"unknown permissions {unknown}; known permissions: {known}")
    return frozenset(granted)
