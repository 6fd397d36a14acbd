"""Where the tables live: a backend, a schema name, and the one batch that may be in flight."""

from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

from .session import Backend, Session
from .sql import quote, table_name


class Database:
    """One schema of one database. Every part of the warehouse opens its transactions here.

    `session()` first waits for the batch the writer has in flight (its transaction runs on
    the writer thread, on the same backend), so a read or a migration sees every batch
    submitted before it and never shares a connection with it.
    """

    def __init__(self, backend: Backend, schema: str) -> None:
        quote(schema)  # refuses names that cannot be quoted
        self.backend = backend
        self.schema = schema
        self.in_flight: Future[Any] | None = None
        """The submitted batch not yet waited for (only the caller's thread touches it)."""

    def wait(self) -> None:
        """Wait for the batch in flight (if any); raise its error if it failed."""
        future, self.in_flight = self.in_flight, None
        if future is not None:
            future.result()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction of the caller's own, after the batch in flight committed."""
        self.wait()
        with self.backend.session() as s:
            yield s

    def table(self, table: str) -> str:
        """The quoted, schema-qualified name of a table."""
        return table_name(self.schema, table, self.backend.catalog)

    def close(self) -> None:
        """Wait for the batch in flight, then release the backend's connections."""
        try:
            self.wait()
        finally:
            self.backend.close()
