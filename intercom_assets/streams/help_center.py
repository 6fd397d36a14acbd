"""The help center: help centers, collections and articles, each a full snapshot.

Intercom lists collections and articles newest `updated_at` first in numbered pages; a
snapshot reads every page and writes only rows whose content changed (`updated_at` moves
with every edit), and soft-deletes what is no longer listed.
"""

from intercom_assets.api import IntercomClient, Page, iter_cursor_pages, iter_numbered_pages

from .shape import BOOL, INT, JSON, TIMESTAMP, Shape, field
from .sync import SnapshotStream

PER_PAGE = 150

HELP_CENTERS = Shape(
    "help_centers",
    (
        field("id", nullable=False),
        field("workspace_id"),
        field("identifier"),
        field("display_name"),
        field("website_turned_on", BOOL),
        field("url"),
        field("custom_domain"),
        field("created_at", TIMESTAMP),
        field("updated_at", TIMESTAMP),
    ),
)

COLLECTIONS = Shape(
    "help_center_collections",
    (
        field("id", nullable=False),
        field("workspace_id"),
        field("help_center_id"),
        field("parent_id"),
        field("name"),
        field("description"),
        field("url"),
        field("icon"),
        field("order", INT),
        field("default_locale"),
        field("translated_content", JSON),
        field("created_at", TIMESTAMP),
        field("updated_at", TIMESTAMP),
    ),
)

ARTICLES = Shape(
    "articles",
    (
        field("id", nullable=False),
        field("type"),
        field("workspace_id"),
        field("title"),
        field("description"),
        field("body"),
        field("author_id"),
        field("state"),
        field("url"),
        field("parent_id"),
        field("parent_ids", JSON),
        field("parent_type"),
        field("default_locale"),
        field("translated_content", JSON),
        field("created_at", TIMESTAMP),
        field("updated_at", TIMESTAMP),
    ),
)


def fetch_help_centers(client: IntercomClient) -> list[Page]:
    return list(
        iter_cursor_pages(client, "/help_center/help_centers", per_page=None, items_key="data")
    )


def fetch_collections(client: IntercomClient) -> list[Page]:
    return list(
        iter_numbered_pages(client, "/help_center/collections", per_page=PER_PAGE, items_key="data")
    )


def fetch_articles(client: IntercomClient) -> list[Page]:
    return list(iter_numbered_pages(client, "/articles", per_page=PER_PAGE, items_key="data"))


HELP_CENTERS_STREAM = SnapshotStream(
    "help_centers", "Intercom help centers, full snapshot", HELP_CENTERS, fetch_help_centers
)
COLLECTIONS_STREAM = SnapshotStream(
    "help_center_collections",
    "Intercom help center collections, full snapshot",
    COLLECTIONS,
    fetch_collections,
    deps=("help_centers",),
)
ARTICLES_STREAM = SnapshotStream(
    "articles",
    "Intercom help center articles, full snapshot",
    ARTICLES,
    fetch_articles,
    deps=("help_center_collections",),
)
