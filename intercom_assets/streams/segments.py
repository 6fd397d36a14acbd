"""Segments with their member counts: `GET /segments?include_count=true`, a full snapshot."""

from intercom_assets.api import IntercomClient, Page, iter_cursor_pages

from .shape import INT, TIMESTAMP, Shape, field
from .sync import SnapshotStream

SHAPE = Shape(
    "segments",
    (
        field("id", nullable=False),
        field("type"),
        field("name"),
        field("created_at", TIMESTAMP),
        field("updated_at", TIMESTAMP),
        field("person_type"),
        field("count", INT),
    ),
)


def fetch(client: IntercomClient) -> list[Page]:
    params = {"include_count": "true"}
    return list(
        iter_cursor_pages(client, "/segments", params=params, per_page=None, items_key="segments")
    )


STREAM = SnapshotStream("segments", "Intercom segments with counts, full snapshot", SHAPE, fetch)
