"""The layout version: `migrate` records it in a new schema, loads a schema of this layout,
and refuses one written by another layout (or holding tables but no version), changing
nothing."""

from typing import Any

import polars as pl
import pytest

from intercom_assets.warehouse import (
    Column,
    LayoutVersionError,
    StateUpdate,
    TableSpec,
    Warehouse,
)
from intercom_assets.warehouse.layout import LAYOUT_VERSION
from intercom_assets.warehouse.sql import quote, schema_name, table_name

from .conftest import CONTACTS, SPECS, Target, contacts_frame

NOTES = TableSpec(
    "notes", (Column("id", pl.String, nullable=False), Column("body", pl.String)), ("id",)
)
"""A table the refused migrations would create."""
CONTACTS_WIDER = TableSpec(
    "contacts", (*CONTACTS.columns, Column("phone", pl.String)), CONTACTS.primary_key
)
"""The contacts spec with a column the refused migrations would add."""


def layout_rows(wh: Warehouse) -> list[tuple[Any, ...]]:
    """The rows of the schema's `_layout` table (version, created_at)."""
    layout = table_name(wh.schema, "_layout", wh.backend.catalog)
    return list(wh.query(f'SELECT "version", "created_at" FROM {layout}').iter_rows())


def snapshot(wh: Warehouse) -> dict[str, Any]:
    """Every column of every table of the schema, and the rows of each table (as text)."""
    columns = wh.query(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_catalog = current_database() AND table_schema = %s"
        " ORDER BY table_name, column_name",
        (wh.schema,),
    )
    names: dict[str, list[str]] = {}
    for table, column, _ in columns.iter_rows():
        names.setdefault(table, []).append(column)
    rows = {}
    for table, listed in names.items():
        select = ", ".join(f"CAST({quote(c)} AS TEXT)" for c in listed)
        found = wh.query(f"SELECT {select} FROM {table_name(wh.schema, table, wh.backend.catalog)}")
        rows[table] = sorted(found.rows(), key=repr)
    return {"columns": columns.rows(), "rows": rows}


def load(target: Target) -> None:
    """A warehouse of this layout with rows and state."""
    with target.connect() as wh:
        wh.migrate(SPECS)
        frame = contacts_frame([{"id": "a", "email": "a@example.com"}, {"id": "b"}])
        wh.write({"contacts": frame}, state=StateUpdate("contacts", {"cursor": 1}))


def set_layout(target: Target, statement: str) -> None:
    """Run `statement` with `{layout}` standing for the schema's quoted layout table."""
    with target.connect() as wh:
        layout = table_name(wh.schema, "_layout", wh.backend.catalog)
        with wh.backend.session() as s:
            s.execute(statement.format(layout=layout))


def test_a_new_schema_records_the_layout_version(target: Target) -> None:
    with target.connect() as wh:
        wh.migrate(SPECS)
        rows = layout_rows(wh)
        assert [version for version, _ in rows] == [LAYOUT_VERSION]
        assert rows[0][1] is not None
        # later migrations (another process, more tables) keep the one row
    with target.connect() as wh:
        wh.migrate([*SPECS, NOTES])
        assert layout_rows(wh) == rows


def test_a_schema_of_this_layout_loads(target: Target) -> None:
    load(target)
    with target.connect() as wh:
        wh.migrate([CONTACTS_WIDER, NOTES])
        assert wh.read_state("contacts") == {"cursor": 1}
        frame = contacts_frame([{"id": "c"}]).with_columns(phone=pl.lit("1"))
        assert wh.write({"contacts": frame}).tables["contacts"].inserted == 1
        assert wh.count_live("contacts") == 3
        assert "phone" in wh.table("contacts").columns


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ('UPDATE {layout} SET "version" = "version" - 1', "older layout (version"),
        ('UPDATE {layout} SET "version" = "version" + 1', "newer layout (version"),
        ("DELETE FROM {layout}", "no layout version: this warehouse was written by an older"),
        ("DROP TABLE {layout}", "no layout version: this warehouse was written by an older"),
    ],
    ids=["older", "newer", "no_row", "no_table"],
)
def test_a_schema_of_another_layout_is_refused_and_left_untouched(
    target: Target, change: str, words: str
) -> None:
    load(target)
    set_layout(target, change)
    with target.connect() as wh:
        before = snapshot(wh)
        with pytest.raises(LayoutVersionError) as refused:
            wh.migrate([CONTACTS_WIDER, NOTES])
        message = str(refused.value)
        assert "\n" not in message
        assert repr(target.schema) in message and words in message
        assert message.endswith("reload into a new schema")
        assert snapshot(wh) == before
        with pytest.raises(LayoutVersionError):  # refused again, not remembered as migrated
            wh.migrate([CONTACTS])
    with target.connect() as wh:
        assert snapshot(wh) == before


def test_a_schema_holding_only_other_tables_gets_the_layout(target: Target) -> None:
    """Tables that are not the warehouse's do not make a schema one of another layout."""
    with target.connect() as wh:
        catalog = wh.backend.catalog
        with wh.backend.session() as s:
            s.execute(f"CREATE SCHEMA {schema_name(wh.schema, catalog)}")
            s.execute(f"CREATE TABLE {table_name(wh.schema, 'other', catalog)} (x INT)")
        wh.migrate(SPECS)
        assert [version for version, _ in layout_rows(wh)] == [LAYOUT_VERSION]
        assert wh.query(f"SELECT * FROM {table_name(wh.schema, 'other', catalog)}").height == 0
