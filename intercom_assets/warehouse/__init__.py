"""The warehouse: makes declared SQL tables match polars frames, writing only what changed.

It knows nothing of Intercom or Dagster. PostgreSQL (production) and DuckDB (embedded
default) implement the same behaviour.

Declare tables::

    from intercom_assets.warehouse import JSON, Column, StateUpdate, TableSpec, connect

    contacts = TableSpec(
        "contacts",
        (Column("id", pl.String, nullable=False), Column("email", pl.String),
         Column("created_at", pl.Datetime("us", "UTC")), Column("custom_attributes", JSON)),
        primary_key=("id",),
    )                                   # entity table: gets _raw, _hash, _synced_at, _deleted_at
    contact_tags = TableSpec(
        "contact_tags", (Column("contact_id", pl.String), Column("tag_id", pl.String)),
        primary_key=("contact_id", "tag_id"), parent_key="contact_id",
    )                                   # link/child table: its rows are replaced per parent

A `Warehouse` (from `connect`) is a small facade over three parts, each its own module:

- `schema` (`wh.tables`): `register(specs)` records specs in memory (no SQL);
  `migrate(specs)` creates the schema, the state table and missing tables, adds the
  columns a spec gained and refuses type changes (`SchemaMismatchError`), under a
  per-schema migration lock, so concurrent migrations are safe. Run it once per asset run.
  It records the layout version in `_layout` and refuses a schema written by another
  layout (`LayoutVersionError`, see `layout`): such a warehouse is reloaded into a new
  schema, never converted.
- `writer` (`wh.writer`): `write` / `submit` (pipelined on one writer thread) / `wait`,
  and `soft_delete_missing`.
- `reads` (`wh.reads`): `read_state`, `stored_hashes`, `live_ids`, `read_columns`,
  `table`, `totals`, `count_live`, the check queries `duplicate_keys`, `null_keys`,
  `orphans`, and `query` for anything else. Reads run no DDL and need only registered
  specs; a table not created yet reads as empty (zero counts, no rows).

Write batches::

    with connect("duckdb:///path/file.duckdb", schema="intercom") as wh:  # or postgresql://...
        wh.migrate([contacts, contact_tags])           # once per run: DDL, under a lock
        result = wh.write(
            {"contacts": contacts_frame, "contact_tags": tags_frame},
            parents={"contact_tags": contact_ids},     # parents covered by this batch
            state=StateUpdate("contacts", {"cursor": 123}),  # same transaction
        )
        result.tables["contacts"].inserted  # .updated .unchanged .revived .duplicates
        wh.soft_delete_missing("contacts", seen_ids, state=StateUpdate("contacts", {...}))
        wh.read_state("contacts")            # {"cursor": 123}

    with connect(url) as wh:                 # a reader (an asset check): no DDL
        wh.register([contacts])
        wh.count_live("contacts")

- An entity frame carries the declared columns plus `_raw` (the whole source record as
  compact JSON text). The warehouse casts and checks it (missing or undeclared column,
  uncastable value, null key: WarehouseInputError before anything is written), keeps the
  last row of a duplicated id, computes `_hash` (see `hashing`), reads the stored hashes of
  the batch's ids, and upserts only new, changed and revived rows (`_synced_at` = write
  time, `_deleted_at` cleared). Unchanged rows are not touched.
- A link/child frame holds the new rows of the parents it covers: the parents named in
  `parents` plus those in the frame. A covered parent without rows now has no children.
  Only parents whose stored set differs are rewritten (delete + insert).
- `soft_delete_missing` sets `_deleted_at` on live rows whose id a complete snapshot did
  not contain; a row seen again later is revived.
- State (`state`): per stream, string keys mapped to JSON values, in one table `_state`.
  A `StateUpdate(stream, {key: value, ...})` sets the keys it names (others keep theirs)
  in the transaction of its batch; many keys cost one staged insert. `read_state(stream,
  keys=None)` returns `{key: value}`.
- Every `write` / `soft_delete_missing` is one transaction including the state; a crash
  leaves the last committed batch.
- Rejected records (`rejections=Rejections(stream, rejected=[Rejected(id, field, error,
  raw)], resolved=[ids])`, see `rejected`): source records the caller kept out of a batch
  because they do not fit, recorded in `_rejected` in the batch's transaction (`first_seen`,
  `last_seen`), and resolved (`resolved_at`) when the caller names them as written since.
  `wh.rejected(stream)` lists the unresolved ones.

History (opt-in, entity tables only): `connect(url, history=frozenset({"contacts"}))` or
`history=ALL` keeps every version: the view `<table>_history`, one row per version with
`_valid_from`, `_valid_to` and `_change`, over the table itself (the current versions) and
`<table>_history_closed` (the replaced ones, appended in the transaction of every write, soft
delete and revive); a table already loaded starts its history from its current rows (see
`history`).
`wh.as_of("contacts", at)` returns the versions live at `at`; `wh.history("contacts")` all.

DuckDB connections are opened for a call, kept open for a short idle window (so back-to-back
calls share one), closed without a checkpoint, and retried while another process holds the
file; `close()` checkpoints, so the `.duckdb` file alone then holds the data. PostgreSQL
keeps one connection until `close()`.
"""

from pathlib import Path

from .errors import (
    LayoutVersionError,
    SchemaMismatchError,
    WarehouseError,
    WarehouseInputError,
    WarehouseLockedError,
)
from .hashing import with_row_hash
from .history import ALL, HistoryTables
from .rejected import REJECTED_TABLE, Rejected, Rejections
from .results import TableCounts, TableTotals, WriteResult
from .spec import JSON, Column, TableSpec
from .state import StateUpdate
from .warehouse import Warehouse

DUCKDB_PREFIX = "duckdb:///"
POSTGRES_PREFIXES = ("postgresql://", "postgres://")


def duckdb_path(url: str | Path) -> Path:
    """The file of a DuckDB URL, as SQLAlchemy reads it: `duckdb:///intercom.duckdb` is
    `intercom.duckdb` in the working directory, `duckdb:////srv/intercom.duckdb` is
    `/srv/intercom.duckdb`; a plain path is itself."""
    text = str(url)
    return Path(text.removeprefix(DUCKDB_PREFIX) if text.startswith(DUCKDB_PREFIX) else text)


def connect(
    url: str | Path, schema: str = "intercom", history: HistoryTables = frozenset()
) -> Warehouse:
    """A warehouse for `postgresql://...`, `duckdb:///path/file.duckdb` (relative to the
    working directory; `duckdb:////abs/file.duckdb` is absolute) or a plain file path.

    `history`: the entity tables that keep a history table (`ALL`: every one; see `history`).
    """
    text = str(url)
    if text.startswith(POSTGRES_PREFIXES):
        from .postgres import PostgresBackend

        return Warehouse(PostgresBackend(text), schema, history)
    from .duck import DuckDBBackend

    path = duckdb_path(text)
    if str(path) in ("", ".", ":memory:"):
        raise ValueError("DuckDB needs a file path (several processes share it)")
    return Warehouse(DuckDBBackend(path), schema, history)


__all__ = [
    "ALL",
    "JSON",
    "REJECTED_TABLE",
    "Column",
    "HistoryTables",
    "LayoutVersionError",
    "Rejected",
    "Rejections",
    "SchemaMismatchError",
    "StateUpdate",
    "TableCounts",
    "TableSpec",
    "TableTotals",
    "Warehouse",
    "WarehouseError",
    "WarehouseInputError",
    "WarehouseLockedError",
    "WriteResult",
    "connect",
    "duckdb_path",
    "with_row_hash",
]
