"""Writing batches: check and hash frames, diff them against the stored hashes, write only
what changed, with the stream's state, in one transaction; optionally on a writer thread."""

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl

from . import history, state
from .database import Database
from .diff import diff_children, diff_entities
from .errors import WarehouseInputError
from .frames import conform
from .reads import key_frame, stored_hashes
from .results import TableCounts, WriteResult
from .schema import Schema
from .session import Session
from .spec import DELETED_AT, HASH, SYNCED_AT, UTC_MICROS, TableSpec, frame_dtype
from .sql import quote, quote_all, upsert_tail
from .state import StateUpdate

Parents = Mapping[str, pl.Series | Sequence[Any]]


@dataclass(frozen=True)
class _Table:
    """One validated, hashed frame of a batch."""

    spec: TableSpec
    rows: pl.DataFrame
    duplicates: int
    covered: pl.DataFrame | None
    """Link/child tables: the parents whose rows the frame holds."""


@dataclass(frozen=True)
class _Batch:
    """A validated, hashed batch waiting for its transaction."""

    tables: dict[str, _Table]
    state: tuple[str, pl.DataFrame] | None


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
    ) -> WriteResult:
        """Write one batch of frames and the stream's state in one transaction.

        Every frame is validated first; a bad frame raises WarehouseInputError and nothing is
        written.
        """
        batch = self._batch(frames, parents, state)
        self.db.wait()
        return self._commit(batch)

    def submit(
        self,
        frames: Mapping[str, pl.DataFrame],
        *,
        parents: Parents | None = None,
        state: StateUpdate | None = None,
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
        batch = self._batch(frames, parents, state)
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
        encoded = _encoded(state)
        now = _now()
        key = quote(spec.key)
        with self.db.session() as s:
            relation = s.stage("seen", seen, self._types(spec, seen.columns))
            deleted = self._update(
                s,
                spec,
                f"UPDATE {self.db.table(table)} AS t SET {quote(DELETED_AT)} = %s"
                f" WHERE t.{quote(DELETED_AT)} IS NULL AND NOT EXISTS"
                f" (SELECT 1 FROM {relation} AS k WHERE k.{key} = t.{key})",
                (now,),
                history.DELETED,
                now,
            )
            self._put_state(s, encoded, now)
        return TableCounts(deleted=deleted)

    def follow_parent_deletes(self, table: str, column: str, parent_table: str) -> TableCounts:
        """Make the rows of entity `table` live exactly when their parent row is: soft-delete
        live rows whose `column` names a soft-deleted row of `parent_table`, and revive
        soft-deleted rows whose parent is live again (one transaction; `deleted`, `revived`).
        Rows whose parent is not stored at all are left as they are."""
        spec, parent = self.schema.spec(table), self.schema.spec(parent_table)
        if not spec.is_entity or not parent.is_entity:
            raise WarehouseInputError(f"{table}, {parent_table}: both must be entity tables")
        target, parents = self.db.table(table), self.db.table(parent_table)
        gone, key = quote(DELETED_AT), quote(parent.key)
        now = _now()
        with self.db.session() as s:
            deleted = self._update(
                s,
                spec,
                f"UPDATE {target} AS t SET {gone} = %s WHERE t.{gone} IS NULL AND EXISTS"
                f" (SELECT 1 FROM {parents} AS p WHERE p.{key} = t.{quote(column)}"
                f" AND p.{gone} IS NOT NULL)",
                (now,),
                history.DELETED,
                now,
            )
            revived = self._update(
                s,
                spec,
                f"UPDATE {target} AS t SET {gone} = NULL WHERE t.{gone} IS NOT NULL AND EXISTS"
                f" (SELECT 1 FROM {parents} AS p WHERE p.{key} = t.{quote(column)}"
                f" AND p.{gone} IS NULL)",
                (),
                history.REVIVED,
                now,
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

    def _batch(
        self,
        frames: Mapping[str, pl.DataFrame],
        parents: Parents | None,
        state: StateUpdate | None,
    ) -> _Batch:
        parents = parents or {}
        prepared = {table: self._prepare(table, frame, parents) for table, frame in frames.items()}
        for table in parents:
            if table not in frames:
                raise WarehouseInputError(f"{table}: parents given without a frame")
        return _Batch(prepared, _encoded(state))

    def _prepare(self, table: str, frame: pl.DataFrame, parents: Parents) -> _Table:
        spec = self.schema.spec(table)
        conformed = conform(spec, frame)
        covered = None
        if spec.parent_key is None:
            if table in parents:
                raise WarehouseInputError(f"{table}: parents apply to link/child tables only")
        else:
            given = key_frame(spec, spec.parent_key, parents.get(table, []))
            in_frame = conformed.frame.select(spec.parent_key)
            covered = pl.concat([given, in_frame]).unique(maintain_order=True)
        return _Table(spec, conformed.frame, conformed.duplicates, covered)

    def _commit(self, batch: _Batch) -> WriteResult:
        """The batch's transaction (on the caller's or the writer thread)."""
        now = _now()
        counts: dict[str, TableCounts] = {}
        with self.db.backend.session() as s:
            for name, table in batch.tables.items():
                if table.spec.is_entity:
                    counts[name] = self._write_entities(s, table, now)
                else:
                    counts[name] = self._write_children(s, table, now)
            self._put_state(s, batch.state, now)
        return WriteResult(counts)

    def _types(self, spec: TableSpec, columns: Sequence[str]) -> dict[str, str]:
        return {c: self.db.backend.dialect.column_type(spec, c) for c in columns}

    def _write_entities(self, s: Session, table: _Table, now: datetime) -> TableCounts:
        spec, batch = table.spec, table.rows
        stored = stored_hashes(s, self.db, spec, batch.select(spec.key))
        diff = diff_entities(spec, batch, stored)
        if diff.to_write.height:
            rows = diff.to_write.with_columns(
                pl.lit(now, dtype=UTC_MICROS).alias(SYNCED_AT),
                pl.lit(None, dtype=UTC_MICROS).alias(DELETED_AT),
            ).select(spec.stored_columns())
            # New ids go straight into the table; stored ones through staging and an upsert.
            stored_keys = stored.select(spec.key)
            new_rows = rows.join(stored_keys, on=spec.key, how="anti", maintain_order="left")
            old_rows = rows.join(stored_keys, on=spec.key, how="semi", maintain_order="left")
            if new_rows.height:
                s.append(self.db.table(spec.name), new_rows, self._types(spec, rows.columns))
            if old_rows.height:
                self._upsert(s, spec, old_rows)
            if self.schema.has_history(spec):
                self._record(s, spec, rows, diff.changes, now)
        return TableCounts(
            inserted=diff.inserted,
            updated=diff.updated,
            unchanged=diff.unchanged,
            revived=diff.revived,
            duplicates=table.duplicates,
        )

    def _write_children(self, s: Session, table: _Table, now: datetime) -> TableCounts:
        spec, batch, covered = table.spec, table.rows, table.covered
        parent = spec.parent_key
        assert parent is not None and covered is not None
        if covered.height == 0:
            return TableCounts(duplicates=table.duplicates)
        target = self.db.table(spec.name)
        keys = list(dict.fromkeys([*spec.primary_key, parent]))
        schema = {k: frame_dtype(spec.column(k).dtype) for k in keys} | {HASH: pl.Int64()}
        parent_type = self.db.backend.dialect.column_type(spec, parent)
        condition, params = s.key_filter(
            f"t.{quote(parent)}", covered.get_column(parent), parent_type
        )
        stored = s.query(
            f"SELECT {', '.join(f't.{quote(c)} AS {quote(c)}' for c in schema)}"
            f" FROM {target} AS t WHERE {condition}",
            params,
            schema=schema,
        )
        diff = diff_children(spec, batch, stored)
        if diff.changed_parents.len():
            # only parents with stored rows have rows to delete (new parents have none)
            doomed = diff.changed_parents.filter(
                diff.changed_parents.is_in(stored.get_column(parent).implode())
            )
            if doomed.len():
                condition, params = s.key_filter(f"t.{quote(parent)}", doomed, parent_type)
                s.execute(f"DELETE FROM {target} AS t WHERE {condition}", params)
            if diff.to_insert.height:
                rows = diff.to_insert.with_columns(
                    pl.lit(now, dtype=UTC_MICROS).alias(SYNCED_AT)
                ).select(spec.stored_columns())
                s.append(target, rows, self._types(spec, rows.columns))
        return TableCounts(
            inserted=diff.to_insert.height,
            deleted=diff.to_delete,
            unchanged=diff.unchanged,
            duplicates=table.duplicates,
            replaced_parents=diff.changed_parents.len(),
        )

    def _update(
        self,
        s: Session,
        spec: TableSpec,
        sql: str,
        params: Sequence[Any],
        change: str,
        now: datetime,
    ) -> int:
        """Run an UPDATE of entity rows; with history on, close the versions of the rows it
        changed and copy them as versions of kind `change`. Returns the rows updated."""
        if not self.schema.has_history(spec):
            return s.execute(sql, params)
        key = spec.key
        ids = s.query(
            f"{sql} RETURNING t.{quote(key)}",
            params,
            schema={key: frame_dtype(spec.column(key).dtype)},
        ).get_column(key)
        if ids.len():
            target = self.db.table(history.history_table(spec.name))
            key_type = self.db.backend.dialect.column_type(spec, key)
            condition, keys = s.key_filter(f"h.{quote(key)}", ids, key_type)
            s.execute(history.close_sql(target, key, condition), (now, *keys))
            condition, keys = s.key_filter(f"t.{quote(key)}", ids, key_type)
            s.execute(
                history.copy_sql(spec, target, self.db.table(spec.name), condition),
                (now, change, *keys),
            )
        return ids.len()

    def _record(
        self, s: Session, spec: TableSpec, rows: pl.DataFrame, changes: pl.DataFrame, now: datetime
    ) -> None:
        """Close the current versions of the written `rows` that had one (updated, revived)
        and append the rows as their new versions (`changes`: key and `_change`)."""
        key = spec.key
        target = self.db.table(history.history_table(spec.name))
        reopened = changes.filter(pl.col(history.CHANGE) != history.INSERTED).get_column(key)
        if reopened.len():
            key_type = self.db.backend.dialect.column_type(spec, key)
            condition, keys = s.key_filter(f"h.{quote(key)}", reopened, key_type)
            s.execute(history.close_sql(target, key, condition), (now, *keys))
        versions = rows.select(history.content_columns(spec)).join(
            changes, on=key, how="left", maintain_order="left"
        )
        versions = versions.with_columns(
            pl.lit(now, dtype=UTC_MICROS).alias(history.VALID_FROM),
            pl.lit(None, dtype=UTC_MICROS).alias(history.VALID_TO),
        ).select(*history.content_columns(spec), *history.VERSION_COLUMNS)
        dialect = self.db.backend.dialect
        types = {c: history.history_column_type(dialect, spec, c) for c in versions.columns}
        s.append(target, versions, types)

    def _upsert(self, s: Session, spec: TableSpec, rows: pl.DataFrame) -> None:
        relation = s.stage(f"stage_{spec.name}", rows, self._types(spec, rows.columns))
        columns = quote_all(rows.columns)
        s.execute(
            f"INSERT INTO {self.db.table(spec.name)} ({columns})"
            f" SELECT {columns} FROM {relation} AS s {upsert_tail(spec)}"
        )

    def _put_state(
        self, s: Session, encoded: tuple[str, pl.DataFrame] | None, now: datetime
    ) -> None:
        if encoded is not None:
            stream, rows = encoded
            table = self.db.table(state.STATE_TABLE)
            state.put_state(s, self.db.backend.dialect, table, stream, rows, now)


def _now() -> datetime:
    return datetime.now(UTC)


def _encoded(update: StateUpdate | None) -> tuple[str, pl.DataFrame] | None:
    if update is None:
        return None
    if not isinstance(update, StateUpdate):
        raise WarehouseInputError(f"state must be a StateUpdate, got {type(update).__name__}")
    return update.stream, update.encoded()
