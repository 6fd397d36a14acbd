"""DuckDB backend: an embedded database file, safe to share between processes.

DuckDB lets one process at a time open a file for writing. A call opens the file (or reuses
the connection of a call that ended less than `keep_open` seconds ago), runs one
transaction, and the connection closes once idle or held for `max_hold` seconds, so several
Dagster step processes take turns; opening a file another process holds is retried with
exponential backoff.
"""

import contextlib
import random
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from .errors import WarehouseLockedError
from .session import Backend, Session
from .sql import DUCKDB, quote

LOCK_MESSAGE = "lock"
BEING_CREATED_MESSAGE = "not a valid duckdb database file"
BEING_CREATED_SECONDS = 10.0
"""How long a file that is not (yet) a DuckDB database is taken for one another process is
creating: it exists from its `open` until its header is written."""
CHECKPOINT_THRESHOLD = "256MB"
"""The write-ahead log size at which a commit checkpoints. DuckDB's default, 16 MB, made a
1M-row initial load checkpoint every one or two batches of 50,000 rows (1.2-4.3 s each):
35.6 s against 19.1 s with this threshold, at a lower peak RSS (1.6 GB against 2.2 GB)."""
KEEP_OPEN_SECONDS = 0.5
MAX_HOLD_SECONDS = 5.0


class DuckDBSession(Session):
    """A transaction on a short-lived DuckDB connection."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn
        self.staged = 0
        self.views: list[str] = []

    def release(self) -> None:
        """Unregister the frames staged in this transaction (the connection may be reused)."""
        for view in self.views:
            with contextlib.suppress(duckdb.Error):
                self.conn.unregister(view)
        self.views.clear()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        self.conn.execute(sql.replace("%s", "?"), list(params))
        try:
            row = self.conn.fetchone()
        except duckdb.Error:
            return -1
        return int(row[0]) if row and isinstance(row[0], int) else -1

    def query(
        self, sql: str, params: Sequence[Any] = (), schema: Mapping[str, pl.DataType] | None = None
    ) -> pl.DataFrame:
        frame: pl.DataFrame = self.conn.sql(sql.replace("%s", "?"), params=list(params)).pl()
        return frame.cast({name: dtype for name, dtype in schema.items()}) if schema else frame

    def stage(self, name: str, frame: pl.DataFrame, types: Mapping[str, str]) -> str:
        self.staged += 1
        view = f"{name}_{self.staged}"
        self.conn.register(view, frame)
        self.views.append(view)
        columns = ", ".join(f"CAST({quote(c)} AS {types[c]}) AS {quote(c)}" for c in frame.columns)
        return f"(SELECT {columns} FROM {quote(view)})"

    def append(self, target: str, frame: pl.DataFrame, types: Mapping[str, str]) -> None:
        relation = self.stage("append", frame, types)
        columns = ", ".join(quote(c) for c in frame.columns)
        self.execute(f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {relation} AS s")


class DuckDBBackend(Backend):
    """A DuckDB file, opened for a call and kept open for a short while after it.

    An idle connection closes after `keep_open` seconds, and a connection open for
    `max_hold` seconds closes when its call ends, so other processes get their turn.
    Those closes do not checkpoint: DuckDB checkpoints when its WAL outgrows its threshold,
    and a checkpoint per call rewrote most of a large table's storage each time. `close()`
    (the end of an asset run) checkpoints once, so the file holds the data.
    """

    dialect = DUCKDB

    def __init__(
        self,
        path: str | Path,
        lock_timeout: float = 300.0,
        keep_open: float = KEEP_OPEN_SECONDS,
        max_hold: float = MAX_HOLD_SECONDS,
    ) -> None:
        self.path = Path(path)
        self.catalog = self.path.stem  # DuckDB names the attached file's catalog after its stem
        self.lock_timeout = lock_timeout
        self.keep_open = keep_open
        self.max_hold = max_hold
        self._lock = threading.Lock()
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._opened_at = 0.0
        self._uses = 0  # bumped per call, so a stale idle timer leaves a reused connection open

    def _connect(self) -> duckdb.DuckDBPyConnection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        deadline = started + self.lock_timeout
        delay = 0.02
        while True:
            try:
                conn = duckdb.connect(str(self.path))
                conn.execute("SET enable_progress_bar = false")  # no bars in step logs
                conn.execute("PRAGMA disable_checkpoint_on_shutdown")
                conn.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
                return conn
            except duckdb.IOException as exc:
                message = str(exc).lower()
                # Another process may have created the file and not written its header yet
                # (seen when several processes open a new file at once): wait for it, briefly.
                being_created = BEING_CREATED_MESSAGE in message
                if being_created and time.monotonic() - started >= BEING_CREATED_SECONDS:
                    raise
                if not being_created and LOCK_MESSAGE not in message:
                    raise
                if time.monotonic() >= deadline:
                    raise WarehouseLockedError(
                        f"{self.path} stayed locked by another process for "
                        f"{self.lock_timeout:.0f} s: {exc}"
                    ) from exc
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 1.0)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._lock:
            self._uses += 1
            if self._conn is None:
                self._conn = self._connect()
                self._opened_at = time.monotonic()
            conn = self._conn
            session = DuckDBSession(conn)
            done = False
            try:
                conn.execute("BEGIN TRANSACTION")
                yield session
                conn.execute("COMMIT")
                done = True
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    conn.execute("ROLLBACK")
                raise
            finally:
                session.release()
                held = time.monotonic() - self._opened_at
                if not done or self.keep_open <= 0 or held >= self.max_hold:
                    self._close_connection()
                else:
                    timer = threading.Timer(self.keep_open, self._close_idle, (self._uses,))
                    timer.daemon = True
                    timer.start()

    def _close_idle(self, uses: int) -> None:
        with self._lock:
            if uses == self._uses:
                self._close_connection()

    def _close_connection(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(duckdb.Error):
                conn.close()

    def close(self) -> None:
        """Checkpoint, then release the connection: after `close` the `.duckdb` file alone
        holds every committed row (its `.wal` is folded in), so it can be copied or moved.

        A file another process holds open is left to that process (its own `close`
        checkpoints); a failed checkpoint leaves the WAL, which DuckDB replays on next open.
        """
        with self._lock:
            self._uses += 1
            conn = self._conn
            if conn is None and self.wal.exists():
                with contextlib.suppress(duckdb.Error):
                    conn = self._conn = duckdb.connect(str(self.path))
            if conn is not None:
                with contextlib.suppress(duckdb.Error):
                    conn.execute("CHECKPOINT")
            self._close_connection()

    @property
    def wal(self) -> Path:
        """DuckDB's write-ahead log beside the file."""
        return self.path.with_name(self.path.name + ".wal")

    @contextmanager
    def migration(self, schema: str) -> Iterator[Session]:
        # Other processes wait for the file lock; threads of this process share one DuckDB
        # instance per file, and their concurrent catalog changes conflict: take turns.
        with migration_lock(self.path), self.session() as s:
            yield s

    def schema_exists(self, session: Session, schema: str) -> bool:
        rows = session.query(
            "SELECT 1 FROM information_schema.schemata"
            " WHERE catalog_name = current_database() AND schema_name = %s",
            (schema,),
        )
        return rows.height > 0

    def columns_query(self, schema: str, tables: Sequence[str]) -> tuple[str, Sequence[Any]]:
        marks = ", ".join("%s" for _ in tables)
        return (
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_catalog = current_database() AND table_schema = %s"
            f" AND table_name IN ({marks})",
            (schema, *tables),
        )


_MIGRATION_LOCKS: dict[str, threading.Lock] = {}
_MIGRATION_LOCKS_GUARD = threading.Lock()


def migration_lock(path: Path) -> threading.Lock:
    """The process-wide lock serialising migrations of one DuckDB file."""
    key = str(path.resolve())
    with _MIGRATION_LOCKS_GUARD:
        return _MIGRATION_LOCKS.setdefault(key, threading.Lock())
