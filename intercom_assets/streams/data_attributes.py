"""Data attributes of contacts, companies and conversations, archived ones included.

`GET /data_attributes?model=<m>&include_archived=true` for each model, a full snapshot.
Standard attributes have no Intercom id and `name` repeats within a model (`name` and
`plan.name` for companies), so the key is `<model>:<full_name>` (e.g.
`contact:location.city`, `company:custom_attributes.crm.id`); `attribute_id` keeps
Intercom's id of custom attributes.
"""

from collections.abc import Iterator

import polars as pl

from intercom_assets.api import IntercomClient, Page, iter_cursor_pages

from .shape import BOOL, INT, JSON, STRING, TIMESTAMP, Shape, derived, field
from .sync import SnapshotStream

MODELS = ("contact", "company", "conversation")


def attribute_key() -> pl.Expr:
    """`<model>:<full_name>` (`name` when there is no full name): unique per workspace,
    present on standard attributes too."""
    full_name = pl.col("full_name")
    name = (
        pl.when(full_name.is_null() | (full_name == "")).then(pl.col("name")).otherwise(full_name)
    )
    return pl.format("{}:{}", pl.col("model"), name)


SHAPE = Shape(
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


def fetch(client: IntercomClient) -> Iterator[Page]:
    for model in MODELS:
        params = {"model": model, "include_archived": "true"}
        yield from iter_cursor_pages(
            client, "/data_attributes", params=params, per_page=None, items_key="data"
        )


STREAM = SnapshotStream(
    "data_attributes",
    "Intercom data attributes (contact, company, conversation; archived too), full snapshot",
    SHAPE,
    fetch,
)
