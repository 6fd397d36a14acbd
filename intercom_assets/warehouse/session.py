"""The small interface each database backend implements: a transaction and a few primitives."""

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import polars as pl

from .sql import Dialect, quote


class Session(ABC):
    """One open transaction. SQL uses `%s` placeholders and quoted identifiers."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; return the number of rows it affected (or -1)."""

    @abstractmethod
    def query(
        self, sql: str, params: Sequence[Any] = (), schema: Mapping[str, pl.DataType] | None = None
    ) -> pl.DataFrame:
        """Run a query and return its rows, cast to `schema` when given."""

    def query_many(
        self, sql: str, params: Sequence[Any], schema: Mapping[str, pl.DataType]
    ) -> pl.DataFrame:
        """`query` for results of many rows; a backend may fetch them column-wise."""
        return self.query(sql, params, schema)

    @abstractmethod
    def stage(self, name: str, frame: pl.DataFrame, types: Mapping[str, str]) -> str:
        """Make `frame` readable in SQL for the rest of the transaction, with the given SQL
        column types; return the relation to select from."""

    def key_filter(self, column: str, keys: pl.Series, sql_type: str) -> tuple[str, list[Any]]:
        """A condition (and its parameters) true where `column` (quoted SQL) is in `keys`."""
        relation = self.stage("keys", keys.to_frame("k"), {"k": sql_type})
        return f"{column} IN (SELECT k.{quote('k')} FROM {relation} AS k)", []

    @abstractmethod
    def append(self, target: str, frame: pl.DataFrame, types: Mapping[str, str]) -> None:
        """Insert all rows of `frame` into the table `target` (a quoted name)."""


class Backend(ABC):
    """A database the warehouse can write to."""

    dialect: Dialect
    catalog: str | None = None  # qualifies schema names when set

    @abstractmethod
    def session(self) -> AbstractContextManager[Session]:
        """A transaction: committed when the block ends, rolled back when it raises."""

    @abstractmethod
    def migration(self, schema: str) -> AbstractContextManager[Session]:
        """A transaction holding the schema's migration lock: concurrent migrations (threads
        or processes) of one schema run one after another, each reading the catalog inside
        the lock, so none creates what another just created."""

    @abstractmethod
    def schema_exists(self, session: Session, schema: str) -> bool:
        """Whether the schema exists."""

    def columns(
        self, session: Session, schema: str, tables: Sequence[str]
    ) -> dict[str, dict[str, str]]:
        """Stored column name -> reported data type, per table of `tables` that exists."""
        if not tables:
            return {}
        found: dict[str, dict[str, str]] = {}
        for table, column, data_type in session.query(
            *self.columns_query(schema, tables)
        ).iter_rows():
            found.setdefault(table, {})[column] = data_type
        return found

    @abstractmethod
    def columns_query(self, schema: str, tables: Sequence[str]) -> tuple[str, Sequence[Any]]:
        """The catalog query behind `columns` (tables not empty): SQL and parameters that
        select (table_name, column_name, data_type) of `tables` in `schema`."""

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Release connections held between calls (if any)."""


def frame_from_rows(
    rows: Sequence[Sequence[Any]], columns: Sequence[str], schema: Mapping[str, pl.DataType] | None
) -> pl.DataFrame:
    """A frame from fetched rows, typed by `schema` when given."""
    values = [list(v) for v in zip(*rows, strict=True)] if rows else [[] for _ in columns]
    schema = schema or {}
    return pl.DataFrame(
        [pl.Series(c, v, dtype=schema.get(c)) for c, v in zip(columns, values, strict=True)]
    )
