"""Subscription types: `GET /subscription_types`, a full snapshot (they carry no timestamps)."""

from intercom_assets.api import IntercomClient, Page, iter_cursor_pages

from .shape import JSON, Shape, field
from .sync import SnapshotStream

SHAPE = Shape(
    "subscription_types",
    (
        field("id", nullable=False),
        field("type"),
        field("state"),
        field("name", path="default_translation.name"),
        field("description", path="default_translation.description"),
        field("locale", path="default_translation.locale"),
        field("consent_type"),
        field("content_types", JSON),
        field("translations", JSON),
    ),
)


def fetch(client: IntercomClient) -> list[Page]:
    return list(iter_cursor_pages(client, "/subscription_types", per_page=None, items_key="data"))


STREAM = SnapshotStream(
    "subscription_types", "Intercom subscription types, full snapshot", SHAPE, fetch
)
