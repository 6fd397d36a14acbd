"""Ticket states: `GET /ticket_states` (one unpaginated list), a full snapshot."""

from intercom_assets.api import IntercomClient, Page, iter_cursor_pages

from .shape import BOOL, Shape, field
from .sync import SnapshotStream

SHAPE = Shape(
    "ticket_states",
    (
        field("id", nullable=False),
        field("type"),
        field("category"),
        field("internal_label"),
        field("external_label"),
        field("archived", BOOL),
    ),
)


def fetch(client: IntercomClient) -> list[Page]:
    return list(iter_cursor_pages(client, "/ticket_states", per_page=None, items_key="data"))


STREAM = SnapshotStream("ticket_states", "Intercom ticket states, full snapshot", SHAPE, fetch)
