"""Typed errors raised by the Intercom client.

Every message names the HTTP method, the path and Intercom's error code and message;
none ever contains the access token (it is redacted even if a server echoes it back).
"""

from typing import Any
from urllib.parse import urlsplit

USERS_AND_COMPANIES = "Read and list users and companies"
READ_PERMISSIONS: tuple[tuple[str, str], ...] = (
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
"""Each path prefix the client reads (first match wins) and the permission of an Intercom app
that covers it, as the Developer Hub's authentication settings name it (Intercom's list of
OAuth scopes); docs/operations.md has the table per stream."""


class IntercomError(Exception):
    """Base class of every error raised by `intercom_assets.api`."""

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        path: str = "",
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.status = status
        self.code = code
        self.request_id = request_id
        self.attempts = 1
        """How many times the request was sent before this error was raised."""


class IntercomBadRequest(IntercomError):
    """400 (other than `scroll_exists`) or 422: the request itself is wrong."""


class IntercomAuthError(IntercomError):
    """401 or 403: the token is invalid, revoked or lacks a scope."""

    @property
    def permission(self) -> str | None:
        """The app permission that covers the refused request's path (`read_permission`)."""
        return read_permission(self.path)


def request_path(path: str) -> str:
    """The path of `path`, which may be a full URL (a `pages.next` link) with a query."""
    return urlsplit(path).path or path


def read_permission(path: str) -> str | None:
    """The Intercom app permission that covers reading `path` (a path or a URL), or None for
    a path the table does not know (`GET /me` needs none)."""
    path = request_path(path)
    for prefix, name in READ_PERMISSIONS:
        if path == prefix or path.startswith(f"{prefix}/"):
            return name
    return None


class IntercomPlanError(IntercomError):
    """402: the API is not available on the workspace's plan."""


class IntercomNotFound(IntercomError):
    """404: no such resource (also merged, archived or deleted contacts)."""


class IntercomGone(IntercomError):
    """410: the resource moved (merged contacts on 2.16+); `canonical` names the target."""

    canonical: str | None = None


class IntercomConflict(IntercomError):
    """409: the request conflicts with the resource's state."""


class IntercomScrollExists(IntercomBadRequest):
    """400 `scroll_exists`: another companies scroll is open for this workspace."""


class IntercomRateLimited(IntercomError):
    """429 returned after the retry budget ran out."""


class IntercomServerError(IntercomError):
    """5xx returned after the retry budget ran out (or on a request that may not be retried)."""


class IntercomTransportError(IntercomError):
    """Timeout, connection error or an unreadable body after the retry budget ran out."""


class IntercomProtocolError(IntercomError):
    """The response does not have the shape the client needs (e.g. a cursor that never moves)."""


class IntercomWindowFieldError(IntercomProtocolError):
    """A search returned a record whose window field is missing or not a number."""

    def __init__(self, path: str, record_name: str, record_id: Any, field: str, value: Any) -> None:
        super().__init__(
            f"POST {path} returned {record_name} {record_id} without a numeric {field}"
            f" (got {value!r}): cannot place it in a window",
            method="POST",
            path=path,
        )
        self.record_id = record_id
        self.field = field
        self.value = value


_BY_STATUS: dict[int, type[IntercomError]] = {
    400: IntercomBadRequest,
    401: IntercomAuthError,
    402: IntercomPlanError,
    403: IntercomAuthError,
    404: IntercomNotFound,
    409: IntercomConflict,
    410: IntercomGone,
    422: IntercomBadRequest,
    429: IntercomRateLimited,
}


def redact(text: str, secret: str) -> str:
    """`text` with every occurrence of `secret` replaced by `***`."""
    return text.replace(secret, "***") if secret else text


def first_error(body: Any) -> tuple[str | None, str | None, str | None]:
    """(code, message, request_id) of an Intercom `error.list` body, or Nones."""
    if not isinstance(body, dict):
        return None, None, None
    request_id = body.get("request_id")
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return errors[0].get("code"), errors[0].get("message"), request_id
    return body.get("code"), body.get("message"), request_id


def error_for_status(
    status: int, body: Any, *, method: str, path: str, token: str, link: str | None = None
) -> IntercomError:
    """The typed error for a non-2xx response."""
    code, message, request_id = first_error(body)
    if status == 400 and code == "scroll_exists":
        cls: type[IntercomError] = IntercomScrollExists
    elif status >= 500:
        cls = IntercomServerError
    else:
        cls = _BY_STATUS.get(status, IntercomError)
    text = redact(
        f"{method} {path} failed with HTTP {status}: {code or 'no error code'}"
        f" ({message or 'no message'})" + (f" [request_id {request_id}]" if request_id else ""),
        token,
    )
    error = cls(text, method=method, path=path, status=status, code=code, request_id=request_id)
    if isinstance(error, IntercomGone):
        error.canonical = link
    return error
