"""How records read under each `Intercom-Version`: the one place the sandbox renders a record
for the version a request asked for.

The store, and so the truth, keeps every record in its 2.14 shape. Later versions add fields
and (from 2.16 on) changed some fields' types and values (the 2.16 description, and the API
notes' version differences); a request with 2.15, 2.16 (or Preview) gets the record reshaped
here, every step up to its version in turn, wherever the record is served (list, search, get,
and lists of one kind embedded in another's endpoint).

Fields added:

- conversation `company` from 2.15 (the API notes: "Conversation gains `company`"): a
  reference `{"type": "company", "id"}` to the company of the conversation's contact when it
  began (its first company then; null without one), kept in the store as `_company_id`;
- conversation `channel` (`{"initial": "messenger", "current": "messenger"}`: every sandbox
  conversation begins in the Messenger), `external_references` (`[]`: not a Fin Standalone
  workspace), `sales_agent_participated` (false) and `sales_agent` (null) from 2.16;
- ticket `previous_ticket_state_id` from 2.16: the state before its latest state change (null
  before any), kept in the store as `_previous_state_id`.

The 2.16 description has them, the 2.14 one not; the API notes date only `company` (2.15), and
list `channel`, `external_references` and `sales_agent*` under 2.16; the sandbox takes the ticket
field to be 2.16's as well. Fields changed:

- contact `owner_id`: an integer (or null) up to 2.15, a string (or null) from 2.16;
- conversation `priority`: `priority|not_priority` up to 2.15, `none|low|medium|high|urgent`
  from 2.16 (`PRIORITY_FROM_216`); `admin_assignee_id` and `team_assignee_id`: null when
  unassigned up to 2.15, `0` from 2.16;
- ticket `admin_assignee_id` and `team_assignee_id`: strings (absent when unassigned) up to
  2.15, integers (`0` when unassigned) from 2.16.
"""

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Body = dict[str, Any]
"""A record's public body (a copy the rendering may change at its top level)."""
Stored = Mapping[str, Any]
"""The record as the store keeps it (its private `_` keys included)."""

V2_15 = (2, 15)
V2_16 = (2, 16)
CHANNEL_216 = {"initial": "messenger", "current": "messenger"}

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


def conversation_215(body: Body, record: Stored) -> Body:
    """A conversation as 2.15 sends it: its `company`."""
    company = record.get("_company_id")
    body["company"] = None if company is None else {"type": "company", "id": company}
    return body


def contact_216(body: Body, _: Stored) -> Body:
    """A contact as 2.16 sends it: `owner_id` a string."""
    if body.get("owner_id") is not None:
        body["owner_id"] = str(body["owner_id"])
    return body


def conversation_216(body: Body, _: Stored) -> Body:
    """A conversation as 2.16 sends it: the five-level `priority`, `0` for no assignee, and the
    fields 2.16 adds."""
    if "priority" in body:
        body["priority"] = PRIORITY_FROM_216[body["priority"]]
    for key in ASSIGNEES:
        if body.get(key) is None:
            body[key] = 0
    body["channel"] = dict(CHANNEL_216)
    body["external_references"] = []
    body["sales_agent_participated"] = False
    body["sales_agent"] = None
    return body


def ticket_216(body: Body, record: Stored) -> Body:
    """A ticket as 2.16 sends it: integer assignee ids, `0` for no assignee, and the state
    before its latest state change."""
    for key in ASSIGNEES:
        body[key] = int(body.get(key) or 0)
    body["previous_ticket_state_id"] = record.get("_previous_state_id")
    return body


Reshape = Callable[[Body, Stored], Body]


@dataclass(frozen=True)
class Rendering:
    """How one kind of record reads from a version on."""

    since: tuple[int, int]
    reshape: Reshape

    @property
    def name(self) -> str:
        """A name for the shape (the store caches each shape's JSON apart)."""
        return "{}.{}".format(*self.since)


RENDERINGS: dict[str, tuple[Rendering, ...]] = {
    "contacts": (Rendering(V2_16, contact_216),),
    "conversations": (Rendering(V2_15, conversation_215), Rendering(V2_16, conversation_216)),
    "tickets": (Rendering(V2_16, ticket_216),),
}
"""Store kind -> its later shapes, oldest first, each applied on top of the ones before (kinds
not listed read the same under every version)."""


@functools.cache
def _up_to(kind: str, steps: int) -> Rendering:
    chosen = RENDERINGS[kind][:steps]

    def reshape(body: Body, record: Stored) -> Body:
        for step in chosen:
            body = step.reshape(body, record)
        return body

    return Rendering(chosen[-1].since, reshape)


def rendering(kind: str, version: str) -> Rendering | None:
    """How a record of `kind` reads under `version`, when not as stored."""
    steps = sum(version_at_least(version, r.since) for r in RENDERINGS.get(kind, ()))
    return _up_to(kind, steps) if steps else None


def as_version(kind: str, body: Body, record: Stored, version: str) -> Body:
    """A public body (which this may change) of the stored `record` as `version` sends it."""
    later = rendering(kind, version)
    return body if later is None else later.reshape(body, record)
