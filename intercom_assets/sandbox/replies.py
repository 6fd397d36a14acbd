"""What the sandbox answers to one HTTP request (`Reply`), and the JSON replies it builds."""

from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

import orjson

from intercom_assets.sandbox.errors import error_body

JSON_HEADERS = [("Content-Type", "application/json; charset=utf-8")]


@dataclass
class Reply:
    """What to answer: status, headers, body; `reset` means drop the connection instead."""

    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    delay: float = 0.0
    reset: bool = False

    def dated(self, now: float) -> "Reply":
        """This reply with a `Date` header from the simulated clock, as every HTTP server
        sends one (clients can read the workspace's time from it)."""
        self.headers = [*self.headers, ("date", formatdate(now, usegmt=True))]
        return self


def json_reply(status: int, value: Any) -> Reply:
    """`value` as JSON with `status`."""
    return Reply(status, orjson.dumps(value), list(JSON_HEADERS))


def error_reply(
    status: int,
    code: str,
    message: str,
    request_id: str | None = None,
    extra_headers: list[tuple[str, str]] | None = None,
) -> Reply:
    """Intercom's `error.list` body with `status` (a fresh request id unless one is given)."""
    body = error_body(code, message, request_id)
    return Reply(status, body, [*JSON_HEADERS, *(extra_headers or [])])
