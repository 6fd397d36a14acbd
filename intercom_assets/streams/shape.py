"""Shaping API records into table frames: declare each column once, build frames from lists.

A stream declares its columns as `Field`s (column name, type, where the value sits in the
record). From them come both the warehouse `TableSpec` and the frame of a batch: one Python
list per column, then one `pl.DataFrame` with an explicit schema (no `pl.from_dicts`, no
per-row polars callbacks). Unix-second timestamps become `Datetime(us, UTC)`, nested
objects are flattened by path, JSON columns hold compact JSON text, and `_raw` keeps the
whole record.

Records usually arrive as raw JSON bytes (`Page.raw_items`): `Shape.frames_raw` decodes a
batch straight into typed columns with polars' JSON reader (Rust, no Python object per
value), reads JSON columns as the exact source text with msgspec, and keeps each record's
bytes as `_raw`. A batch polars cannot read as declared (a value of the wrong type, a record
spanning lines, invalid UTF-8) goes through the dict path instead, which names the
offending column.
"""

import functools
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
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


@dataclass(frozen=True)
class MemberPath:
    """The member ids a record lists (tag ids of a contact, admin ids of a team, ...) at a
    dotted path: objects (their `key`) or plain values (`key=None`)."""

    path: tuple[str, ...]
    key: str | None = "id"

    @functools.cached_property
    def _get(self) -> Callable[[Record], Any]:
        return _getter(self.path)

    def __call__(self, record: Record) -> list[Any]:
        items = self._get(record)
        if type(items) is not list:
            return []
        if self.key is None:
            return list(items)
        key = self.key
        return [item.get(key) for item in items if type(item) is dict]


def ids_at(path: str, key: str = "id") -> MemberPath:
    """Members read from a list of objects at a dotted path (`tags.tags` -> each `id`)."""
    return MemberPath(tuple(path.split(".")), key)


def values_at(path: str) -> MemberPath:
    """Members read from a list of plain values at a dotted path (`admin_ids`)."""
    return MemberPath(tuple(path.split(".")), None)


@dataclass(frozen=True)
class Link:
    """A link table of (parent id, member id) pairs, one set per parent record."""

    table: str
    parent: str
    """Column holding the parent's id (the parent key)."""
    member: str
    """Column holding the member's id."""
    members: MemberPath
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

    def rows_from_lists(
        self, parents: pl.Series, lists: pl.Series, full: Mapping[Any, Sequence[Any]] | None
    ) -> pl.DataFrame:
        """The link rows from decoded member lists (see `read_raw`), `full` as in `rows`."""
        member = self.members
        values = (
            lists if member.key is None else lists.list.eval(pl.element().struct.field(member.key))
        )
        pairs = pl.DataFrame({self.parent: parents, self.member: values})
        if full:
            pairs = pairs.filter(~pl.col(self.parent).is_in(list(full)))
        # empty and missing lists have no rows; a null inside a list stays (and is refused)
        rows = pairs.filter(pl.col(self.member).list.len() > 0).explode(self.member)
        if full:
            listed = [(parent, m) for parent, ids in full.items() for m in ids]
            extra = pl.DataFrame(
                {self.parent: [p for p, _ in listed], self.member: [m for _, m in listed]},
                schema={self.parent: pl.String, self.member: pl.String},
            )
            rows = pl.concat([rows, extra])
        return rows


RawRecord = bytes
"""One record's JSON text, as the API sent it."""


@dataclass(frozen=True)
class _RawPlan:
    """How to read a batch of raw records for a set of fields and links."""

    schema: dict[str, pl.DataType] | None
    """The polars reader's schema (nested structs), or None when the dict path must be taken
    (a computed field, or a path declared both as a value and as an object)."""
    json_decoder: msgspec.json.Decoder | None
    """Reads the JSON columns as raw text; None when there are none."""


@functools.lru_cache(maxsize=64)
def _raw_plan(fields: tuple[Field, ...], members: tuple[MemberPath, ...]) -> _RawPlan:
    if any(f.compute is not None for f in fields):
        return _RawPlan(None, None)
    tree: dict[str, Any] = {}
    try:
        for f in fields:
            if f.dtype is not JSON:
                _place(tree, f.path, INT if f.dtype == TIMESTAMP else f.dtype)
        for m in members:
            item = pl.String() if m.key is None else pl.Struct({m.key: pl.String()})
            _place(tree, m.path, pl.List(item))
    except ValueError:  # one path is both a value and an object: the dict path reads both
        return _RawPlan(None, None)
    json_paths = [f.path for f in fields if f.dtype is JSON]
    decoder = msgspec.json.Decoder(_json_struct(json_paths, "Json")) if json_paths else None
    return _RawPlan({k: _to_dtype(v) for k, v in tree.items()}, decoder)


def _place(tree: dict[str, Any], path: tuple[str, ...], dtype: pl.DataType) -> None:
    *parents, last = path
    node = tree
    for key in parents:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ValueError(f"{'.'.join(path)}: {key} is declared both as a value and an object")
        node = child
    if isinstance(node.get(last), dict):
        raise ValueError(f"{'.'.join(path)} is declared both as a value and an object")
    node[last] = dtype


def _to_dtype(node: Any) -> pl.DataType:
    if isinstance(node, dict):
        return pl.Struct({k: _to_dtype(v) for k, v in node.items()})
    return node


_NULL = msgspec.Raw(b"null")


def _json_struct(paths: Sequence[tuple[str, ...]], name: str) -> Any:
    """A msgspec struct reading the values at `paths` as raw JSON (absent or null: null)."""
    groups: dict[str, list[tuple[str, ...]]] = {}
    for path in paths:
        groups.setdefault(path[0], []).append(path[1:])
    members: list[tuple[str, Any, Any]] = []
    for key, rests in groups.items():
        if any(not rest for rest in rests):
            members.append((key, msgspec.Raw, _NULL))
        else:
            members.append((key, _json_struct(rests, f"{name}_{key}") | None, None))
    return msgspec.defstruct(name, members)


def _json_column(decoded: Sequence[Any], path: tuple[str, ...]) -> list[str | None]:
    values: list[str | None] = []
    append = values.append
    for item in decoded:
        value = item
        for key in path:
            value = getattr(value, key) if value is not None else None
        if value is None or value == _NULL:
            append(None)
        else:
            append(bytes(value).decode())
    return values


def _expr(path: tuple[str, ...]) -> pl.Expr:
    expr = pl.col(path[0])
    for key in path[1:]:
        expr = expr.struct.field(key)
    return expr


def read_raw(
    raws: Sequence[RawRecord], fields: Sequence[Field], members: Sequence[MemberPath] = ()
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """Typed columns of `fields` (plus `_raw`) and the decoded member lists, read straight
    from raw records; None when polars cannot read the batch as declared (see module doc).

    The second frame holds one list column per member path, named by its position.
    """
    plan = _raw_plan(tuple(fields), tuple(members))
    if plan.schema is None or not raws:
        return None
    lines = b"\n".join(raws)
    if lines.count(b"\n") != len(raws) - 1:
        return None  # a record holds a raw line break (pretty-printed JSON)
    try:
        decoded = pl.read_ndjson(lines, schema=plan.schema)
        raw = pl.Series("_raw", raws, dtype=pl.Binary).cast(pl.String)
        json_values = (
            [plan.json_decoder.decode(r) for r in raws] if plan.json_decoder is not None else []
        )
    except (pl.exceptions.PolarsError, msgspec.DecodeError, ValueError):
        return None
    if decoded.height != len(raws):
        return None
    expressions: list[pl.Expr] = []
    json_columns: dict[str, list[str | None]] = {}
    for f in fields:
        if f.dtype is JSON:
            json_columns[f.column] = _json_column(json_values, f.path)
            continue
        expr = _expr(f.path)
        if f.dtype == TIMESTAMP:
            expr = (expr * 1_000_000).cast(TIMESTAMP)
        expressions.append(expr.alias(f.column))
    typed = decoded.select(expressions)
    columns = [
        typed.get_column(f.column)
        if f.dtype is not JSON
        else pl.Series(f.column, json_columns[f.column], pl.String)
        for f in fields
    ]
    entity = pl.DataFrame([*columns, raw])
    lists = decoded.select(_expr(m.path).alias(str(n)) for n, m in enumerate(members))
    return entity, lists


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

    def frames_raw(
        self,
        raws: Sequence[RawRecord],
        full: Mapping[str, Mapping[Any, Sequence[Any]]] | None = None,
    ) -> tuple[dict[str, pl.DataFrame], dict[str, pl.Series]]:
        """`frames` for raw records (`Page.raw_items`); `_raw` is each record's own text."""
        read = read_raw(raws, self.fields, [link.members for link in self.links])
        if read is None:
            frames, parents = self.frames([orjson.loads(r) for r in raws], full)
            raw = pl.Series("_raw", raws, dtype=pl.Binary).cast(pl.String, strict=False)
            if raw.null_count() == 0:  # keep the source text where it is valid UTF-8
                frames[self.table] = frames[self.table].with_columns(raw)
            return frames, parents
        entity, lists = read
        frames = {self.table: entity}
        parents: dict[str, pl.Series] = {}
        ids = entity.get_column(self.key)
        for n, link in enumerate(self.links):
            listed = (full or {}).get(link.table)
            frames[link.table] = link.rows_from_lists(ids, lists.get_column(str(n)), listed)
            parents[link.table] = ids
        return frames, parents
