"""Shaping API records into table frames: declare each column once, build frames from lists.

A stream declares its columns as `Field`s (column name, type, where the value sits in the
record). From them come both the warehouse `TableSpec` and the frame of a batch: one Python
list per column, then one `pl.DataFrame` with an explicit schema (no `pl.from_dicts`, no
per-row polars callbacks). Unix-second timestamps become `Datetime(us, UTC)`, nested
objects are flattened by path, JSON columns hold compact JSON text, and `_raw` keeps the
whole record.
"""

import functools
import operator
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
    compute: Callable[[Record], Any] | None = None
    """Derives the value from the whole record instead of `path` (e.g. a composite key)."""

    def spec_column(self) -> Column:
        """The warehouse column this field fills."""
        return Column(self.column, self.dtype, nullable=self.nullable)


def field(
    column: str, dtype: ColumnType = STRING, path: str | None = None, *, nullable: bool = True
) -> Field:
    """A field; `path` is dotted (`location.city`) and defaults to the column name."""
    return Field(column, dtype, tuple((path or column).split(".")), nullable)


def computed(
    column: str,
    dtype: ColumnType,
    compute: Callable[[Record], Any],
    *,
    nullable: bool = True,
) -> Field:
    """A field whose value `compute(record)` derives from the whole record."""
    return Field(column, dtype, (), nullable, compute)


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
    values = _extract(records, _plan(tuple(fields)))
    columns = {f.column: _series(f, values[f.column]) for f in fields}
    if raw:
        columns["_raw"] = pl.Series("_raw", [dumps(r) for r in records], dtype=pl.String)
    return pl.DataFrame(columns)


@dataclass(frozen=True)
class _Plan:
    """How to read a set of fields: top-level keys at once, nested keys per parent object."""

    top: tuple[tuple[str, str], ...]
    """(column, key) read from the record itself."""
    nested: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    """(first key, ((column, second key), ...)) read from the object at the first key."""
    other: tuple[Field, ...]
    """Deeper paths and computed fields, read one by one."""


@functools.lru_cache(maxsize=256)
def _plan(fields: tuple[Field, ...]) -> _Plan:
    top: list[tuple[str, str]] = []
    nested: dict[str, list[tuple[str, str]]] = {}
    other: list[Field] = []
    for f in fields:
        if f.compute is None and len(f.path) == 1:
            top.append((f.column, f.path[0]))
        elif f.compute is None and len(f.path) == 2:
            nested.setdefault(f.path[0], []).append((f.column, f.path[1]))
        else:
            other.append(f)
    return _Plan(tuple(top), tuple((k, tuple(v)) for k, v in nested.items()), tuple(other))


def _extract(records: Sequence[Record], plan: _Plan) -> dict[str, list[Any]]:
    """Column name -> values, reading each record's keys in one C-level call per object."""
    values = _read_keys(records, plan.top)
    for first, pairs in plan.nested:
        parents = [r.get(first) for r in records]
        values.update(_read_keys([p if type(p) is dict else _EMPTY for p in parents], pairs))
    for f in plan.other:
        values[f.column] = _values(records, f)
    return values


_EMPTY: dict[str, Any] = {}


def _read_keys(objects: Sequence[Record], pairs: tuple[tuple[str, str], ...]) -> dict[str, list]:
    if not pairs:
        return {}
    keys = [key for _, key in pairs]
    if len(keys) == 1:
        (key,) = keys
        rows: list[tuple[Any, ...]] = [(o.get(key),) for o in objects]
    else:
        get = operator.itemgetter(*keys)
        try:
            rows = list(map(get, objects))
        except KeyError:  # some object lacks a key: read them all with defaults
            rows = [tuple(map(o.get, keys)) for o in objects]
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in keys]
    return {column: list(col) for (column, _), col in zip(pairs, columns, strict=True)}


def rows_frame(rows: Sequence[Sequence[Any]], fields: Sequence[Field]) -> pl.DataFrame:
    """A frame from plain row tuples in field order (link and child tables)."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in fields]
    return pl.DataFrame(
        {f.column: _series(f, list(values)) for f, values in zip(fields, columns, strict=True)}
    )


def dumps(value: Any) -> str:
    """Compact JSON text, as stored in JSON columns and `_raw`."""
    return orjson.dumps(value).decode()


def _values(records: Sequence[Record], f: Field) -> list[Any]:
    if f.compute is not None:
        compute = f.compute
        return [compute(r) for r in records]
    if len(f.path) == 1:
        return _top(records, f)
    get = _getter(f.path)
    return [get(r) for r in records]


def _top(records: Sequence[Record], f: Field) -> list[Any]:
    key = f.path[0]
    return [r.get(key) for r in records]


def _getter(path: tuple[str, ...]) -> Callable[[Record], Any]:
    """A fast accessor for a nested path (records are decoded JSON: plain dicts)."""
    if len(path) == 1:
        (only,) = path
        return lambda record: record.get(only)
    if len(path) == 2:
        first, second = path

        def get2(record: Record) -> Any:
            value = record.get(first)
            return value.get(second) if type(value) is dict else None

        return get2

    def get(record: Record) -> Any:
        value: Any = record
        for key in path:
            if type(value) is not dict:
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
            return (seconds * 1_000_000).cast(TIMESTAMP)
        if dtype == STRING:
            try:
                return pl.Series(name, values, pl.String, strict=True)
            except (TypeError, pl.exceptions.PolarsError):
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


Members = Callable[[Record], Sequence[Any]]
"""The member ids a record lists (tag ids of a contact, admin ids of a team, ...)."""


def ids_at(path: str, key: str = "id") -> Members:
    """Members read from a list of objects at a dotted path (`tags.tags` -> each `id`)."""
    get = _getter(tuple(path.split(".")))

    def members(record: Record) -> list[Any]:
        items = get(record)
        if type(items) is not list:
            return []
        return [item.get(key) for item in items if type(item) is dict]

    return members


def values_at(path: str) -> Members:
    """Members read from a list of plain values at a dotted path (`admin_ids`)."""
    get = _getter(tuple(path.split(".")))

    def members(record: Record) -> list[Any]:
        items = get(record)
        return list(items) if isinstance(items, list) else []

    return members


@dataclass(frozen=True)
class Link:
    """A link table of (parent id, member id) pairs, one set per parent record."""

    table: str
    parent: str
    """Column holding the parent's id (the parent key)."""
    member: str
    """Column holding the member's id."""
    members: Members
    """Where a record lists its members (when no fuller list is supplied)."""

    @property
    def fields(self) -> tuple[Field, Field]:
        return (field(self.parent, nullable=False), field(self.member, nullable=False))

    def spec(self) -> TableSpec:
        return table_spec(
            self.table, self.fields, primary_key=(self.parent, self.member), parent_key=self.parent
        )

    def rows(
        self, records: Sequence[Record], key: str, full: Mapping[Any, Sequence[Any]] | None
    ) -> pl.DataFrame:
        """The link rows of these records; `full` replaces a record's own list when it has one."""
        full = full or {}
        parents: list[Any] = []
        members: list[Any] = []
        for record in records:
            parent = record.get(key)
            listed = full.get(parent)
            ids = listed if listed is not None else self.members(record)
            parents.extend([parent] * len(ids))
            members.extend(ids)
        parent_field, member_field = self.fields
        return pl.DataFrame([_series(parent_field, parents), _series(member_field, members)])


@dataclass(frozen=True)
class Shape:
    """An entity table and the link tables filled from the same records."""

    table: str
    fields: tuple[Field, ...]
    links: tuple[Link, ...] = ()
    key: str = "id"

    def specs(self) -> tuple[TableSpec, ...]:
        entity = table_spec(self.table, self.fields, primary_key=(self.key,))
        return (entity, *(link.spec() for link in self.links))

    def frames(
        self,
        records: Sequence[Record],
        full: Mapping[str, Mapping[Any, Sequence[Any]]] | None = None,
    ) -> tuple[dict[str, pl.DataFrame], dict[str, pl.Series]]:
        """Frames per table plus the parents each link frame covers (every record's id).

        `full` maps a link table to `{parent id: every member}` for records whose embedded
        list is incomplete (Intercom embeds at most 10 items).
        """
        entity = frame(records, self.fields)
        frames = {self.table: entity}
        parents: dict[str, pl.Series] = {}
        for link in self.links:
            frames[link.table] = link.rows(records, self.key, (full or {}).get(link.table))
            parents[link.table] = entity.get_column(self.key)
        return frames, parents
