"""One warehouse fixture, parametrized over DuckDB (file) and PostgreSQL (schema)."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from intercom_assets.warehouse import JSON, Column, TableSpec, Warehouse, connect

CONTACTS = TableSpec(
    "contacts",
    (
        Column("id", pl.String, nullable=False),
        Column("email", pl.String),
        Column("session_count", pl.Int64),
        Column("lifetime_value", pl.Float64),
        Column("unsubscribed", pl.Boolean),
        Column("updated_at", pl.Datetime("us", "UTC")),
        Column("custom_attributes", JSON),
    ),
    primary_key=("id",),
)
CONTACT_TAGS = TableSpec(
    "contact_tags",
    (Column("contact_id", pl.String), Column("tag_id", pl.String)),
    primary_key=("contact_id", "tag_id"),
    parent_key="contact_id",
)
PARTS = TableSpec(
    "conversation_parts",
    (Column("id", pl.String), Column("conversation_id", pl.String), Column("body", pl.String)),
    primary_key=("id",),
    parent_key="conversation_id",
    raw=True,
)
SPECS = (CONTACTS, CONTACT_TAGS, PARTS)


@dataclass
class Target:
    """Where a test warehouse lives, so a subprocess can open the same one."""

    backend: str
    url: str
    schema: str

    def connect(self) -> Warehouse:
        return connect(self.url, schema=self.schema)


@pytest.fixture(params=["duckdb", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    if request.param == "duckdb":
        return Target("duckdb", f"duckdb:///{tmp_path / 'warehouse.duckdb'}", "intercom")
    url = request.getfixturevalue("postgres_url")
    return Target("postgres", url, request.getfixturevalue("postgres_schema"))


@pytest.fixture
def wh(target: Target) -> Iterator[Warehouse]:
    with target.connect() as warehouse:
        warehouse.migrate(SPECS)
        yield warehouse


def contacts_frame(rows: list[dict]) -> pl.DataFrame:
    """A contacts frame from row dicts (missing keys are null); `_raw` is derived per row."""
    import orjson

    columns = {c.name: [row.get(c.name) for row in rows] for c in CONTACTS.columns}
    columns["_raw"] = [orjson.dumps(row, default=str).decode() for row in rows]
    return pl.DataFrame(
        columns,
        schema={
            "id": pl.String,
            "email": pl.String,
            "session_count": pl.Int64,
            "lifetime_value": pl.Float64,
            "unsubscribed": pl.Boolean,
            "updated_at": pl.Datetime("us", "UTC"),
            "custom_attributes": pl.String,
            "_raw": pl.String,
        },
    )


def tags_frame(pairs: list[tuple[str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {"contact_id": [p[0] for p in pairs], "tag_id": [p[1] for p in pairs]},
        schema={"contact_id": pl.String, "tag_id": pl.String},
    )
