"""Ticket parts: `GET /tickets/{id}` for every ticket whose `updated_at` moved since its parts
were last loaded; its parts are replaced as a set (as `conversation_parts` does).

`ticket_part_loads` remembers, per ticket, the `updated_at` loaded, the parts returned and
Intercom's `total_count`. Not window-bound: it follows the `tickets` table.
"""

from typing import Any

from .children import ChildStream, ChildTable, get_or_gone, listed_parts, moved_since_loaded
from .shape import BOOL, INT, JSON, TIMESTAMP, Shape, encode, field
from .sync import Run
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
    field("assigned_to_type", path="assigned_to.type"),
    field("assigned_to_id", path="assigned_to.id"),
    field("author_type", path="author.type"),
    field("author_id", path="author.id"),
    field("author_name", path="author.name"),
    field("author_email", path="author.email"),
    field("attachments", JSON),
    field("external_id"),
    field("redacted", BOOL),
    field("app_package_code"),
    field("updated_attribute_data", JSON),
)
PART_TABLE = ChildTable.of("ticket_parts", "ticket_id", PART_FIELDS)
"""A child table of `tickets`: each ticket's parts are replaced as a set."""
PARTS = PART_TABLE.spec

LOADS = Shape(
    "ticket_part_loads",
    (
        field("id", nullable=False),
        field("ticket_updated_at", TIMESTAMP),
        field("parts_returned", INT),
        field("total_count", INT),
        field("truncated", BOOL),
    ),
)
"""One row per ticket whose parts are loaded (`id` is the ticket id)."""


def write_parts(run: Run, tickets: list[dict[str, Any]]) -> None:
    """Replace the parts of these tickets and record their loads, in one transaction."""
    owned: list[tuple[str, list[dict[str, Any]]]] = []
    loads: list[dict[str, Any]] = []
    for ticket in tickets:
        ticket_id = str(ticket["id"])
        own, total = listed_parts(ticket, "ticket_parts")
        owned.append((ticket_id, own))
        loads.append(
            {
                "id": ticket_id,
                "ticket_updated_at": ticket.get("updated_at"),
                "parts_returned": len(own),
                "total_count": total,
                "truncated": total > len(own),
            }
        )
        run.report.fetched += len(own)
    part_frames, parents = PART_TABLE.frames(owned)
    load_frames, _ = LOADS.frames(encode(loads))
    run.write({**part_frames, **load_frames}, parents=parents)


STREAM = ChildStream[str, dict[str, Any]](
    name="ticket_parts",
    description="Parts of every ticket whose updated_at moved",
    parents="tickets",
    tables=(PARTS, *LOADS.specs()),
    reads=TICKETS.specs()[:1],
    todo=lambda run: moved_since_loaded(run, "tickets", "ticket_part_loads", "ticket_updated_at"),
    fetch=lambda client, ticket_id: get_or_gone(client, f"/tickets/{ticket_id}"),
    write=write_parts,
    rows=lambda ticket: 1 + len(listed_parts(ticket, "ticket_parts")[0]),
    deps=("tickets",),
)
