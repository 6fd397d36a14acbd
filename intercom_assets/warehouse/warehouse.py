"""The facade callers use: one object over the three parts (schema, writer, reads)."""

import functools
from collections.abc import Callable
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar

from .database import Database
from .history import HistoryTables
from .reads import Reads
from .schema import Schema
from .session import Backend
from .spec import TableSpec
from .writer import Writer

P = ParamSpec("P")
R = TypeVar("R")


def _forward(
    part: str, method: Callable[Concatenate[Any, P], R]
) -> Callable[Concatenate["Warehouse", P], R]:
    """A `Warehouse` method that calls `method` on the warehouse's part named `part`."""

    @functools.wraps(method)
    def forwarded(self: "Warehouse", /, *args: P.args, **kwargs: P.kwargs) -> R:
        return method(getattr(self, part), *args, **kwargs)

    return forwarded


class Warehouse:
    """Declared tables in one schema of a PostgreSQL or DuckDB database (see package doc).

    `tables` registers specs and migrates, `writer` writes, `reads` reads; the methods here
    forward to them. Every call first waits for the batch in flight (see `submit`).
    """

    def __init__(
        self, backend: Backend, schema: str = "intercom", history: HistoryTables = frozenset()
    ) -> None:
        self.db = Database(backend, schema)
        self.tables = Schema(self.db, history)
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

    # -- the parts' methods, forwarded (each keeps its part's signature and doc) ------------

    register = _forward("tables", Schema.register)
    migrate = _forward("tables", Schema.migrate)
    spec = _forward("tables", Schema.spec)

    write = _forward("writer", Writer.write)
    submit = _forward("writer", Writer.submit)
    wait = _forward("writer", Writer.wait)
    soft_delete_missing = _forward("writer", Writer.soft_delete_missing)
    follow_parent_deletes = _forward("writer", Writer.follow_parent_deletes)

    exists = _forward("reads", Reads.exists)
    read_state = _forward("reads", Reads.read_state)
    rejected = _forward("reads", Reads.rejected)
    stored_hashes = _forward("reads", Reads.stored_hashes)
    live_ids = _forward("reads", Reads.live_ids)
    read_columns = _forward("reads", Reads.read_columns)
    table = _forward("reads", Reads.table)
    totals = _forward("reads", Reads.totals)
    count_live = _forward("reads", Reads.count_live)
    duplicate_keys = _forward("reads", Reads.duplicate_keys)
    null_keys = _forward("reads", Reads.null_keys)
    orphans = _forward("reads", Reads.orphans)
    query = _forward("reads", Reads.query)
    history = _forward("reads", Reads.history)
    as_of = _forward("reads", Reads.as_of)
