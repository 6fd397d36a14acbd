"""Ticket parts: `GET /tickets/{id}` for every ticket whose `updated_at` moved since its parts
were last loaded; its parts are replaced as a set (as `conversation_parts` does).

`ticket_part_loads` remembers, per ticket, the `updated_at` loaded, the parts returned and
Intercom's `total_count`. Not window-bound: it follows the `tickets` table.
"""

from typing import Any

import polars as pl

from intercom_assets.api import IntercomClient, IntercomNotFound
from intercom_assets.warehouse import TableSpec

from .children import ChildStream
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
PARTS = TableSpec(
    "ticket_parts",
    tuple(f.spec_column() for f in PART_FIELDS),
    primary_key=("id",),
    parent_key="ticket_id",
    raw=True,
)
"""A child table of `tickets`: each ticket's parts are replaced as a set."""

PART_RECORDS = Shape(PARTS.name, tuple(f for f in PART_FIELDS if f.column != "ticket_id"))
"""How a part record reads (its ticket's id is not in the record: added per part)."""

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


def stale_tickets(run: Run) -> list[str]:
    """Live tickets whose `updated_at` differs from the one their parts were loaded at."""
    tickets = run.warehouse.read_columns("tickets", ["id", "updated_at"])
    loads = run.warehouse.read_columns("ticket_part_loads", ["id", "ticket_updated_at"])
    stale = tickets.join(loads, on="id", how="left").filter(
        pl.col("ticket_updated_at").is_null()
        | (pl.col("ticket_updated_at") != pl.col("updated_at"))
    )
    return stale.sort("id").get_column("id").to_list()


def get_ticket(client: IntercomClient, ticket_id: str) -> dict[str, Any] | None:
    """The ticket with its parts; None when it is gone (404)."""
    try:
        return client.get(f"/tickets/{ticket_id}")
    except IntercomNotFound:
        return None


def parts_of(ticket: dict[str, Any]) -> list[dict[str, Any]]:
    listed = ticket.get("ticket_parts")
    parts = listed.get("ticket_parts") if isinstance(listed, dict) else None
    return parts if isinstance(parts, list) else []


def write_parts(run: Run, tickets: list[dict[str, Any]]) -> None:
    """Replace the parts of these tickets and record their loads, in one transaction."""
    parts: list[dict[str, Any]] = []
    owners: list[str] = []
    loads: list[dict[str, Any]] = []
    for ticket in tickets:
        ticket_id = str(ticket["id"])
        own = parts_of(ticket)
        listed = ticket.get("ticket_parts") or {}
        total = listed.get("total_count") if isinstance(listed, dict) else None
        total = total if isinstance(total, int) else len(own)
        parts.extend(own)
        owners.extend([ticket_id] * len(own))
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
    parts_frame = PART_RECORDS.read(encode(parts))
    parts_frame = parts_frame.with_columns(pl.Series("ticket_id", owners, dtype=pl.String)).select(
        *PARTS.column_names, "_raw"
    )
    load_frames, _ = LOADS.frames(encode(loads))
    ids = [load["id"] for load in loads]
    run.write(
        {PARTS.name: parts_frame, **load_frames},
        parents={PARTS.name: pl.Series("ticket_id", ids, dtype=pl.String)},
    )


STREAM = ChildStream[str, dict[str, Any]](
    name="ticket_parts",
    description="Parts of every ticket whose updated_at moved",
    parents="tickets",
    tables=(PARTS, *LOADS.specs()),
    reads=TICKETS.specs()[:1],
    todo=stale_tickets,
    fetch=get_ticket,
    write=write_parts,
    rows=lambda ticket: 1 + len(parts_of(ticket)),
    deps=("tickets",),
)
