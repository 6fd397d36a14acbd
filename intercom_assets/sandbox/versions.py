"""How records read under each `Intercom-Version`: the one place the sandbox renders a record
for the version a request asked for.

The store, and so the truth, keeps every record in its 2.14 shape. From 2.16 on Intercom
changed some fields' types and values (the 2.16 description, and the API notes' version
differences); a request with 2.16 (or Preview) gets them reshaped here, wherever the record is
served (list, search, get, and lists of one kind embedded in another's endpoint):

- contact `owner_id`: an integer (or null) up to 2.15, a string (or null) from 2.16;
- conversation `priority`: `priority|not_priority` up to 2.15, `none|low|medium|high|urgent`
  from 2.16 (`PRIORITY_FROM_216`); `admin_assignee_id` and `team_assignee_id`: null when
  unassigned up to 2.15, `0` from 2.16;
- ticket `admin_assignee_id` and `team_assignee_id`: strings (absent when unassigned) up to
  2.15, integers (`0` when unassigned) from 2.16.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Body = dict[str, Any]
"""A record's public body (a copy the rendering may change at its top level)."""

V2_16 = (2, 16)

PRIORITY_FROM_216 = {"priority": "high", "not_priority": "none"}
"""A conversation's 2.14 `priority` as 2.16 sends it. Neither description nor the API notes map
the old flag to the new levels; an unflagged conversation is `none` (2.16's default), and a
flagged one is taken to be `high` (the sandbox's choice, in docs/sandbox.md)."""

ASSIGNEES = ("admin_assignee_id", "team_assignee_id")


def version_at_least(version: str, minimum: tuple[int, int]) -> bool:
    """Whether an `Intercom-Version` is `minimum` or later; `Preview` is later than all."""
    if version == "Preview":
        return True
    major, _, minor = version.partition(".")
    return (int(major), int(minor or 0)) >= minimum


def contact_216(body: Body) -> Body:
    """A contact as 2.16 sends it: `owner_id` a string."""
    if body.get("owner_id") is not None:
        body["owner_id"] = str(body["owner_id"])
    return body


def conversation_216(body: Body) -> Body:
    """A conversation as 2.16 sends it: the five-level `priority`, `0` for no assignee."""
    if "priority" in body:
        body["priority"] = PRIORITY_FROM_216[body["priority"]]
    for key in ASSIGNEES:
        if body.get(key) is None:
            body[key] = 0
    return body


def ticket_216(body: Body) -> Body:
    """A ticket as 2.16 sends it: integer assignee ids, `0` for no assignee."""
    for key in ASSIGNEES:
        body[key] = int(body.get(key) or 0)
    return body


@dataclass(frozen=True)
class Rendering:
    """How one kind of record reads from a version on."""

    since: tuple[int, int]
    reshape: Callable[[Body], Body]

    @property
    def name(self) -> str:
        """A name for the shape (the store caches each shape's JSON apart)."""
        return "{}.{}".format(*self.since)


RENDERINGS: dict[str, Rendering] = {
    "contacts": Rendering(V2_16, contact_216),
    "conversations": Rendering(V2_16, conversation_216),
    "tickets": Rendering(V2_16, ticket_216),
}
"""Store kind -> its later shape (kinds not listed read the same under every version)."""


def rendering(kind: str, version: str) -> Rendering | None:
    """How a record of `kind` reads under `version`, when not as stored."""
    later = RENDERINGS.get(kind)
    return later if later is not None and version_at_least(version, later.since) else None


def as_version(kind: str, body: Body, version: str) -> Body:
    """A public body (which this may change) as `version` sends it."""
    later = rendering(kind, version)
    return body if later is None else later.reshape(body)
