"""Tags: `GET /tags`, a full snapshot; deleted tags are soft-deleted."""

from intercom_assets.api import IntercomClient, Page, iter_cursor_pages

from .shape import Shape, field
from .sync import SnapshotStream

SHAPE = Shape("tags", (field("id", nullable=False), field("type"), field("name")))


def fetch(client: IntercomClient) -> list[Page]:
    return list(iter_cursor_pages(client, "/tags", per_page=None, items_key="data"))


STREAM = SnapshotStream("tags", "Intercom tags, full snapshot", SHAPE, fetch)
