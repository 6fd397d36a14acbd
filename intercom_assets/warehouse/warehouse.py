"""The facade callers use: one object over the three parts (schema, writer, reads)."""

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from types import TracebackType
from typing import Any

import polars as pl

from .database import Database
from .reads import Reads
from .results import TableCounts, TableTotals, WriteResult
from .schema import Schema
from .session import Backend
from .spec import TableSpec
from .state import StateUpdate
from .writer import Parents, Writer


class Warehouse:
    """Declared tables in one schema of a PostgreSQL or DuckDB database (see package doc).

    `tables` registers specs and migrates, `writer` writes, `reads` reads; the methods here
    forward to them. Every call first waits for the batch in flight (see `submit`).
    """

    def __init__(self, backend: Backend, schema: str = "intercom") -> None:
        self.db = Database(backend, schema)
        self.tables = Schema(self.db)
        self.writer = Writer(self.db, self.tables)
        self.reads = Reads(self.db, self.tables)

    @property
    def backend(self) -> Backend:
        return self.db.backend

    @property
    def schema(self) -> str:
        """The database schema's name."""
        return self.db.schema

    @property
    def specs(self) -> dict[str, TableSpec]:
        """The registered specs, by table name."""
        return self.tables.specs

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> "Warehouse":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Wait for a submitted write, then release connections (raises its error)."""
        try:
            self.writer.close()
        finally:
            self.db.close()

    # -- schema ----------------------------------------------------------------------------

    def register(self, specs: Iterable[TableSpec]) -> None:
        """Know these tables, for reads, checks and writes. Runs no SQL."""
        self.tables.register(specs)

    def migrate(self, specs: Iterable[TableSpec] = ()) -> None:
        """Register `specs` and create / add columns / refuse type changes (see `schema`)."""
        self.tables.migrate(specs)

    ensure_tables = migrate
    """The previous name of `migrate`."""

    def spec(self, table: str) -> TableSpec:
        """The registered spec of a table."""
        return self.tables.spec(table)

    # -- writes ----------------------------------------------------------------------------

    def write(
        self,
        frames: Mapping[str, pl.DataFrame],
        *,
        parents: Parents | None = None,
        state: StateUpdate | None = None,
    ) -> WriteResult:
        """Write one batch and the stream's state in one transaction (see `Writer.write`)."""
        return self.writer.write(frames, parents=parents, state=state)

    def submit(
        self,
        frames: Mapping[str, pl.DataFrame],
        *,
        parents: Parents | None = None,
        state: StateUpdate | None = None,
        on_written: Callable[[WriteResult], None] | None = None,
    ) -> "Future[WriteResult]":
        """`write()` on the writer thread (see `Writer.submit`)."""
        return self.writer.submit(frames, parents=parents, state=state, on_written=on_written)

    def wait(self) -> None:
        """Wait for the batch in flight; raise its error if it failed."""
        self.db.wait()

    def soft_delete_missing(
        self,
        table: str,
        seen_ids: pl.Series | Sequence[Any],
        *,
        state: StateUpdate | None = None,
        allow_empty: bool = False,
    ) -> TableCounts:
        """Soft-delete live rows a complete snapshot did not see (see `Writer`)."""
        return self.writer.soft_delete_missing(
            table, seen_ids, state=state, allow_empty=allow_empty
        )

    def follow_parent_deletes(self, table: str, column: str, parent_table: str) -> TableCounts:
        """Soft-delete (revive) rows whose parent is soft-deleted (live) (see `Writer`)."""
        return self.writer.follow_parent_deletes(table, column, parent_table)

    # -- reads -----------------------------------------------------------------------------

    def read_state(self, stream: str, keys: Sequence[str] | None = None) -> dict[str, Any]:
        """A stream's stored state: key -> value (for `keys`, or every key)."""
        return self.reads.read_state(stream, keys)

    def stored_hashes(self, table: str, ids: pl.Series | Sequence[Any]) -> pl.DataFrame:
        """`id`, `_hash` and `_deleted` (bool) of the stored rows with these ids."""
        return self.reads.stored_hashes(table, ids)

    def live_ids(self, table: str) -> pl.Series:
        """Keys of the rows not soft-deleted."""
        return self.reads.live_ids(table)

    def read_columns(
        self, table: str, columns: Sequence[str], *, live_only: bool = True
    ) -> pl.DataFrame:
        """Some columns of every (live) row, typed as declared (JSON as text)."""
        return self.reads.read_columns(table, columns, live_only=live_only)

    def table(self, table: str) -> pl.DataFrame:
        """The whole stored table, ordered by its key (for tests and small tables)."""
        return self.reads.table(table)

    def totals(self, table: str) -> TableTotals:
        """Live and soft-deleted row counts."""
        return self.reads.totals(table)

    def count_live(self, table: str) -> int:
        """Rows not soft-deleted."""
        return self.reads.count_live(table)

    def duplicate_keys(self, table: str) -> int:
        """Primary-key values stored more than once."""
        return self.reads.duplicate_keys(table)

    def null_keys(self, table: str) -> int:
        """Rows with a null in a primary-key column."""
        return self.reads.null_keys(table)

    def orphans(
        self,
        table: str,
        column: str,
        parent_table: str,
        *,
        parent_column: str = "id",
        live_only: bool = True,
    ) -> int:
        """Rows of `table` whose `column` matches no (live) row of `parent_table`."""
        return self.reads.orphans(
            table, column, parent_table, parent_column=parent_column, live_only=live_only
        )

    def query(self, sql: str, params: Sequence[Any] = ()) -> pl.DataFrame:
        """Run a read-only query (`%s` placeholders) and return a frame."""
        return self.reads.query(sql, params)
