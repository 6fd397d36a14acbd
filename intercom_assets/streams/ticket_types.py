"""Ticket types with their attributes and states: `GET /ticket_types`, a full snapshot.

One request lists every type with its attributes embedded (`ticket_type_attributes.data`)
and the states it uses (`ticket_states.data`). Types are diffed and the vanished ones
soft-deleted; each listed type's attributes (`ticket_type_attributes`, a child table) are
replaced as a set; `ticket_type_states` links types to states.
"""

from typing import Any

import msgspec
import polars as pl

from intercom_assets.api import IntercomClient, Page, iter_cursor_pages
from intercom_assets.warehouse import TableSpec

from .base import Stream, StreamContext, StreamReport
from .shape import BOOL, INT, JSON, TIMESTAMP, Link, RawRecord, Shape, ids_at
from .shape import field as column
from .sync import Run, concat_ids

SHAPE = Shape(
    "ticket_types",
    (
        column("id", nullable=False),
        column("type"),
        column("category"),
        column("name"),
        column("description"),
        column("icon"),
        column("workspace_id"),
        column("archived", BOOL),
        column("is_internal", BOOL),
        column("created_at", TIMESTAMP),
        column("updated_at", TIMESTAMP),
    ),
    links=(
        Link(
            "ticket_type_states", "ticket_type_id", "ticket_state_id", ids_at("ticket_states.data")
        ),
    ),
)
ATTRIBUTE_FIELDS = (
    column("id", nullable=False),
    column("ticket_type_id", nullable=False),
    column("type"),
    column("workspace_id"),
    column("name"),
    column("description"),
    column("data_type"),
    column("input_options", JSON),
    column("order", INT),
    column("required_to_create", BOOL),
    column("required_to_create_for_contacts", BOOL),
    column("visible_on_create", BOOL),
    column("visible_to_contacts", BOOL),
    column("default", BOOL),
    column("archived", BOOL),
    column("created_at", TIMESTAMP),
    column("updated_at", TIMESTAMP),
)
ATTRIBUTES = TableSpec(
    "ticket_type_attributes",
    tuple(f.spec_column() for f in ATTRIBUTE_FIELDS),
    primary_key=("id",),
    parent_key="ticket_type_id",
    raw=True,
)
"""A child table of `ticket_types`: each listed type's attributes are replaced as a set."""
ATTRIBUTE_RECORDS = Shape(ATTRIBUTES.name, ATTRIBUTE_FIELDS)

_ATTRIBUTE_LIST = msgspec.defstruct("AttributeList", [("data", list[msgspec.Raw] | None, None)])
_ATTRIBUTE_LISTS = msgspec.json.Decoder(
    msgspec.defstruct(
        "TicketTypeAttributes",
        [("id", str | int), ("ticket_type_attributes", _ATTRIBUTE_LIST | None, None)],
    )
)


def fetch(client: IntercomClient) -> list[Page]:
    return list(iter_cursor_pages(client, "/ticket_types", per_page=None, items_key="data"))


def attributes_of(raws: list[RawRecord]) -> tuple[list[str], list[RawRecord]]:
    """The ids of these ticket types and their attribute records (raw, as sent)."""
    ids: list[str] = []
    attributes: list[RawRecord] = []
    for raw in raws:
        record: Any = _ATTRIBUTE_LISTS.decode(raw)
        ids.append(str(record.id))
        listed = record.ticket_type_attributes.data if record.ticket_type_attributes else None
        listed = listed or []
        attributes.extend(bytes(a) for a in listed)
    return ids, attributes


class TicketTypesStream(Stream):
    """Ticket types with their attributes, listed in full every run (see the module doc)."""

    def run(self, ctx: StreamContext) -> StreamReport:
        ctx.warehouse.migrate(self.tables)
        run = Run(ctx, self.name)
        seen: list[pl.Series] = []
        for batch in run.raw_batches(fetch(ctx.client)):
            frames, parents = SHAPE.frames(batch)
            ids, attributes = attributes_of(batch)
            frames = {**frames, ATTRIBUTES.name: ATTRIBUTE_RECORDS.read(attributes)}
            parents = {**parents, ATTRIBUTES.name: pl.Series("ticket_type_id", ids, pl.String)}
            run.write(frames, parents=parents)
            seen.append(frames[SHAPE.table].get_column(SHAPE.key))
        run.soft_delete_missing(SHAPE.table, concat_ids(seen, self.tables[0]))
        return run.finish()


STREAM = TicketTypesStream(
    name="ticket_types",
    description="Intercom ticket types with attributes and states, full snapshot",
    tables=(*SHAPE.specs(), ATTRIBUTES),
    deps=("ticket_states",),
    references={
        "ticket_type_states": {
            "ticket_type_id": "ticket_types",
            "ticket_state_id": "ticket_states",
        },
        "ticket_type_attributes": {"ticket_type_id": "ticket_types"},
    },
)
