"""Shaping API records into table frames: declare each column once, build frames from lists.

A stream declares its columns as `Field`s (column name, type, where the value sits in the
record). From them come both the warehouse `TableSpec` and the frame of a batch: one Python
list per column, then one `pl.DataFrame` with an explicit schema (no `pl.from_dicts`, no
per-row polars callbacks). Unix-second timestamps become `Datetime(us, UTC)`, nested
objects are flattened by path, JSON columns hold compact JSON text, and `_raw` keeps the
whole record.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import polars as pl

from intercom_assets.warehouse import JSON, Column, TableSpec
from intercom_assets.warehouse.spec import ColumnType

STRING = pl.String()
INT = pl.Int64()
FLOAT = pl.Float64()
BOOL = pl.Boolean()
TIMESTAMP = pl.Datetime("us", "UTC")
"""Declared as TIMESTAMP; the record holds unix seconds."""

Record = Mapping[str, Any]


@dataclass(frozen=True)
class Field:
    """One column: its name, type, and the path of its value in a record."""

    column: str
    dtype: ColumnType
    path: tuple[str, ...]
    nullable: bool = True

    def spec_column(self) -> Column:
        """The warehouse column this field fills."""
        return Column(self.column, self.dtype, nullable=self.nullable)


def field(
    column: str, dtype: ColumnType = STRING, path: str | None = None, *, nullable: bool = True
) -> Field:
    """A field; `path` is dotted (`location.city`) and defaults to the column name."""
    return Field(column, dtype, tuple((path or column).split(".")), nullable)


def table_spec(
    name: str,
    fields: Sequence[Field],
    primary_key: tuple[str, ...] = ("id",),
    parent_key: str | None = None,
) -> TableSpec:
    """The warehouse table for these fields."""
    return TableSpec(
        name, tuple(f.spec_column() for f in fields), primary_key=primary_key, parent_key=parent_key
    )


def frame(records: Sequence[Record], fields: Sequence[Field], *, raw: bool = True) -> pl.DataFrame:
    """A frame with one column per field (plus `_raw` when `raw`), typed as declared."""
    columns: dict[str, pl.Series] = {}
    for f in fields:
        values = [_getter(f.path)(r) for r in records] if len(f.path) > 1 else _top(records, f)
        columns[f.column] = _series(f, values)
    if raw:
        columns["_raw"] = pl.Series("_raw", [dumps(r) for r in records], dtype=pl.String)
    return pl.DataFrame(columns)


def rows_frame(rows: Sequence[Sequence[Any]], fields: Sequence[Field]) -> pl.DataFrame:
    """A frame from plain row tuples in field order (link and child tables)."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in fields]
    return pl.DataFrame(
        {f.column: _series(f, list(values)) for f, values in zip(fields, columns, strict=True)}
    )


def dumps(value: Any) -> str:
    """Compact JSON text, as stored in JSON columns and `_raw`."""
    return orjson.dumps(value).decode()


def _top(records: Sequence[Record], f: Field) -> list[Any]:
    key = f.path[0]
    return [r.get(key) for r in records]


def _getter(path: tuple[str, ...]) -> Callable[[Record], Any]:
    def get(record: Record) -> Any:
        value: Any = record
        for key in path:
            if not isinstance(value, Mapping):
                return None
            value = value.get(key)
        return value

    return get


def _series(f: Field, values: list[Any]) -> pl.Series:
    name, dtype = f.column, f.dtype
    try:
        if dtype is JSON:
            return pl.Series(name, [None if v is None else dumps(v) for v in values], pl.String)
        if dtype == TIMESTAMP:
            seconds = pl.Series(name, values, pl.Int64, strict=True)
            return (seconds * 1_000_000).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        if dtype == STRING:
            return pl.Series(name, [_text(v) for v in values], pl.String)
        return pl.Series(name, values, dtype, strict=True)
    except (TypeError, ValueError, pl.exceptions.PolarsError) as exc:
        raise ValueError(
            f"column {name!r} ({dtype!r}) cannot hold the API's values: {exc}"
        ) from exc


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool | dict | list):
        return dumps(value)
    return str(value)
