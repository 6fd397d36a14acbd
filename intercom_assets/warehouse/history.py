"""History tables (SCD type 2): every version of an entity table's rows, opt-in per table.

For an entity table `t` with history on, `t_history` holds one row per version of each row
of `t`: the declared columns, `_raw` (when `t` has it) and `_hash` as `t` held them, plus

- `_valid_from`: when the version began (the `_synced_at` of the write, or the `_deleted_at`
  of the soft delete, that made it);
- `_valid_to`: when the next version replaced it; NULL for the current version;
- `_change`: what made it: `inserted`, `updated`, `deleted` (soft delete: the content is the
  last live content), `revived` (seen again after a soft delete), or `initial` (history was
  turned on for a table that already held the row).

Every write, soft delete and revive of `t` closes the current versions of the rows it
changes and appends their new versions in the same transaction (so a crash leaves no half
version); unchanged rows cost nothing. A write appends the rows it writes to `t` (the same
frame, one more COPY); a soft delete or revive copies the rows it changed from `t` inside the
database (`INSERT ... SELECT`).

The migration that creates `t_history` for a table that already holds rows starts its history
from them: one `initial` version per live row (from its `_synced_at`) and one `deleted`
version per soft-deleted row (from its `_deleted_at`). On PostgreSQL a unique index on the
key of the current versions (`WHERE _valid_to IS NULL`) makes closing them an index probe
and forbids two current versions of one row.

The rows live at a time T: `_valid_from <= T AND (_valid_to IS NULL OR _valid_to > T) AND
_change <> 'deleted'` (see `as_of_sql` and docs/warehouse.md).
"""

from typing import Final, Literal

from .spec import DELETED_AT, HASH, RAW, SYNCED_AT, TableSpec
from .sql import Dialect, quote, quote_all

SUFFIX: Final = "_history"
VALID_FROM: Final = "_valid_from"
VALID_TO: Final = "_valid_to"
CHANGE: Final = "_change"
VERSION_COLUMNS: Final = (VALID_FROM, VALID_TO, CHANGE)
ALL: Final = "all"
"""History for every entity table."""

HistoryTables = frozenset[str] | Literal["all"]
"""Which tables keep history: a set of table names, or `ALL`."""

INSERTED, UPDATED, DELETED, REVIVED, INITIAL = (
    "inserted",
    "updated",
    "deleted",
    "revived",
    "initial",
)


def history_table(table: str) -> str:
    """The name of a table's history table."""
    return table + SUFFIX


def wanted(tables: HistoryTables, spec: TableSpec) -> bool:
    """Whether `spec`'s table keeps history under the setting `tables` (entity tables only)."""
    return spec.is_entity and (tables == ALL or spec.name in tables)


def content_columns(spec: TableSpec) -> tuple[str, ...]:
    """The columns a version copies from its table: declared columns, `_raw`, `_hash`."""
    return (*spec.column_names, *([RAW] if spec.has_raw else []), HASH)


def history_column_type(dialect: Dialect, spec: TableSpec, column: str) -> str:
    """The SQL type of a column of `spec`'s history table."""
    if column in (VALID_FROM, VALID_TO):
        return dialect.types["timestamp"]
    if column == CHANGE:
        return dialect.types["string"]
    return dialect.column_type(spec, column)


def create_statements(dialect: Dialect, spec: TableSpec, history: str) -> list[str]:
    """DDL of `spec`'s history table (quoted name `history`) and, on PostgreSQL, its index of
    current versions."""
    not_null = {spec.key, HASH, VALID_FROM, CHANGE}
    lines = [
        f"{quote(c)} {history_column_type(dialect, spec, c)}{' NOT NULL' if c in not_null else ''}"
        for c in (*content_columns(spec), *VERSION_COLUMNS)
    ]
    statements = [f"CREATE TABLE IF NOT EXISTS {history} (\n  " + ",\n  ".join(lines) + "\n)"]
    if dialect.covering_key:  # PostgreSQL: partial indexes
        index = quote(f"{spec.name}{SUFFIX}_current")
        statements.append(
            f"CREATE UNIQUE INDEX IF NOT EXISTS {index} ON {history} ({quote(spec.key)})"
            f" WHERE {quote(VALID_TO)} IS NULL"
        )
    return statements


def seed_statement(spec: TableSpec, history: str, table: str) -> str:
    """Start a history from the rows a loaded table holds (see module doc)."""
    columns = content_columns(spec)
    gone = quote(DELETED_AT)
    return (
        f"INSERT INTO {history} ({quote_all((*columns, *VERSION_COLUMNS))})"
        f" SELECT {quote_all(columns)},"
        f" CASE WHEN {gone} IS NULL THEN {quote(SYNCED_AT)} ELSE {gone} END, NULL,"
        f" CASE WHEN {gone} IS NULL THEN '{INITIAL}' ELSE '{DELETED}' END"
        f" FROM {table}"
    )


def close_sql(history: str, key: str, condition: str) -> str:
    """Close the current versions of the rows `condition` (on `h.<key>`) selects; one `%s`
    parameter (the time) before the condition's own."""
    return (
        f"UPDATE {history} AS h SET {quote(VALID_TO)} = %s"
        f" WHERE h.{quote(VALID_TO)} IS NULL AND {condition}"
    )


def copy_sql(spec: TableSpec, history: str, table: str, condition: str) -> str:
    """Append, as versions, the rows of `table` that `condition` (on `t.<key>`) selects; two
    `%s` parameters (the time and the change) before the condition's own."""
    columns = content_columns(spec)
    return (
        f"INSERT INTO {history} ({quote_all((*columns, *VERSION_COLUMNS))})"
        f" SELECT {', '.join(f't.{quote(c)}' for c in columns)}, %s, NULL, %s"
        f" FROM {table} AS t WHERE {condition}"
    )


def as_of_sql(history: str, columns: str = "*") -> str:
    """A query of the versions live at one time (two `%s` parameters: the time, twice)."""
    return (
        f"SELECT {columns} FROM {history} WHERE {quote(VALID_FROM)} <= %s"
        f" AND ({quote(VALID_TO)} IS NULL OR {quote(VALID_TO)} > %s)"
        f" AND {quote(CHANGE)} <> '{DELETED}'"
    )
