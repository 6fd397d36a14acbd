"""Writing batches: check and hash frames (see `batch`), diff them against the stored hashes,
write only what changed (entity tables here, link/child tables in `children`), with the
stream's state, in one transaction; optionally on a writer thread. Soft deletes and revives."""

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import polars as pl

from . import history, rejected, state
from .batch import Batch, Keep, Parents, PreparedTable, encode_state, prepare_batch
from .children import write_children
from .database import Database
from .diff import diff_entities
from .errors import WarehouseInputError
from .reads import ROW, key_frame, stored_hashes
from .rejected import Rejections
from .results import TableCounts, WriteResult
from .schema import Schema
from .session import Session
from .spec import DELETED_AT, SYNCED_AT, UTC_MICROS, TableSpec, frame_dtype
from .sql import quote, quote_all, upsert_tail
from .state import StateUpdate


class Writer:
    """Writes batches into the registered tables of one schema (migrated beforehand)."""

    def __init__(self, db: Database, schema: Schema) -> None:
        self.db = db
        self.schema = schema
        self._thread: ThreadPoolExecutor | None = None

    def write(
        self,
        frames: Mapping[str, pl.DataFrame],
        *,
        parents: Parents | None = None,
        state: StateUpdate | None = None,
        keep: Keep | None = None,
        rejections: Rejections | None = None,
    ) -> WriteResult:
        """Write one batch of frames, the stream's state and its rejected records (see
        `rejected`) in one transaction.

        `parents`: per link/child table, the parents whose stored rows the frame replaces (a
        parent without rows in the frame now has none). `keep`: per child table, keys of
        stored rows that stay as they are although their parent is replaced (rows the
        source no longer lists but did not delete); a key the frame holds is written as
        the frame says.

        Every frame is validated first; a bad frame raises WarehouseInputError and nothing is
        written.
        """
        batch = prepare_batch(self.schema, frames, parents, state, keep, rejections)
        self.db.wait()
        return self._commit(batch)

    def submit(
        self,
        frames: Mapping[str, pl.DataFrame],
        *,
        parents: Parents | None = None,
        state: StateUpdate | None = None,
        keep: Keep | None = None,
        rejections: Rejections | None = None,
        on_written: Callable[[WriteResult], None] | None = None,
    ) -> "Future[WriteResult]":
        """`write()` whose transaction runs on the writer thread: the caller can shape its
        next batch while this one is written.

        The batch is validated and hashed here, in the caller's thread (a bad frame raises
        WarehouseInputError and nothing is written). At most one batch is in flight: this
        first waits for the previous one and raises its error, so batches commit in the
        order they were submitted and memory holds at most two. `on_written(result)` runs on
        the writer thread once the transaction has committed, before the future completes.
        Every other call on the warehouse first waits for the batch in flight; `wait()` does
        only that.
        """
        batch = prepare_batch(self.schema, frames, parents, state, keep, rejections)
        self.db.wait()
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="warehouse-writer")

        def commit() -> WriteResult:
            result = self._commit(batch)
            if on_written is not None:
                on_written(result)
            return result

        future = self._thread.submit(commit)
        self.db.in_flight = future
        return future

    def wait(self) -> None:
        """Wait for the batch in flight (see `submit`); raise its error if it failed."""
        self.db.wait()

    def soft_delete_missing(
        self,
        table: str,
        seen_ids: pl.Series | Sequence[Any],
        *,
        state: StateUpdate | None = None,
        allow_empty: bool = False,
    ) -> TableCounts:
        """After a complete snapshot: set `_deleted_at` on live rows whose id was not seen.

        Runs in one transaction with `state`. An empty `seen_ids` would delete every row, so it
        raises unless `allow_empty=True`.
        """
        spec = self.schema.spec(table)
        if not spec.is_entity:
            raise WarehouseInputError(f"{table}: soft deletes apply to entity tables only")
        seen = key_frame(spec, spec.key, seen_ids)
        if seen.height == 0 and not allow_empty:
            raise WarehouseInputError(
                f"{table}: no ids seen; pass allow_empty=True to soft-delete every live row"
            )
        encoded = encode_state(state)
        now = _now()
        key = quote(spec.key)
        with self.db.session() as s:
            relation = s.stage("seen", seen, self._types(spec, seen.columns))
            deleted = self._update(
                s,
                spec,
                f"{quote(DELETED_AT)} = %s",
                (now,),
                f"t.{quote(DELETED_AT)} IS NULL AND NOT EXISTS"
                f" (SELECT 1 FROM {relation} AS k WHERE k.{key} = t.{key})",
                now,
                None,
            )
            self._put_state(s, encoded, now)
        return TableCounts(deleted=deleted)

    def follow_parent_deletes(self, table: str, column: str, parent_table: str) -> TableCounts:
        """Make the rows of entity `table` live exactly when their parent row is: soft-delete
        live rows whose `column` names a soft-deleted row of `parent_table`, and revive
        soft-deleted rows whose parent is live again, setting their `_synced_at` (one
        transaction; `deleted`, `revived`).
        Rows whose parent is not stored at all are left as they are."""
        spec, parent = self.schema.spec(table), self.schema.spec(parent_table)
        if not spec.is_entity or not parent.is_entity:
            raise WarehouseInputError(f"{table}, {parent_table}: both must be entity tables")
        parents = self.db.table(parent_table)
        gone, key = quote(DELETED_AT), quote(parent.key)
        now = _now()

        def parent_is(state: str) -> str:
            return (
                f"EXISTS (SELECT 1 FROM {parents} AS p WHERE p.{key} = t.{quote(column)}"
                f" AND p.{gone} IS {state})"
            )

        with self.db.session() as s:
            deleted = self._update(
                s,
                spec,
                f"{gone} = %s",
                (now,),
                f"t.{gone} IS NULL AND {parent_is('NOT NULL')}",
                now,
                None,
            )
            revived = self._update(
                s,
                spec,
                f"{gone} = NULL, {quote(SYNCED_AT)} = %s",
                (now,),
                f"t.{gone} IS NOT NULL AND {parent_is('NULL')}",
                now,
                history.REVIVED,
            )
        return TableCounts(deleted=deleted, revived=revived)

    def close(self) -> None:
        """Wait for the batch in flight and stop the writer thread (raises a failed batch's
        error)."""
        try:
            self.db.wait()
        finally:
            if self._thread is not None:
                self._thread.shutdown(wait=True)
                self._thread = None

    # -- internals -------------------------------------------------------------------------

    def _commit(self, batch: Batch) -> WriteResult:
        """The batch's transaction (on the caller's or the writer thread)."""
        now = _now()
        counts: dict[str, TableCounts] = {}
        with self.db.backend.session() as s:
            for name, table in batch.tables.items():
                if table.spec.is_entity:
                    counts[name] = self._write_entities(s, table, now)
                else:
                    counts[name] = write_children(s, self.db, table, now)
            self._put_state(s, batch.state, now)
            if batch.rejections:
                held = self.db.table(rejected.REJECTED_TABLE)
                dialect = self.db.backend.dialect
                rejected.put_rejections(s, dialect, held, batch.rejections, now)
        return WriteResult(counts)

    def _types(self, spec: TableSpec, columns: Sequence[str]) -> dict[str, str]:
        dialect = self.db.backend.dialect
        return {c: history.history_column_type(dialect, spec, c) for c in columns}

    def _write_entities(self, s: Session, table: PreparedTable, now: datetime) -> TableCounts:
        spec, batch = table.spec, table.rows
        stored = stored_hashes(s, self.db, spec, batch.select(spec.key))
        diff = diff_entities(spec, batch, stored)
        if diff.to_write.height:
            self._write_rows(s, spec, diff.to_write, diff.changes, stored, now)
        return TableCounts(
            inserted=diff.inserted,
            updated=diff.updated,
            unchanged=diff.unchanged,
            revived=diff.revived,
            duplicates=table.duplicates,
        )

    def _write_rows(
        self,
        s: Session,
        spec: TableSpec,
        rows: pl.DataFrame,
        changes: pl.DataFrame,
        stored: pl.DataFrame,
        now: datetime,
    ) -> None:
        """Write the inserted, updated and revived `rows` (`changes`: key and `_change` of
        each; `stored`: what `stored_hashes` read); with history on, close the current
        versions of the stored ones first."""
        key, target, dialect = spec.key, self.db.table(spec.name), self.db.backend.dialect
        columns, keeps_history = spec.stored_columns(), self.schema.has_history(spec)
        rows = rows.with_columns(
            pl.lit(now, dtype=UTC_MICROS).alias(SYNCED_AT),
            pl.lit(None, dtype=UTC_MICROS).alias(DELETED_AT),
        )
        if keeps_history:
            rows = rows.join(changes, on=key, how="left", maintain_order="left")
            columns = (*columns, history.CHANGE)
        rows = rows.select(columns)
        types = self._types(spec, columns)
        replaced = changes.filter(pl.col(history.CHANGE) != history.INSERTED).select(key)
        if replaced.height and (keeps_history or not dialect.update_in_place):
            # the stored rows being replaced: by row id where the backend has one
            if dialect.row_id is None:
                where = s.key_filter(f"t.{quote(key)}", replaced.get_column(key), types[key])
            else:
                row_ids = stored.join(replaced, on=key, how="semi").get_column(ROW)
                where = s.key_filter(f"t.{dialect.row_id}", row_ids, dialect.types["int64"])
            condition, keys = where
            if keeps_history:
                closed = self.db.table(history.closed_table(spec.name))
                s.execute(history.close_sql(spec, closed, target, condition), (now, *keys))
            if not dialect.update_in_place:  # DuckDB: delete the stored rows, insert all
                s.execute(f"DELETE FROM {target} AS t WHERE {condition}", keys)
        if not dialect.update_in_place:
            s.append(target, rows, types)
            return
        # New keys go straight into the table; stored ones through staging and an upsert.
        is_stored = pl.col(key).is_in(replaced.get_column(key).implode())
        new_rows, old_rows = rows.filter(~is_stored), rows.filter(is_stored)
        if new_rows.height:
            s.append(target, new_rows, types)
        if old_rows.height:
            relation = s.stage(f"stage_{spec.name}", old_rows, types)
            quoted = quote_all(columns)
            s.execute(
                f"INSERT INTO {target} ({quoted}) SELECT {quoted} FROM {relation} AS s"
                f" {upsert_tail(spec, columns)}"
            )

    def _update(
        self,
        s: Session,
        spec: TableSpec,
        assignments: str,
        params: Sequence[Any],
        where: str,
        now: datetime,
        change: str | None,
    ) -> int:
        """`UPDATE <spec's table> AS t SET <assignments> WHERE <where>` (`params` are the
        assignments'); returns the rows updated. With history on, the current versions of
        those rows are closed first, and their `_change` becomes `change` (None: kept; a
        soft-deleted row's version is told by its `_deleted_at`)."""
        target = self.db.table(spec.name)
        if not self.schema.has_history(spec):
            return s.execute(f"UPDATE {target} AS t SET {assignments} WHERE {where}", params)
        key, dialect = spec.key, self.db.backend.dialect
        ids = s.query(
            f"SELECT t.{quote(key)} FROM {target} AS t WHERE {where}{dialect.lock_rows}",
            schema={key: frame_dtype(spec.column(key).dtype)},
        ).get_column(key)
        if ids.len() == 0:
            return 0
        key_type = dialect.column_type(spec, key)
        condition, keys = s.key_filter(f"t.{quote(key)}", ids, key_type)
        closed = self.db.table(history.closed_table(spec.name))
        s.execute(history.close_sql(spec, closed, target, condition), (now, *keys))
        if change is not None:
            assignments += f", {quote(history.CHANGE)} = '{change}'"
        s.execute(f"UPDATE {target} AS t SET {assignments} WHERE {condition}", (*params, *keys))
        return ids.len()

    def _put_state(
        self, s: Session, encoded: tuple[str, pl.DataFrame] | None, now: datetime
    ) -> None:
        if encoded is not None:
            stream, rows = encoded
            table = self.db.table(state.STATE_TABLE)
            state.put_state(s, self.db.backend.dialect, table, stream, rows, now)


def _now() -> datetime:
    return datetime.now(UTC)
