"""The warehouse: makes declared SQL tables match polars frames, writing only what changed.

It knows nothing of Intercom or Dagster. PostgreSQL (production) and DuckDB (embedded
default) implement the same behaviour.

Declare tables::

    from intercom_assets.warehouse import JSON, Column, TableSpec, connect

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

Write batches::

    with connect("duckdb:///path/file.duckdb", schema="intercom") as wh:  # or postgresql://...
        wh.ensure_tables([contacts, contact_tags])     # create / add columns / refuse type changes
        result = wh.write(
            {"contacts": contacts_frame, "contact_tags": tags_frame},
            parents={"contact_tags": contact_ids},     # parents covered by this batch
            state=("contacts", {"cursor": 123}),       # the stream's progress, same transaction
            event_cursors=cursor_frame,                # optional: columns id, cursor (text)
        )
        result.tables["contacts"].inserted  # .updated .unchanged .revived .duplicates
        wh.soft_delete_missing("contacts", seen_ids, state=("contacts", {...}))  # end of snapshot

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
- Every `write` / `soft_delete_missing` is one transaction including the state; a crash
  leaves the last committed batch.

Reads: `get_state(stream)`, `event_cursors(ids)`, `stored_hashes(table, ids)`,
`read_columns(table, columns, live_only=True)` (typed as declared), `live_ids(table)`,
`totals(table)` (live, deleted), `count_live(table)`; checks:
`duplicate_keys`, `null_keys`, `orphans(table, column, parent_table)`; `query(sql, params)`
and `table(name)` for anything else.

DuckDB connections are opened for a call, kept open for a short idle window (so back-to-back
calls share one), closed without a checkpoint, and retried while another process holds the
file; PostgreSQL keeps one connection until `close()`.
"""

from pathlib import Path

from .errors import (
    SchemaMismatchError,
    WarehouseError,
    WarehouseInputError,
    WarehouseLockedError,
)
from .hashing import with_row_hash
from .results import TableCounts, TableTotals, WriteResult
from .spec import JSON, Column, TableSpec
from .state import StateUpdate
from .warehouse import Warehouse

DUCKDB_PREFIX = "duckdb://"
POSTGRES_PREFIXES = ("postgresql://", "postgres://")


def connect(url: str | Path, schema: str = "intercom") -> Warehouse:
    """A warehouse for `postgresql://...`, `duckdb:///path/file.duckdb` or a plain file path."""
    text = str(url)
    if text.startswith(POSTGRES_PREFIXES):
        from .postgres import PostgresBackend

        return Warehouse(PostgresBackend(text), schema)
    from .duck import DuckDBBackend

    path = text.removeprefix(DUCKDB_PREFIX) if text.startswith(DUCKDB_PREFIX) else text
    if not path or path == ":memory:":
        raise ValueError("DuckDB needs a file path (several processes share it)")
    return Warehouse(DuckDBBackend(path), schema)


__all__ = [
    "JSON",
    "Column",
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
    "with_row_hash",
]
