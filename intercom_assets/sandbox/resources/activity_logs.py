"""Admin activity logs: `GET /admins/activity_logs?created_at_after=&created_at_before=`.

Entries are immutable and arrive with the clock (sign-ins, away mode, permission changes).
The window bounds are unix seconds given as strings; both are exclusive here
(`after < created_at < before`); `created_at_after` is required. Pages are numbered and
`pages.next` is a URL, newest entry first.
"""

import math
import random
from typing import Any
from urllib.parse import urlencode

from intercom_assets.sandbox.churn import Churning
from intercom_assets.sandbox.core import SandboxCore
from intercom_assets.sandbox.endpoints import Call, dumps
from intercom_assets.sandbox.errors import ApiError
from intercom_assets.sandbox.pagination import per_page, positive_int
from intercom_assets.sandbox.resource import Generation, Resource, own_random
from intercom_assets.sandbox.store import DAY, Record, Store, numeric_id

HISTORY_DAYS = 30
DEFAULT_PER_PAGE = 20
ACTIVITIES = [
    ("admin_login_success", "{name} successfully logged in."),
    ("admin_logout", "{name} logged out."),
    ("admin_away_mode_change", "{name} changed their away mode."),
    ("admin_permission_change", "{name} changed a teammate's permissions."),
    ("app_team_membership_modification", "{name} changed a team's members."),
    ("conversation_part_deletion", "{name} deleted a conversation part."),
]


def new_activity_log(rng: random.Random, number: int, admin: Record, created_at: int) -> Record:
    activity, text = rng.choice(ACTIVITIES)
    metadata: dict[str, Any] = {}
    if activity == "admin_away_mode_change":
        metadata = {"away_mode": rng.random() < 0.5, "reassign_conversations": False}
    elif activity == "admin_login_success":
        metadata = {"sign_in_method": rng.choice(["email_password", "google_sso"])}
    return {
        "id": str(number),
        "performed_by": {
            "type": "admin",
            "id": admin["id"],
            "email": admin["email"],
            "ip": f"198.51.100.{rng.randrange(1, 255)}",
        },
        "metadata": metadata,
        "created_at": created_at,
        "activity_type": activity,
        "activity_description": text.format(name=admin["name"]),
    }


def _unix(call: Call, name: str, required: bool) -> int | None:
    raw = call.query.get(name)
    if raw is None or raw == "":
        if required:
            raise ApiError(400, "parameter_not_found", f"{name} is required")
        return None
    try:
        return int(raw)
    except ValueError:
        raise ApiError(
            400, "parameter_invalid", f"{name} must be a unix timestamp, got {raw!r}"
        ) from None


def list_activity_logs(core: SandboxCore, call: Call) -> bytes:
    after = _unix(call, "created_at_after", required=True)
    before = _unix(call, "created_at_before", required=False)
    assert after is not None
    table = core.store.tables["activity_logs"]
    entries = sorted(
        (
            r
            for r in table.values()
            if r["created_at"] > after and (before is None or r["created_at"] < before)
        ),
        key=lambda r: (-r["created_at"], numeric_id(r["id"])),
    )
    size = per_page(call.query, DEFAULT_PER_PAGE)
    page = positive_int(call.query, "page", 1)
    total_pages = max(math.ceil(len(entries) / size), 1)
    query = {k: v for k, v in call.query.items() if k not in ("page", "per_page")}
    nxt = (
        f"{call.base_url}/admins/activity_logs?"
        + urlencode({**query, "page": page + 1, "per_page": size})
        if page < total_pages
        else None
    )
    pages = {
        "type": "pages",
        "next": nxt,
        "page": page,
        "per_page": size,
        "total_pages": total_pages,
    }
    chunk = entries[(page - 1) * size : page * size]
    return dumps({"type": "activity_log.list", "pages": pages, "activity_logs": chunk})


class ActivityLogs(Resource):
    """The admins' activity logs: about `activity_log_rate` entries per admin a day."""

    tables = {"activity_logs": True}
    change_kinds = ("activity_logs_created",)
    routes = (("GET", "/admins/activity_logs", list_activity_logs),)

    def __init__(self) -> None:
        self.rng = random.Random(0)
        self.last = 0

    def next_id(self) -> int:
        self.last += 1
        return 60_000_000 + self.last

    def generate(self, g: Generation) -> None:
        rng = self.rng = own_random(g, "activity_logs")
        store = g.store
        admins = [store.admins[i] for i in store.sorted_ids("admins")]
        count = int(len(admins) * HISTORY_DAYS * 0.5)
        for created in sorted(
            rng.randint(g.start - HISTORY_DAYS * DAY, g.start) for _ in range(count)
        ):
            entry = new_activity_log(rng, self.next_id(), rng.choice(admins), created)
            store.tables["activity_logs"][entry["id"]] = entry
        store.reordered("activity_logs")

    def plan_churn(self, c: Churning) -> None:
        admins = list(c.store.sorted_ids("admins"))
        c.plan(c.churn.activity_log_rate, admins, self.add, rng=self.rng)

    def add(self, c: Churning, at: int, admin_id: str) -> None:
        admin = c.store.admins.get(admin_id)
        if admin is None:
            return
        c.created("activity_logs", new_activity_log(self.rng, self.next_id(), admin, at))

    def truth(self, store: Store) -> dict[str, Any]:
        table = store.tables["activity_logs"]
        return {"activity_logs": [table[i] for i in store.sorted_ids("activity_logs")]}
