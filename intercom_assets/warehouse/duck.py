"""DuckDB backend: an embedded database file, safe to share between processes.

DuckDB lets one process at a time open a file for writing. Each call opens the file, runs
one transaction and closes it again, so several Dagster step processes take turns; opening
a file another process holds is retried with exponential backoff.
"""

import contextlib
import random
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


class DuckDBSession(Session):
    """A transaction on a short-lived DuckDB connection."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn
        self.staged = 0

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
        frame = self.conn.sql(sql.replace("%s", "?"), params=list(params)).pl()
        return frame.cast(dict(schema)) if schema else frame

    def stage(self, name: str, frame: pl.DataFrame, types: Mapping[str, str]) -> str:
        self.staged += 1
        view = f"{name}_{self.staged}"
        self.conn.register(view, frame)
        columns = ", ".join(f"CAST({quote(c)} AS {types[c]}) AS {quote(c)}" for c in frame.columns)
        return f"(SELECT {columns} FROM {quote(view)})"

    def append(self, target: str, frame: pl.DataFrame, types: Mapping[str, str]) -> None:
        relation = self.stage("append", frame, types)
        columns = ", ".join(quote(c) for c in frame.columns)
        self.execute(f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {relation} AS s")


class DuckDBBackend(Backend):
    """A DuckDB file, opened per call."""

    dialect = DUCKDB

    def __init__(self, path: str | Path, lock_timeout: float = 300.0) -> None:
        self.path = Path(path)
        self.catalog = self.path.stem  # DuckDB names the attached file's catalog after its stem
        self.lock_timeout = lock_timeout

    def _connect(self) -> duckdb.DuckDBPyConnection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.02
        while True:
            try:
                conn = duckdb.connect(str(self.path))
                conn.execute("SET enable_progress_bar = false")  # no bars in step logs
                return conn
            except duckdb.IOException as exc:
                if LOCK_MESSAGE not in str(exc).lower():
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
        conn = self._connect()
        try:
            conn.execute("BEGIN TRANSACTION")
            yield DuckDBSession(conn)
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    def existing_columns(self, session: Session, schema: str, table: str) -> dict[str, str]:
        rows = session.query(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_catalog = current_database() AND table_schema = %s AND table_name = %s",
            (schema, table),
        )
        return dict(rows.iter_rows())
