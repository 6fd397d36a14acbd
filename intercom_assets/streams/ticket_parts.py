"""Ticket parts: `GET /tickets/{id}` for every ticket whose `updated_at` moved since its parts
were last loaded; its parts are replaced as a set within the returned window (the 500 newest),
as `conversation_parts` does (see `parts`).

`ticket_part_loads` remembers, per ticket, the `updated_at` loaded, the parts returned,
Intercom's `total_count`, `truncated` and `parts_beyond_window`. Not window-bound: it follows
the `tickets` table.
"""

from typing import Any

from .base import PartCap
from .children import ChildStream, ChildTable, get_or_gone, listed_parts, moved_since_loaded
from .parts import CappedParts, load_fields
from .shape import AUTHOR, BOOL, JSON, TIMESTAMP, Shape, field, flattened
from .tickets import SHAPE as TICKETS

PART_FIELDS = (
    field("id", nullable=False),
    field("ticket_id", nullable=False),
    field("type"),
    field("part_type"),
    field("body"),
    field("previous_ticket_state"),
    field("ticket_state"),
    field("created_at", TIMESTAMP),
    field("updated_at", TIMESTAMP),
    *flattened("assigned_to", "type", "id"),
    *AUTHOR,
    field("attachments", JSON),
    field("external_id"),
    field("redacted", BOOL),
    field("app_package_code"),
    field("updated_attribute_data", JSON),
)
PART_TABLE = ChildTable.of("ticket_parts", "ticket_id", PART_FIELDS)
"""A child table of `tickets`: each ticket's parts are replaced as a set (within the returned
window)."""
PARTS = PART_TABLE.spec

LOADS = Shape("ticket_part_loads", load_fields("ticket_updated_at"))
"""One row per ticket whose parts are loaded (`id` is the ticket id)."""

WRITE = CappedParts("ticket_parts", PART_TABLE, LOADS, "ticket_updated_at")


STREAM = ChildStream[str, dict[str, Any]](
    name="ticket_parts",
    description="Parts of every ticket whose updated_at moved (500 newest each, older kept)",
    parents="tickets",
    tables=(PARTS, *LOADS.specs()),
    reads=TICKETS.specs()[:1],
    todo=lambda run: moved_since_loaded(run, "tickets", "ticket_part_loads", "ticket_updated_at"),
    fetch=lambda client, ticket_id: get_or_gone(client, f"/tickets/{ticket_id}"),
    write=WRITE.write,
    rows=lambda ticket: 1 + len(listed_parts(ticket, "ticket_parts")[0]),
    deps=("tickets",),
    references={"ticket_parts": {"ticket_id": "tickets"}},
    checks=(PartCap("ticket_parts", "ticket_part_loads", "tickets"),),
)
