"""Declaring columns: a `Field` is one column (its name, type, and where its value sits in a
record); a `MemberPath` is where a record lists the member ids of a link table. From the
fields come the warehouse `TableSpec`s (`table_spec`) and the reader's schema (`reader`)."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import polars as pl

from intercom_assets.warehouse import Column, TableSpec
from intercom_assets.warehouse.spec import ColumnType

STRING = pl.String()
INT = pl.Int64()
FLOAT = pl.Float64()
BOOL = pl.Boolean()
TIMESTAMP = pl.Datetime("us", "UTC")
"""Declared as TIMESTAMP; the record holds unix seconds."""

RawRecord = bytes
"""One record's JSON text, as the API sent it."""

_ENCODE = msgspec.json.Encoder()


def encode(records: Sequence[Mapping[str, Any]]) -> list[RawRecord]:
    """Records built in Python (merges, loads, parts) as raw records for `Shape.frames`."""
    return [_ENCODE.encode(record) for record in records]


class ShapeError(ValueError):
    """A record that cannot be read as its table declares it; names table, record, column."""


@dataclass(frozen=True)
class Field:
    """One column: its name, type, and the path of its value in a record."""

    column: str
    dtype: ColumnType
    path: tuple[str, ...]
    nullable: bool = True
    derive: Callable[[], pl.Expr] | None = None
    """Builds the column from the decoded record instead of `path` (e.g. a composite key);
    the expression reads other fields' paths as columns and struct fields."""

    def spec_column(self) -> Column:
        """The warehouse column this field fills."""
        return Column(self.column, self.dtype, nullable=self.nullable)


def field(
    column: str, dtype: ColumnType = STRING, path: str | None = None, *, nullable: bool = True
) -> Field:
    """A field; `path` is dotted (`location.city`) and defaults to the column name."""
    return Field(column, dtype, tuple((path or column).split(".")), nullable)


def flattened(obj: str, *keys: str) -> tuple[Field, ...]:
    """One text field per key of an embedded object, `<obj>_<key>` from `<obj>.<key>`
    (`flattened("author", "type", "id")`: `author_type`, `author_id`)."""
    return tuple(field(f"{obj}_{key}", path=f"{obj}.{key}") for key in keys)


AUTHOR = flattened("author", "type", "id", "name", "email")
"""A note's or part's author: `author_type`, `author_id`, `author_name`, `author_email`."""


def derived(
    column: str, dtype: ColumnType, derive: Callable[[], pl.Expr], *, nullable: bool = True
) -> Field:
    """A field computed by the polars expression `derive()` over the decoded record."""
    return Field(column, dtype, (), nullable, derive)


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


@dataclass(frozen=True)
class MemberPath:
    """Where a record lists member ids (tag ids of a contact, admin ids of a team, ...): a
    dotted path to a list of objects (their `key`) or of plain values (`key=None`)."""

    path: tuple[str, ...]
    key: str | None = "id"


def ids_at(path: str, key: str = "id") -> MemberPath:
    """Members read from a list of objects at a dotted path (`tags.tags` -> each `id`)."""
    return MemberPath(tuple(path.split(".")), key)


def values_at(path: str) -> MemberPath:
    """Members read from a list of plain values at a dotted path (`admin_ids`)."""
    return MemberPath(tuple(path.split(".")), None)
