"""The snapshot resources: each one row of `SNAPSHOTS` (see `snapshot.SnapshotStream`),
with the shape of its tables above it.

- tags, segments (with member counts), admins (teammates; the avatar object's URL is
  `avatar_image_url`), teams (and `team_admins`), ticket states, subscription types (they
  carry no timestamps): one listing each.
- data attributes of contacts, companies and conversations, archived ones included: one
  listing per model. Standard attributes have no Intercom id and `name` repeats within a
  model, so the key is `<model>:<full_name>` (`contact:location.city`); `attribute_id`
  keeps Intercom's id of custom attributes.
- the help center: help centers, collections and articles. Intercom lists collections and
  articles newest `updated_at` first in numbered pages; a snapshot reads every page.
"""

import polars as pl

from .shape import (
    BOOL,
    INT,
    JSON,
    STRING,
    TIMESTAMP,
    Link,
    Shape,
    derived,
    field,
    ids_at,
    values_at,
)
from .snapshot import Listing, SnapshotStream, snapshot

HELP_CENTER_PAGE = 150
MODELS = ("contact", "company", "conversation")


def attribute_key() -> pl.Expr:
    """`<model>:<full_name>` (`name` when there is no full name): unique per workspace,
    present on standard attributes too."""
    full_name = pl.col("full_name")
    name = (
        pl.when(full_name.is_null() | (full_name == "")).then(pl.col("name")).otherwise(full_name)
    )
    return pl.format("{}:{}", pl.col("model"), name)


TAGS = Shape("tags", (field("id", nullable=False), field("type"), field("name")))

SEGMENTS = Shape(
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

ADMINS = Shape(
    "admins",
    (
        field("id", nullable=False),
        field("type"),
        field("name"),
        field("email"),
        field("job_title"),
        field("away_mode_enabled", BOOL),
        field("away_mode_reassign", BOOL),
        field("away_status_reason_id"),
        field("has_inbox_seat", BOOL),
        field("team_ids", JSON),
        field("avatar_image_url", path="avatar.image_url"),
        field("team_priority_level", JSON),
        field("role_id", path="role.id"),  # 2.16, when the admin has a role
        field("role_name", path="role.name"),
    ),
)

TEAMS = Shape(
    "teams",
    (
        field("id", nullable=False),
        field("type"),
        field("name"),
        field("admin_ids", JSON),
        field("admin_priority_level", JSON),
        field("assignment_limit", INT),
        field("distribution_method"),
    ),
    links=(Link("team_admins", "team_id", "admin_id", values_at("admin_ids")),),
)

DATA_ATTRIBUTES = Shape(
    "data_attributes",
    (
        derived("id", STRING, attribute_key, nullable=False),
        field("attribute_id", INT, "id"),
        field("type"),
        field("model"),
        field("name"),
        field("full_name"),
        field("label"),
        field("description"),
        field("data_type"),
        field("options", JSON),
        field("api_writable", BOOL),
        field("messenger_writable", BOOL),
        field("ui_writable", BOOL),
        field("custom", BOOL),
        field("archived", BOOL),
        field("created_at", TIMESTAMP),
        field("updated_at", TIMESTAMP),
        field("admin_id"),
    ),
)

TICKET_STATES = Shape(
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

SUBSCRIPTION_TYPES = Shape(
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

NEWSFEEDS = Shape(
    "newsfeeds",
    (
        field("id", nullable=False),
        field("type"),
        field("name"),
        field("created_at", TIMESTAMP),
        field("updated_at", TIMESTAMP),
    ),
)

NEWS_ITEMS = Shape(
    "news_items",
    (
        field("id", nullable=False),
        field("type"),
        field("workspace_id"),
        field("title"),
        field("body"),
        field("sender_id"),
        field("state"),
        field("newsfeed_assignments", JSON),
        field("labels", JSON),
        field("cover_image_url"),
        field("reactions", JSON),
        field("deliver_silently", BOOL),
        field("created_at", TIMESTAMP),
        field("updated_at", TIMESTAMP),
    ),
    links=(
        Link(
            "news_item_newsfeeds",
            "news_item_id",
            "newsfeed_id",
            ids_at("newsfeed_assignments", "newsfeed_id"),
        ),
    ),
)


SNAPSHOTS: tuple[SnapshotStream, ...] = (
    snapshot(TAGS, "Intercom tags, full snapshot", Listing("/tags")),
    snapshot(
        SEGMENTS,
        "Intercom segments with counts, full snapshot",
        Listing("/segments", "segments", {"include_count": "true"}),
    ),
    snapshot(
        ADMINS,
        "Intercom admins (teammates), full snapshot",
        Listing("/admins", "admins", {"display_avatar": "true"}),
    ),
    snapshot(
        TEAMS,
        "Intercom teams and their admins, full snapshot",
        Listing("/teams", "teams"),
        references={"team_admins": {"team_id": "teams", "admin_id": "admins"}},
    ),
    snapshot(
        DATA_ATTRIBUTES,
        "Intercom data attributes (contact, company, conversation; archived too), full snapshot",
        Listing(
            "/data_attributes",
            params={"include_archived": "true"},
            each=tuple({"model": model} for model in MODELS),
        ),
    ),
    snapshot(TICKET_STATES, "Intercom ticket states, full snapshot", Listing("/ticket_states")),
    snapshot(
        SUBSCRIPTION_TYPES,
        "Intercom subscription types, full snapshot",
        Listing("/subscription_types"),
    ),
    snapshot(
        HELP_CENTERS, "Intercom help centers, full snapshot", Listing("/help_center/help_centers")
    ),
    snapshot(
        COLLECTIONS,
        "Intercom help center collections, full snapshot",
        Listing("/help_center/collections", paging="numbered", per_page=HELP_CENTER_PAGE),
        deps=("help_centers",),
    ),
    snapshot(
        ARTICLES,
        "Intercom help center articles, full snapshot",
        Listing("/articles", paging="numbered", per_page=HELP_CENTER_PAGE),
        deps=("help_center_collections",),
    ),
    snapshot(NEWSFEEDS, "Intercom newsfeeds, full snapshot", Listing("/news/newsfeeds")),
    snapshot(
        NEWS_ITEMS,
        "Intercom news items and the newsfeeds they are published in, full snapshot",
        Listing("/news/news_items"),
        references={
            "news_item_newsfeeds": {"news_item_id": "news_items", "newsfeed_id": "newsfeeds"}
        },
    ),
)
"""Every snapshot resource (`STREAMS` puts them in load order)."""
