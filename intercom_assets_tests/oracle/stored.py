"""What the warehouse holds, read with plain SQL (no table specs): columns and rows.

Only `warehouse.query(sql, params)` and `warehouse.schema` are used, so any object with
those (or a thin wrapper over a duckdb / psycopg connection) can be checked.
"""

from dataclasses import dataclass
from typing import Any, Protocol

import polars as pl


class Queryable(Protocol):
    schema: str

    def query(self, sql: str, params: Any = ()) -> pl.DataFrame: ...


@dataclass(frozen=True)
class StoredTable:
    """A table as stored: its columns with their SQL types (lower case), and every row."""

    name: str
    types: dict[str, str]
    rows: list[dict[str, Any]]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def column_types(warehouse: Queryable, table: str) -> dict[str, str]:
    """`{column: sql type}` in storage order; empty when the table does not exist."""
    frame = warehouse.query(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_catalog = current_database() AND table_schema = %s AND table_name = %s"
        " ORDER BY ordinal_position",
        (warehouse.schema, table),
    )
    return {name: str(kind).lower() for name, kind in frame.iter_rows()}


def read_table(warehouse: Queryable, table: str) -> StoredTable | None:
    """Every row of `table`, JSON columns as their text; None when the table is absent."""
    types = column_types(warehouse, table)
    if not types:
        return None
    select = ", ".join(
        f"CAST({_quote(c)} AS TEXT) AS {_quote(c)}" if t in ("json", "jsonb") else _quote(c)
        for c, t in types.items()
    )
    (database,) = warehouse.query("SELECT current_database()").row(0)
    # Qualified by the database too: a DuckDB file named like its schema is ambiguous.
    name = ".".join(map(_quote, (database, warehouse.schema, table)))
    frame = warehouse.query(f"SELECT {select} FROM {name}")
    return StoredTable(table, types, frame.to_dicts())
