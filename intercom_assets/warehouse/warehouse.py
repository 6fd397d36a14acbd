"""The warehouse: makes declared tables match polars frames, writing only what changed."""

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import orjson
import polars as pl

from .diff import DELETED, diff_children, diff_entities
from .errors import SchemaMismatchError, WarehouseInputError
from .frames import conform
from .results import TableCounts, TableTotals, WriteResult
from .session import Backend, Session
from .spec import DELETED_AT, HASH, SYNCED_AT, UTC_MICROS, TableSpec, frame_dtype
from .sql import (
    EVENT_CURSORS_TABLE,
    STATE_TABLE,
    create_meta_tables,
    create_table,
    quote,
    quote_all,
    schema_name,
    stored_type_key,
    table_name,
    upsert_tail,
)

State = tuple[str, Mapping[str, Any]]
_STORED_DTYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "json": pl.String(),
    "raw": pl.String(),
    "int64": pl.Int64(),
    "float64": pl.Float64(),
    "boolean": pl.Boolean(),
    "timestamp": UTC_MICROS,
}
EVENT_CURSOR_SCHEMA = {"id": pl.String(), "cursor": pl.String()}
DENSE_MIN_KEYS = 2_000
"""Batches with at least this many keys try one range scan for their stored hashes."""


@dataclass(frozen=True)
class _Batch:
    """A validated, hashed batch waiting for its transaction."""

    tables: dict[str, tuple[TableSpec, pl.DataFrame, int, pl.DataFrame | None]]
    state: tuple[str, str] | None
    cursors: pl.DataFrame | None


class Warehouse:
    """Declared tables in one schema of a PostgreSQL or DuckDB database (see package doc)."""

    def __init__(self, backend: Backend, schema: str = "intercom") -> None:
        quote(schema)
        self.backend = backend
        self.schema = schema
        self.specs: dict[str, TableSpec] = {}
        self._writer: ThreadPoolExecutor | None = None
        self._in_flight: Future[WriteResult] | None = None
        """The submitted batch not yet waited for (only the caller's thread touches it)."""

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
        """Wait for a submitted write, then release any connection held between calls.

        Raises the submitted write's error, if it failed.
        """
        try:
            self.wait()
        finally:
            if self._writer is not None:
                self._writer.shutdown(wait=True)
                self._writer = None
            self.backend.close()

    # -- schema ----------------------------------------------------------------------------

    def ensure_tables(self, specs: Iterable[TableSpec]) -> None:
        """Create the schema, meta tables and tables if missing; add columns a spec gained.

        Raises SchemaMismatchError (naming table and column) when a stored column's type differs
        from the spec; nothing is changed then.
        """
        specs = list(specs)
        dialect = self.backend.dialect
        catalog = self.backend.catalog
        with self._session() as s:
            s.execute(f"CREATE SCHEMA IF NOT EXISTS {schema_name(self.schema, catalog)}")
            for ddl in create_meta_tables(dialect, self.schema, catalog):
                s.execute(ddl)
            additions: list[str] = []
            for spec in specs:
                existing = self.backend.existing_columns(s, self.schema, spec.name)
                if not existing:
                    additions.append(create_table(dialect, self.schema, spec, catalog))
                    continue
                for name in spec.stored_columns():
                    key = stored_type_key(spec, name)
                    wanted = dialect.reported[key]
                    found = existing.get(name)
                    if found is None:
                        sql_type = dialect.column_type(spec, name)
                        additions.append(
                            f"ALTER TABLE {self._table(spec.name)}"
                            f" ADD COLUMN {quote(name)} {sql_type}"
                        )
                    elif not dialect.accepts(key, found):
                        raise SchemaMismatchError(
                            f"{self.schema}.{spec.name}.{name} is stored as {found} but the spec"
                            f" declares {wanted}; migrate the column (the data is kept in _raw)"
                        )
            for ddl in additions:
                s.execute(ddl)
        self.specs.update({spec.name: spec for spec in specs})

    def spec(self, table: str) -> TableSpec:
        """The registered spec of a table."""
        try:
            return self.specs[table]
        except KeyError:
            raise WarehouseInputError(
                f"unknown table {table!r}: pass its spec to ensure_tables() first"
            ) from None

    # -- writes ----------------------------------------------------------------------------

    def write(
        self,
        frames: Mapping[str, pl.DataFrame],
        *,
        parents: Mapping[str, pl.Series | Sequence[Any]] | None = None,
        state: State | None = None,
        event_cursors: pl.DataFrame | None = None,
    ) -> WriteResult:
        """Write one batch of frames, the stream state and event cursors in one transaction.

        Every frame is validated first; a bad frame raises WarehouseInputError and nothing is
        written.
        """
        batch = self._batch(frames, parents, state, event_cursors)
        self.wait()
        return self._commit(batch)

    def submit(
        self,
        frames: Mapping[str, pl.DataFrame],
        *,
        parents: Mapping[str, pl.Series | Sequence[Any]] | None = None,
        state: State | None = None,
        event_cursors: pl.DataFrame | None = None,
        on_written: Callable[[WriteResult], None] | None = None,
    ) -> "Future[WriteResult]":
        """`write()` whose transaction runs on the warehouse's writer thread: the caller can
        shape its next batch while this one is written.

        The batch is validated and hashed here, in the caller's thread (a bad frame raises
        WarehouseInputError and nothing is written). At most one batch is in flight: this
        first waits for the previous one and raises its error, so batches commit in the
        order they were submitted and memory holds at most two. `on_written(result)` runs on
        the writer thread once the transaction has committed, before the future completes.
        Every other method (reads included) first waits for the batch in flight; `wait()`
        does only that.
        """
        batch = self._batch(frames, parents, state, event_cursors)
        self.wait()
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="warehouse-writer")

        def commit() -> WriteResult:
            result = self._commit(batch)
            if on_written is not None:
                on_written(result)
            return result

        self._in_flight = self._writer.submit(commit)
        return self._in_flight

    def wait(self) -> None:
        """Wait for the batch in flight (see `submit`); raise its error if it failed."""
        future, self._in_flight = self._in_flight, None
        if future is not None:
            future.result()

    def _batch(
        self,
        frames: Mapping[str, pl.DataFrame],
        parents: Mapping[str, pl.Series | Sequence[Any]] | None,
        state: State | None,
        event_cursors: pl.DataFrame | None,
    ) -> _Batch:
        parents = parents or {}
        prepared = {table: self._prepare(table, frame, parents) for table, frame in frames.items()}
        for table in parents:
            if table not in frames:
                raise WarehouseInputError(f"{table}: parents given without a frame")
        return _Batch(prepared, _state_json(state), _event_cursor_frame(event_cursors))

    def _commit(self, batch: _Batch) -> WriteResult:
        now = _now()
        counts: dict[str, TableCounts] = {}
        with self.backend.session() as s:
            for table, (spec, rows, duplicates, covered) in batch.tables.items():
                if spec.is_entity:
                    counts[table] = self._write_entities(s, spec, rows, duplicates, now)
                else:
                    counts[table] = self._write_children(s, spec, rows, duplicates, covered, now)
            if batch.state is not None:
                self._put_state(s, batch.state[0], batch.state[1], now)
            if batch.cursors is not None and batch.cursors.height:
                self._put_event_cursors(s, batch.cursors, now)
        return WriteResult(counts)

    def soft_delete_missing(
        self,
        table: str,
        seen_ids: pl.Series | Sequence[Any],
        *,
        state: State | None = None,
        allow_empty: bool = False,
    ) -> TableCounts:
        """After a complete snapshot: set `_deleted_at` on live rows whose id was not seen.

        Runs in one transaction with `state`. An empty `seen_ids` would delete every row, so it
        raises unless `allow_empty=True`.
        """
        spec = self.spec(table)
        if not spec.is_entity:
            raise WarehouseInputError(f"{table}: soft deletes apply to entity tables only")
        seen = _key_frame(spec, spec.key, seen_ids)
        if seen.height == 0 and not allow_empty:
            raise WarehouseInputError(
                f"{table}: no ids seen; pass allow_empty=True to soft-delete every live row"
            )
        state_json = _state_json(state)
        now = _now()
        target = self._table(table)
        key = quote(spec.key)
        with self._session() as s:
            relation = s.stage("seen", seen, self._types(spec, seen.columns))
            deleted = s.execute(
                f"UPDATE {target} AS t SET {quote(DELETED_AT)} = %s"
                f" WHERE t.{quote(DELETED_AT)} IS NULL AND NOT EXISTS"
                f" (SELECT 1 FROM {relation} AS k WHERE k.{key} = t.{key})",
                (now,),
            )
            if state_json is not None:
                self._put_state(s, state_json[0], state_json[1], now)
        return TableCounts(deleted=deleted)

    def put_state(self, stream: str, state: Mapping[str, Any]) -> None:
        """Store a stream's state on its own (a write() carries it with the batch)."""
        state_json = _state_json((stream, state))
        assert state_json is not None
        with self._session() as s:
            self._put_state(s, state_json[0], state_json[1], _now())

    # -- reads -----------------------------------------------------------------------------

    def get_state(self, stream: str) -> dict[str, Any] | None:
        """A stream's stored state, or None."""
        text = self.backend.dialect.types["string"]
        with self._session() as s:
            rows = s.query(
                f'SELECT CAST("state" AS {text}) AS state'
                f" FROM {self._table(STATE_TABLE)} WHERE stream = %s",
                (stream,),
            )
        return orjson.loads(rows.item(0, 0)) if rows.height else None

    def event_cursors(self, ids: pl.Series | Sequence[str] | None = None) -> pl.DataFrame:
        """Stored event cursors (`id`, `cursor`) of the given ids (all when None)."""
        source = self._table(EVENT_CURSORS_TABLE)
        with self._session() as s:
            if ids is None:
                return s.query(f'SELECT "id", "cursor" FROM {source}', schema=EVENT_CURSOR_SCHEMA)
            keys = pl.Series("id", list(ids), dtype=pl.String).unique()
            condition, params = s.key_filter('c."id"', keys, self.backend.dialect.types["string"])
            return s.query(
                f'SELECT c."id", c."cursor" FROM {source} AS c WHERE {condition}',
                params,
                schema=EVENT_CURSOR_SCHEMA,
            )

    def stored_hashes(self, table: str, ids: pl.Series | Sequence[Any]) -> pl.DataFrame:
        """`id`, `_hash` and `_deleted` (bool) of the stored rows with these ids."""
        spec = self.spec(table)
        with self._session() as s:
            return self._stored_hashes(s, spec, _key_frame(spec, spec.key, ids))

    def live_ids(self, table: str) -> pl.Series:
        """Keys of the rows not soft-deleted."""
        spec = self.spec(table)
        key = spec.key
        with self._session() as s:
            frame = s.query(
                f"SELECT {quote(key)} FROM {self._table(table)} WHERE {quote(DELETED_AT)} IS NULL",
                schema={key: frame_dtype(spec.column(key).dtype)},
            )
        return frame.get_column(key)

    def read_columns(
        self, table: str, columns: Sequence[str], *, live_only: bool = True
    ) -> pl.DataFrame:
        """Some declared or meta columns of every row (live rows only by default), typed as
        declared (JSON as text)."""
        spec = self.spec(table)
        stored = spec.stored_columns()
        unknown = [c for c in columns if c not in stored]
        if unknown:
            raise WarehouseInputError(f"{table}: no column(s) {unknown}")
        text = self.backend.dialect.types["string"]
        keys = {c: stored_type_key(spec, c) for c in columns}
        select = ", ".join(
            f"CAST({quote(c)} AS {text}) AS {quote(c)}" if key in ("json", "raw") else quote(c)
            for c, key in keys.items()
        )
        where = f" WHERE {quote(DELETED_AT)} IS NULL" if live_only and spec.is_entity else ""
        schema = {c: _STORED_DTYPES[key] for c, key in keys.items()}
        with self._session() as s:
            return s.query(f"SELECT {select} FROM {self._table(table)}{where}", schema=schema)

    def totals(self, table: str) -> TableTotals:
        """Live and soft-deleted row counts (link tables: all rows are live)."""
        spec = self.spec(table)
        deleted = f"{quote(DELETED_AT)} IS NOT NULL" if spec.is_entity else "FALSE"
        with self._session() as s:
            row = s.query(
                f"SELECT COUNT(*) AS n, COALESCE(SUM(CASE WHEN {deleted} THEN 1 ELSE 0 END), 0)"
                f" AS d FROM {self._table(table)}"
            ).row(0)
        total, dead = int(row[0]), int(row[1])
        return TableTotals(live=total - dead, deleted=dead)

    def count_live(self, table: str) -> int:
        """Rows not soft-deleted."""
        return self.totals(table).live

    def duplicate_keys(self, table: str) -> int:
        """Primary-key values stored more than once (0 unless the constraint was lost)."""
        keys = quote_all(self.spec(table).primary_key)
        return self._scalar(
            f"SELECT COUNT(*) FROM (SELECT {keys} FROM {self._table(table)}"
            f" GROUP BY {keys} HAVING COUNT(*) > 1) AS d"
        )

    def null_keys(self, table: str) -> int:
        """Rows with a null in a primary-key column."""
        spec = self.spec(table)
        condition = " OR ".join(f"{quote(k)} IS NULL" for k in spec.primary_key)
        return self._scalar(f"SELECT COUNT(*) FROM {self._table(table)} WHERE {condition}")

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
        parent_spec = self.spec(parent_table)
        live = f" AND p.{quote(DELETED_AT)} IS NULL" if live_only and parent_spec.is_entity else ""
        return self._scalar(
            f"SELECT COUNT(*) FROM {self._table(table)} AS c WHERE NOT EXISTS"
            f" (SELECT 1 FROM {self._table(parent_table)} AS p"
            f" WHERE p.{quote(parent_column)} = c.{quote(column)}{live})"
        )

    def query(self, sql: str, params: Sequence[Any] = ()) -> pl.DataFrame:
        """Run a read-only query (`%s` placeholders) and return a frame."""
        with self._session() as s:
            return s.query(sql, params)

    def table(self, table: str) -> pl.DataFrame:
        """The whole stored table (for tests and small tables)."""
        spec = self.spec(table)
        dialect = self.backend.dialect
        columns = ", ".join(
            f"CAST({quote(c)} AS {dialect.types['string']}) AS {quote(c)}"
            if stored_type_key(spec, c) in ("json", "raw")
            else quote(c)
            for c in spec.stored_columns()
        )
        schema = {c: _STORED_DTYPES[stored_type_key(spec, c)] for c in spec.stored_columns()}
        with self._session() as s:
            return s.query(
                f"SELECT {columns} FROM {self._table(table)}"
                f" ORDER BY {quote_all(spec.primary_key)}",
                schema=schema,
            )

    # -- internals -------------------------------------------------------------------------

    def _prepare(
        self, table: str, frame: pl.DataFrame, parents: Mapping[str, pl.Series | Sequence[Any]]
    ) -> tuple[TableSpec, pl.DataFrame, int, pl.DataFrame | None]:
        spec = self.spec(table)
        conformed = conform(spec, frame)
        covered = None
        if spec.parent_key is None:
            if table in parents:
                raise WarehouseInputError(f"{table}: parents apply to link/child tables only")
        else:
            given = _key_frame(spec, spec.parent_key, parents.get(table, []))
            in_frame = conformed.frame.select(spec.parent_key)
            covered = pl.concat([given, in_frame]).unique(maintain_order=True)
        return spec, conformed.frame, conformed.duplicates, covered

    @contextmanager
    def _session(self) -> Iterator[Session]:
        """A transaction of the caller's own, after the submitted batch (if any) committed."""
        self.wait()
        with self.backend.session() as s:
            yield s

    def _table(self, table: str) -> str:
        return table_name(self.schema, table, self.backend.catalog)

    def _types(self, spec: TableSpec, columns: Iterable[str]) -> dict[str, str]:
        return {c: self.backend.dialect.column_type(spec, c) for c in columns}

    def _stored_hashes(self, s: Session, spec: TableSpec, keys: pl.DataFrame) -> pl.DataFrame:
        key = spec.key
        schema = {key: frame_dtype(spec.column(key).dtype), HASH: pl.Int64(), DELETED: pl.Int64()}
        if keys.height == 0:
            return pl.DataFrame(schema=schema).with_columns(pl.col(DELETED).cast(pl.Boolean))
        select = (
            f"SELECT t.{quote(key)} AS {quote(key)}, t.{quote(HASH)} AS {quote(HASH)},"
            f" CASE WHEN t.{quote(DELETED_AT)} IS NULL THEN 0 ELSE 1 END AS {quote(DELETED)}"
            f" FROM {self._table(spec.name)} AS t"
        )
        stored = None
        if keys.height >= DENSE_MIN_KEYS:
            stored = self._stored_in_range(s, spec, select, keys, schema)
        if stored is None:
            stored = self._stored_by_key(s, spec, select, keys.get_column(key), schema)
        else:  # keys the range did not hold: new ones, or outside it in the database's order
            missing = keys.join(stored, on=key, how="anti").get_column(key)
            if missing.len():
                found = self._stored_by_key(s, spec, select, missing, schema)
                stored = pl.concat([stored, found])
        return stored.with_columns(pl.col(DELETED).cast(pl.Boolean))

    def _stored_by_key(
        self, s: Session, spec: TableSpec, select: str, keys: pl.Series, schema: dict
    ) -> pl.DataFrame:
        sql_type = self.backend.dialect.column_type(spec, spec.key)
        condition, params = s.key_filter(f"t.{quote(spec.key)}", keys, sql_type)
        return s.query_many(f"{select} WHERE {condition}", params, schema=schema)

    def _stored_in_range(
        self, s: Session, spec: TableSpec, select: str, keys: pl.DataFrame, schema: dict
    ) -> pl.DataFrame | None:
        """The stored rows of `keys` read with one range scan, when the batch fills its key
        range: at most twice as many rows as it has keys are stored between its smallest and
        largest key. None when more are stored there (then each key is probed). One query
        reads up to twice the batch and gives up when it gets more.

        A snapshot sent in key order (a sweep, a full reload) fills its range, and one ordered
        scan reads the stored hashes several times faster than an index probe per key
        (1M-row table, 50k keys: ~10 ms against ~75 ms). Reading stops at twice the batch,
        so a sparse batch pays at most that much reading. The bounds are polars' (byte
        order); where the database's collation orders text otherwise, keys the range misses
        are probed by the caller, so the result is the same, only slower.
        """
        column = keys.get_column(spec.key)
        bounds = [column.min(), column.max()]
        limit = 2 * keys.height
        in_range = f" WHERE t.{quote(spec.key)} BETWEEN %s AND %s LIMIT {limit + 1}"
        rows = s.query_many(select + in_range, bounds, schema=schema)
        if rows.height > limit:
            return None
        return rows.join(keys, on=spec.key, how="semi")

    def _write_entities(
        self, s: Session, spec: TableSpec, batch: pl.DataFrame, duplicates: int, now: datetime
    ) -> TableCounts:
        stored = self._stored_hashes(s, spec, batch.select(spec.key))
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
                s.append(self._table(spec.name), new_rows, self._types(spec, rows.columns))
            if old_rows.height:
                self._upsert(s, spec, old_rows)
        return TableCounts(
            inserted=diff.inserted,
            updated=diff.updated,
            unchanged=diff.unchanged,
            revived=diff.revived,
            duplicates=duplicates,
        )

    def _write_children(
        self,
        s: Session,
        spec: TableSpec,
        batch: pl.DataFrame,
        duplicates: int,
        covered: pl.DataFrame | None,
        now: datetime,
    ) -> TableCounts:
        parent = spec.parent_key
        assert parent is not None and covered is not None
        if covered.height == 0:
            return TableCounts(duplicates=duplicates)
        target = self._table(spec.name)
        keys = list(dict.fromkeys([*spec.primary_key, parent]))
        schema = {k: frame_dtype(spec.column(k).dtype) for k in keys} | {HASH: pl.Int64()}
        parent_type = self.backend.dialect.column_type(spec, parent)
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
                s.append(self._table(spec.name), rows, self._types(spec, rows.columns))
        return TableCounts(
            inserted=diff.to_insert.height,
            deleted=diff.to_delete,
            unchanged=diff.unchanged,
            duplicates=duplicates,
            replaced_parents=diff.changed_parents.len(),
        )

    def _upsert(self, s: Session, spec: TableSpec, rows: pl.DataFrame) -> None:
        relation = s.stage(f"stage_{spec.name}", rows, self._types(spec, rows.columns))
        columns = quote_all(rows.columns)
        s.execute(
            f"INSERT INTO {self._table(spec.name)} ({columns})"
            f" SELECT {columns} FROM {relation} AS s {upsert_tail(spec)}"
        )

    def _put_state(self, s: Session, stream: str, state_json: str, now: datetime) -> None:
        json_type = self.backend.dialect.types["json"]
        s.execute(
            f'INSERT INTO {self._table(STATE_TABLE)} ("stream", "state", "updated_at")'
            f' VALUES (%s, CAST(%s AS {json_type}), %s) ON CONFLICT ("stream") DO UPDATE'
            ' SET "state" = EXCLUDED."state", "updated_at" = EXCLUDED."updated_at"',
            (stream, state_json, now),
        )

    def _put_event_cursors(self, s: Session, cursors: pl.DataFrame, now: datetime) -> None:
        types = self.backend.dialect.types
        rows = cursors.with_columns(pl.lit(now, dtype=UTC_MICROS).alias("updated_at"))
        relation = s.stage(
            "cursors",
            rows,
            {"id": types["string"], "cursor": types["string"], "updated_at": types["timestamp"]},
        )
        s.execute(
            f'INSERT INTO {self._table(EVENT_CURSORS_TABLE)} ("id", "cursor",'
            f' "updated_at") SELECT "id", "cursor", "updated_at" FROM {relation} AS s'
            ' ON CONFLICT ("id") DO UPDATE SET "cursor" = EXCLUDED."cursor",'
            ' "updated_at" = EXCLUDED."updated_at"'
        )

    def _scalar(self, sql: str) -> int:
        with self._session() as s:
            return int(s.query(sql).item(0, 0))


def _now() -> datetime:
    return datetime.now(UTC)


def _key_frame(spec: TableSpec, column: str, values: pl.Series | Sequence[Any]) -> pl.DataFrame:
    dtype = frame_dtype(spec.column(column).dtype)
    try:
        series = pl.Series(column, values, dtype=dtype, strict=True)
    except (pl.exceptions.PolarsError, TypeError, ValueError) as exc:
        raise WarehouseInputError(f"{spec.name}.{column}: ids are not {dtype}: {exc}") from exc
    if series.null_count():
        raise WarehouseInputError(f"{spec.name}.{column}: ids contain nulls")
    return series.unique(maintain_order=True).to_frame()


def _state_json(state: State | None) -> tuple[str, str] | None:
    if state is None:
        return None
    try:
        stream, value = state
        return str(stream), orjson.dumps(value).decode()
    except (TypeError, ValueError, orjson.JSONEncodeError) as exc:
        message = f"state must be (stream, JSON-serialisable mapping): {exc}"
        raise WarehouseInputError(message) from exc


def _event_cursor_frame(frame: pl.DataFrame | None) -> pl.DataFrame | None:
    if frame is None:
        return None
    missing = [c for c in EVENT_CURSOR_SCHEMA if c not in frame.columns]
    if missing:
        raise WarehouseInputError(f"event_cursors: frame is missing column(s) {missing}")
    try:
        cursors = frame.select(
            pl.col(c).cast(dtype, strict=True) for c, dtype in EVENT_CURSOR_SCHEMA.items()
        )
    except pl.exceptions.PolarsError as exc:
        raise WarehouseInputError(f"event_cursors: {exc}") from exc
    if cursors.get_column("id").null_count():
        raise WarehouseInputError("event_cursors: null id")
    return cursors.unique(subset="id", keep="last", maintain_order=True)
