"""SQL text shared by both backends: quoting, column types and DDL."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from .spec import DELETED_AT, HASH, RAW, SYNCED_AT, TableSpec, type_key


def quote(identifier: str) -> str:
    """Quote an identifier (doubling embedded quotes). `%` and NUL are refused."""
    if not identifier or "%" in identifier or "\x00" in identifier:
        raise ValueError(f"identifier {identifier!r} must be non-empty and free of '%' and NUL")
    return '"' + identifier.replace('"', '""') + '"'


def quote_all(identifiers: Iterable[str]) -> str:
    """Comma-separated quoted identifiers."""
    return ", ".join(quote(name) for name in identifiers)


@dataclass(frozen=True)
class Dialect:
    """Type names of one database, keyed by `spec.type_key` (plus `raw` for `_raw`), as
    created and as reported by `information_schema.columns.data_type`.

    `also_accepted` lists other reported types a stored column may keep (a JSON column a user
    altered to `jsonb`); `covering_key` makes an entity table's primary key index carry `_hash`
    and `_deleted_at`, so reading the stored hashes of a batch is an index-only scan.
    `update_in_place`: changed rows are upserted (`INSERT ... ON CONFLICT DO UPDATE`);
    otherwise they are deleted and inserted again (DuckDB: an update rewrites every column
    of each row group it touched at the next checkpoint, a delete only marks the row).
    """

    types: dict[str, str]
    reported: dict[str, str]
    also_accepted: dict[str, tuple[str, ...]] = field(default_factory=dict)
    covering_key: bool = False
    update_in_place: bool = True
    lock_rows: str = ""
    """The clause that locks the rows a SELECT reads until the transaction ends."""
    views_bind_in_schema: bool = False
    """Names in a view's query are looked up in the view's own schema (DuckDB, which also
    refuses a catalog-qualified name there when the file's catalog and the schema share a
    name), so a view names its schema's tables unqualified; otherwise (PostgreSQL, which
    binds them by the search path) schema-qualified."""
    row_id: str | None = None
    """A column naming a row's place in its table within a transaction (DuckDB's `rowid`):
    the writer finds the stored rows it replaces by it (see `reads.stored_hashes`)."""

    def column_type(self, spec: TableSpec, column: str) -> str:
        """SQL type of a stored column (declared or meta)."""
        return self.types[stored_type_key(spec, column)]

    def accepts(self, key: str, found: str) -> bool:
        """Whether a stored column reported as `found` serves a column of type `key`."""
        allowed = (self.reported[key], *self.also_accepted.get(key, ()))
        return found.lower() in {name.lower() for name in allowed}


def stored_type_key(spec: TableSpec, column: str) -> str:
    """The type key of a declared or meta column."""
    meta = {RAW: "raw", HASH: "int64", SYNCED_AT: "timestamp", DELETED_AT: "timestamp"}
    if column in meta:
        return meta[column]
    return type_key(spec.column(column).dtype)


POSTGRES = Dialect(
    types={
        "string": "text",
        "int64": "bigint",
        "float64": "double precision",
        "boolean": "boolean",
        "timestamp": "timestamptz",
        "json": "json",
        "raw": "json",
    },
    reported={
        "string": "text",
        "int64": "bigint",
        "float64": "double precision",
        "boolean": "boolean",
        "timestamp": "timestamp with time zone",
        "json": "json",
        "raw": "json",
    },
    also_accepted={"json": ("jsonb",), "raw": ("jsonb",)},
    covering_key=True,
    lock_rows=" FOR UPDATE",
)

DUCKDB = Dialect(
    types={
        "string": "VARCHAR",
        "int64": "BIGINT",
        "float64": "DOUBLE",
        "boolean": "BOOLEAN",
        "timestamp": "TIMESTAMPTZ",
        "json": "JSON",
        "raw": "JSON",
    },
    reported={
        "string": "VARCHAR",
        "int64": "BIGINT",
        "float64": "DOUBLE",
        "boolean": "BOOLEAN",
        "timestamp": "TIMESTAMP WITH TIME ZONE",
        "json": "JSON",
        "raw": "JSON",
    },
    update_in_place=False,
    views_bind_in_schema=True,
    row_id="rowid",
)


def schema_name(schema: str, catalog: str | None = None) -> str:
    """Quoted schema name, qualified by the catalog when one is given."""
    return f"{quote(catalog)}.{quote(schema)}" if catalog else quote(schema)


def table_name(schema: str, table: str, catalog: str | None = None) -> str:
    """Schema-qualified (and catalog-qualified when given), quoted table name."""
    return f"{schema_name(schema, catalog)}.{quote(table)}"


def create_table(dialect: Dialect, schema: str, spec: TableSpec, catalog: str | None) -> str:
    """CREATE TABLE IF NOT EXISTS for a spec, with its primary key and meta columns."""
    lines = []
    for name in spec.stored_columns():
        not_null = " NOT NULL" if name in spec.primary_key or name == HASH else ""
        lines.append(f"{quote(name)} {dialect.column_type(spec, name)}{not_null}")
    include = ""
    if dialect.covering_key and spec.is_entity:
        include = f" INCLUDE ({quote_all((HASH, DELETED_AT))})"
    lines.append(f"PRIMARY KEY ({quote_all(spec.primary_key)}){include}")
    body = ",\n  ".join(lines)
    return f"CREATE TABLE IF NOT EXISTS {table_name(schema, spec.name, catalog)} (\n  {body}\n)"


def upsert_tail(spec: TableSpec, columns: Iterable[str]) -> str:
    """The `ON CONFLICT ... DO UPDATE SET ...` clause of an entity upsert of `columns`."""
    updates = ", ".join(
        f"{quote(name)} = EXCLUDED.{quote(name)}"
        for name in columns
        if name not in spec.primary_key
    )
    return f"ON CONFLICT ({quote_all(spec.primary_key)}) DO UPDATE SET {updates}"
