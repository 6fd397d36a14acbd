"""History (SCD type 2): every version of an entity table's rows, opt-in per table.

For an entity table `t` with history on, the view `t_history` shows one row per version of
each row of `t`: the declared columns, `_raw` (when `t` has it) and `_hash` as `t` held
them, plus

- `_valid_from`: when the version began (the `_synced_at` of the write, or the `_deleted_at`
  of the soft delete, that made it);
- `_valid_to`: when the next version replaced it; NULL for the current version;
- `_change`: what made it: `inserted`, `updated`, `deleted` (soft delete: the content is the
  last live content), `revived` (seen again after a soft delete), or `initial` (history was
  turned on for a table that already held the row).

Where the versions are stored: the current version of a row is the row of `t` itself (its
`_synced_at` or `_deleted_at` is the start, and a `_change` column, added to `t` when history
is turned on, says what made it); the versions it replaced are rows of the table
`t_history_closed`, each with its stored `_valid_to`. The view is the union of the two.
Every write, soft delete and revive first copies the current versions of the rows it is
about to change from `t` into `t_history_closed` (one `INSERT ... SELECT` inside the
database, `_valid_to` = the change's time), then changes `t`, in one transaction, so a crash
leaves no half version; unchanged rows cost nothing, and inserted rows nothing beyond their
`_change`. Why not one table holding every version: closing a version stored there is an
UPDATE of one random page of a large table per changed row, which made the daily write 30-40%
slower; copying rows the write reads anyway and appending them costs far less.

Turning history on for a table that already holds rows starts its history from them: its
rows get a NULL `_change`, which the view shows as `initial` (`deleted` when soft-deleted).

The rows live at a time T: `_valid_from <= T AND (_valid_to IS NULL OR _valid_to > T) AND
_change <> 'deleted'` (see `as_of_sql` and docs/warehouse.md).
"""

from typing import Final, Literal

from .spec import DELETED_AT, HASH, RAW, SYNCED_AT, TableSpec
from .sql import Dialect, quote, quote_all

SUFFIX: Final = "_history"
CLOSED_SUFFIX: Final = "_history_closed"
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


def history_view(table: str) -> str:
    """The name of a table's history view (every version)."""
    return table + SUFFIX


def closed_table(table: str) -> str:
    """The name of the table holding a table's replaced (closed) versions."""
    return table + CLOSED_SUFFIX


def wanted(tables: HistoryTables, spec: TableSpec) -> bool:
    """Whether `spec`'s table keeps history under the setting `tables` (entity tables only)."""
    return spec.is_entity and (tables == ALL or spec.name in tables)


def content_columns(spec: TableSpec) -> tuple[str, ...]:
    """The columns a version copies from its table: declared columns, `_raw`, `_hash`."""
    return (*spec.column_names, *([RAW] if spec.has_raw else []), HASH)


def history_column_type(dialect: Dialect, spec: TableSpec, column: str) -> str:
    """The SQL type of a column of `spec`'s closed-versions table (or `_change` of `t`)."""
    if column in (VALID_FROM, VALID_TO):
        return dialect.types["timestamp"]
    if column == CHANGE:
        return dialect.types["string"]
    return dialect.column_type(spec, column)


def create_closed(dialect: Dialect, spec: TableSpec, closed: str) -> str:
    """DDL of `spec`'s closed-versions table (quoted name `closed`). It has no index: every
    row is appended once and never updated."""
    not_null = {spec.key, HASH, *VERSION_COLUMNS}
    lines = [
        f"{quote(c)} {history_column_type(dialect, spec, c)}{' NOT NULL' if c in not_null else ''}"
        for c in (*content_columns(spec), *VERSION_COLUMNS)
    ]
    return f"CREATE TABLE IF NOT EXISTS {closed} (\n  " + ",\n  ".join(lines) + "\n)"


def _start(alias: str) -> str:
    gone = f"{alias}.{quote(DELETED_AT)}"
    return f"CASE WHEN {gone} IS NULL THEN {alias}.{quote(SYNCED_AT)} ELSE {gone} END"


def _kind(alias: str) -> str:
    gone = f"{alias}.{quote(DELETED_AT)}"
    return (
        f"CASE WHEN {gone} IS NULL THEN COALESCE({alias}.{quote(CHANGE)}, '{INITIAL}')"
        f" ELSE '{DELETED}' END"
    )


def create_view(dialect: Dialect, spec: TableSpec, view: str, closed: str, table: str) -> str:
    """The history view: the closed versions, then each row of `table` as its current one."""
    columns = content_columns(spec)
    ts = dialect.types["timestamp"]
    return (
        f"CREATE VIEW {view} AS"
        f" SELECT {quote_all((*columns, *VERSION_COLUMNS))} FROM {closed}"
        f" UNION ALL SELECT {', '.join(f't.{quote(c)}' for c in columns)},"
        f" {_start('t')} AS {quote(VALID_FROM)}, CAST(NULL AS {ts}) AS {quote(VALID_TO)},"
        f" {_kind('t')} AS {quote(CHANGE)} FROM {table} AS t"
    )


def close_sql(spec: TableSpec, closed: str, table: str, condition: str) -> str:
    """Copy the current versions of the rows of `table` that `condition` (on `t.<key>`)
    selects into the closed versions, ended at the one `%s` parameter before the condition's
    own; run it before the statement that changes them."""
    columns = content_columns(spec)
    return (
        f"INSERT INTO {closed} ({quote_all((*columns, *VERSION_COLUMNS))})"
        f" SELECT {', '.join(f't.{quote(c)}' for c in columns)}, {_start('t')}, %s,"
        f" {_kind('t')} FROM {table} AS t WHERE {condition}"
    )


def as_of_sql(history: str, columns: str = "*") -> str:
    """A query of the versions live at one time (two `%s` parameters: the time, twice)."""
    return (
        f"SELECT {columns} FROM {history} WHERE {quote(VALID_FROM)} <= %s"
        f" AND ({quote(VALID_TO)} IS NULL OR {quote(VALID_TO)} > %s)"
        f" AND {quote(CHANGE)} <> '{DELETED}'"
    )
