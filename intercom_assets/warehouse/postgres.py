"""PostgreSQL backend (psycopg 3): text COPY into tables and temporary staging tables.

Frames travel in COPY's text format, written by polars (strings escaped with polars
expressions, `\\N` for NULL), which the server parses faster than CSV (JSON text needs no
doubled quotes); the binary-COPY jsonb pitfall (a `str` dumped as a JSON string scalar)
cannot happen. Entity upserts use one
`INSERT ... SELECT ... ON CONFLICT DO UPDATE` per batch rather than MERGE: only new and
changed rows are staged, so the lock-every-conflicting-row cost of ON CONFLICT does not
arise, and unlike MERGE in PostgreSQL 15 it stays correct if another session inserts the
same id concurrently.
"""

import contextlib
import hashlib
import io
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import polars as pl
import psycopg

from .session import Backend, Session, frame_from_rows
from .sql import POSTGRES, quote, quote_all

COPY_CHUNK_ROWS = 1000
COPY_PIECE_BYTES = 1 << 20
ANALYZE_MIN_ROWS = 10_000


class PostgresSession(Session):
    """A transaction on one psycopg connection."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.used: set[str] = set()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self.conn.cursor() as cur:
            cur.execute(sql, params or None)
            return cur.rowcount

    def query(
        self, sql: str, params: Sequence[Any] = (), schema: Mapping[str, pl.DataType] | None = None
    ) -> pl.DataFrame:
        with self.conn.cursor(binary=True) as cur:
            cur.execute(sql, params or None)
            columns = [d.name for d in cur.description or ()]
            return frame_from_rows(cur.fetchall(), columns, schema)

    def query_many(
        self, sql: str, params: Sequence[Any], schema: Mapping[str, pl.DataType]
    ) -> pl.DataFrame:
        # One row of arrays (one per column): psycopg loads each array in C, no tuple per row.
        arrays = ", ".join(f"array_agg(q.{quote(c)})" for c in schema)
        with self.conn.cursor(binary=True) as cur:
            cur.execute(f"SELECT {arrays} FROM ({sql}) AS q", params or None)
            row = cur.fetchone() or ()
        return pl.DataFrame(
            [
                pl.Series(c, values or [], dtype=dtype)
                for (c, dtype), values in zip(schema.items(), row, strict=True)
            ]
        )

    def stage(self, name: str, frame: pl.DataFrame, types: Mapping[str, str]) -> str:
        # A temporary table per name and column list, kept by the connection and emptied at
        # every commit: creating and dropping one per batch costs catalog writes (see
        # docs/warehouse.md).
        # `IF NOT EXISTS` also recreates it after a rolled-back transaction dropped it.
        columns = ", ".join(f"{quote(c)} {types[c]}" for c in frame.columns)
        shape = hashlib.blake2b(columns.encode(), digest_size=6).hexdigest()
        relation = f"pg_temp.{quote(f'{name}_{shape}')}"
        if relation in self.used:  # staged twice in one transaction: empty it first
            self.execute(f"TRUNCATE {relation}")
        else:
            self.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {relation} ({columns}) ON COMMIT DELETE ROWS"
            )
            self.used.add(relation)
        self.append(relation, frame, types)
        if frame.height >= ANALYZE_MIN_ROWS:
            self.execute(f"ANALYZE {relation}")
        return relation

    def key_filter(self, column: str, keys: pl.Series, sql_type: str) -> tuple[str, list[Any]]:
        # One array parameter: no temp table, and the planner sees how many keys there are.
        return f"{column} = ANY(CAST(%s AS {sql_type}[]))", [array_literal(keys)]

    def append(self, target: str, frame: pl.DataFrame, types: Mapping[str, str]) -> None:
        copy_sql = f"COPY {target} ({quote_all(frame.columns)}) FROM STDIN (FORMAT text)"
        with self.conn.cursor() as cur, cur.copy(copy_sql) as copy:
            for data in copy_chunks(frame):
                view = memoryview(data)
                # psycopg sends large buffers slowly; 1 MiB pieces keep COPY streaming
                for start in range(0, len(view), COPY_PIECE_BYTES):
                    copy.write(view[start : start + COPY_PIECE_BYTES])


def copy_chunks(frame: pl.DataFrame) -> Iterator[bytes]:
    """The frame as COPY text, in chunks of COPY_CHUNK_ROWS rows.

    A large frame's next chunk is written by a worker thread (polars releases the GIL) while
    the current one is sent, so the client's CSV work overlaps the server's COPY.
    """
    if frame.height <= COPY_CHUNK_ROWS:
        yield _copy_text(frame)
        return
    with ThreadPoolExecutor(1) as pool:
        pending: Future[bytes] | None = None
        for chunk in frame.iter_slices(COPY_CHUNK_ROWS):
            ahead = pool.submit(_copy_text, chunk)
            if pending is not None:
                yield pending.result()
            pending = ahead
        if pending is not None:
            yield pending.result()


def _copy_text(frame: pl.DataFrame) -> bytes:
    """COPY text format: tab-separated, `\\N` for NULL, backslash escapes in strings."""
    escaped = frame.with_columns(_escaped(pl.col(pl.String)))
    buffer = io.BytesIO()
    escaped.write_csv(
        buffer, include_header=False, separator="\t", quote_style="never", null_value="\\N"
    )
    return buffer.getvalue()


def _escaped(text: pl.Expr) -> pl.Expr:
    for raw, escape in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
        text = text.str.replace_all(raw, escape, literal=True)
    return text


class PostgresBackend(Backend):
    """One connection, opened on first use and kept until `close()`."""

    dialect = POSTGRES

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: psycopg.Connection | None = None

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.url, autocommit=True)
            # lz4 compresses wide rows' JSON (TOAST) at a fraction of pglz's CPU cost; a
            # server built without lz4 keeps its default
            with contextlib.suppress(psycopg.Error):
                self._conn.execute("SET default_toast_compression = 'lz4'")
            # the warehouse's statements are simple scans and COPYs: JIT only adds compile time
            self._conn.execute("SET jit = off")
        return self._conn

    @contextmanager
    def session(self) -> Iterator[Session]:
        conn = self._connection()
        with conn.transaction():
            yield PostgresSession(conn)

    @contextmanager
    def migration(self, schema: str) -> Iterator[Session]:
        # Concurrent CREATE SCHEMA / CREATE TABLE IF NOT EXISTS are not safe in PostgreSQL
        # (both may pass the check, one fails on a catalog unique index): a transaction-
        # scoped advisory lock per schema makes migrations take turns.
        with self.session() as s:
            s.execute("SELECT pg_advisory_xact_lock(%s)", (migration_lock_key(schema),))
            yield s

    def schema_exists(self, session: Session, schema: str) -> bool:
        rows = session.query("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s", (schema,))
        return rows.height > 0

    def columns_query(self, schema: str, tables: Sequence[str]) -> tuple[str, Sequence[Any]]:
        return (
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = %s AND table_name = ANY(%s)",
            (schema, list(tables)),
        )

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def migration_lock_key(schema: str) -> int:
    """The advisory lock key of a schema's migrations: a stable signed 64-bit hash."""
    digest = hashlib.blake2b(f"intercom_assets.warehouse:{schema}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


def array_literal(values: pl.Series) -> str:
    """PostgreSQL array input text (`{"a","b\\"c"}`) of a series without nulls.

    Built by polars in one pass: psycopg's list dumper works per element in Python.
    """
    text = values.cast(pl.String)
    quoted = text.str.replace_all("\\", "\\\\", literal=True).str.replace_all(
        '"', '\\"', literal=True
    )
    return "{" + ('"' + quoted + '"').str.join(",").item() + "}" if len(values) else "{}"
