"""Shaping API records into table frames: declare each column once, read every batch one way.

A stream declares its columns as `Field`s (column name, type, where the value sits in the
record). From them come both the warehouse `TableSpec` and the frames of a batch.

Every batch is a list of raw records (each record's JSON bytes, as `Page.raw_items` carries
them; records built in Python are encoded first, see `encode`). One reader turns a batch
into typed columns: polars' JSON reader under a schema derived from the fields (nested
structs; link member lists as list columns), unix-second timestamps become
`Datetime(us, UTC)`, JSON columns hold the exact source text of their value (read with
msgspec as raw JSON), derived columns are polars expressions over the decoded record, and
`_raw` keeps each record's own text.

A batch the reader cannot take as declared (a value of another type than its column's, a
record that is not valid UTF-8 or not JSON) is refused with a `ShapeError` naming the table,
the record's id and the column: nothing of that batch is written. `Shape.fitted` instead
gives the frames of the records that fit and the `Misfit`s (each with the same one-line
error, and also a null key), which a stream quarantines while the rest load. Numbers and
booleans in a text column are kept as their JSON text.
"""

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import msgspec
import polars as pl

from intercom_assets.warehouse import JSON as JSON  # re-exported: the streams' vocabulary
from intercom_assets.warehouse import Column, TableSpec
from intercom_assets.warehouse.spec import ColumnType, frame_dtype

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
        self, parents: pl.Series, lists: pl.Series, full: Mapping[Any, Sequence[Any]] | None
    ) -> pl.DataFrame:
        """The link rows of the records `parents`, from their decoded member `lists`; `full`
        replaces a record's own list (`{parent id: every member}`) where it has one."""
        values = (
            lists
            if self.members.key is None
            else lists.list.eval(pl.element().struct.field(self.members.key))
        )
        pairs = pl.DataFrame({self.parent: parents, self.member: values})
        if full:
            pairs = pairs.filter(~pl.col(self.parent).is_in(list(full)))
        # empty and missing lists have no rows; a null inside a list stays (and is refused)
        rows = pairs.filter(pl.col(self.member).list.len() > 0).explode(self.member)
        if full:
            listed = [(parent, m) for parent, ids in full.items() for m in ids]
            extra = pl.DataFrame(
                {self.parent: [str(p) for p, _ in listed], self.member: [m for _, m in listed]},
                schema={self.parent: pl.String, self.member: pl.String},
                strict=False,
            )
            rows = pl.concat([rows, extra])
        return rows


@dataclass(frozen=True)
class _Plan:
    """How to read a batch for a set of fields and member lists."""

    schema: dict[str, pl.DataType]
    """The polars reader's schema: nested structs, member lists as list columns."""
    json_decoder: msgspec.json.Decoder[Any] | None
    """Reads the JSON columns as raw text; None when there are none."""


_DtypeTree: TypeAlias = dict[str, "_DtypeTree | pl.DataType"]
"""The reader's schema being built: a name maps to a column type or to a nested object."""


@functools.lru_cache(maxsize=128)
def _plan(fields: tuple[Field, ...], members: tuple[MemberPath, ...]) -> _Plan:
    tree: _DtypeTree = {}
    for f in fields:
        if f.derive is None and f.dtype is not JSON:
            _place(tree, f.path, INT if f.dtype == TIMESTAMP else frame_dtype(f.dtype))
    for m in members:
        item = pl.String() if m.key is None else pl.Struct({m.key: pl.String()})
        _place(tree, m.path, pl.List(item))
    json_paths = [f.path for f in fields if f.dtype is JSON]
    decoder = msgspec.json.Decoder(_json_struct(json_paths, "Json")) if json_paths else None
    return _Plan({k: _to_dtype(v) for k, v in tree.items()}, decoder)


def _place(tree: _DtypeTree, path: tuple[str, ...], dtype: pl.DataType) -> None:
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


def _to_dtype(node: "_DtypeTree | pl.DataType") -> pl.DataType:
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


def _one_line(raw: RawRecord) -> RawRecord:
    """The record on one line (the reader takes one record per line)."""
    if b"\n" not in raw and b"\r" not in raw:
        return raw
    return _ENCODE.encode(msgspec.json.decode(raw))


def _read(
    table: str,
    raws: Sequence[RawRecord],
    fields: tuple[Field, ...],
    members: tuple[MemberPath, ...],
    *,
    explain: bool = True,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Typed columns of `fields` plus `_raw`, and one list column per member path (named by
    its position); raises `ShapeError` for a batch that cannot be read as declared (naming
    the record and column, found by reading record by record, unless `explain=False`)."""
    plan = _plan(fields, members)
    if not raws:
        return _empty(fields), pl.DataFrame()
    try:
        lines = b"\n".join(_one_line(r) for r in raws)
        decoded = pl.read_ndjson(lines, schema=plan.schema)
        raw = pl.Series("_raw", raws, dtype=pl.Binary).cast(pl.String)
        json_values = (
            [plan.json_decoder.decode(r) for r in raws] if plan.json_decoder is not None else []
        )
        typed = decoded.select(
            _column_expr(f) for f in fields if f.dtype is not JSON or f.derive is not None
        )
    except (pl.exceptions.PolarsError, msgspec.DecodeError, ValueError) as exc:
        if not explain:
            raise ShapeError(f"{table}: {_first_line(exc)}") from exc
        raise _explain(table, raws, fields, plan, exc) from exc
    if decoded.height != len(raws):
        raise ShapeError(f"{table}: {len(raws)} records read as {decoded.height} rows")
    columns = [
        pl.Series(f.column, _json_column(json_values, f.path), pl.String)
        if f.dtype is JSON and f.derive is None
        else typed.get_column(f.column)
        for f in fields
    ]
    lists = decoded.select(_expr(m.path).alias(str(n)) for n, m in enumerate(members))
    return pl.DataFrame([*columns, raw]), lists


def _column_expr(f: Field) -> pl.Expr:
    expr = f.derive() if f.derive is not None else _expr(f.path)
    if f.dtype == TIMESTAMP:
        expr = (expr * 1_000_000).cast(TIMESTAMP)
    return expr.cast(frame_dtype(f.dtype)).alias(f.column)


def _empty(fields: Sequence[Field]) -> pl.DataFrame:
    schema = {f.column: frame_dtype(f.dtype) for f in fields}
    return pl.DataFrame(schema={**schema, "_raw": pl.String()})


def _explain(
    table: str,
    raws: Sequence[RawRecord],
    fields: tuple[Field, ...],
    plan: _Plan,
    error: Exception,
) -> ShapeError:
    """Which record and which column of a refused batch (read one record at a time)."""
    for raw in raws:
        found = _diagnose(table, raw, fields, plan)
        if found is not None:
            return ShapeError(found[1])
    return ShapeError(f"{table}: the batch cannot be read as declared: {_first_line(error)}")


def _diagnose(
    table: str, raw: RawRecord, fields: tuple[Field, ...], plan: _Plan
) -> tuple[str, str] | None:
    """(the dotted path at fault, one line naming table, record, path and column) for a
    record its table cannot hold, else None. The path is "" when the record is not JSON."""
    try:
        record = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        return "", f"{table}: a record is not valid JSON ({exc}): {raw[:80]!r}"
    key = record.get("id") if isinstance(record, dict) else None
    line = _ENCODE.encode(record)
    for f in fields:
        if f.derive is not None or f.dtype is JSON:
            continue
        try:
            pl.read_ndjson(line, schema={f.path[0]: plan.schema[f.path[0]]}).select(_column_expr(f))
        except (pl.exceptions.PolarsError, ValueError) as exc:
            at, value = _value_at(record, f.path)
            path = ".".join(f.path)
            note = "" if at == f.path else f" (not an object holding {path})"
            return path, (
                f"{table}: record {key!r} has {'.'.join(at) or 'itself'} = {value!r}{note},"
                f" which column {f.column!r} ({f.dtype!r}) cannot hold ({_first_line(exc)})"
            )
    return None


def key_of(raw: RawRecord, key: str) -> Any:
    """A record's key, or None (absent, null, or the record is not a JSON object)."""
    try:
        record = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
    return record.get(key) if isinstance(record, dict) else None


def _value_at(record: Any, path: tuple[str, ...]) -> tuple[tuple[str, ...], Any]:
    """The value received along `path`: the path as far as the record has objects, and the
    value there (`("tags",), "oops"` for a `tags` of "oops" where `tags.total_count` is read)."""
    for depth, key in enumerate(path):
        if not isinstance(record, dict):
            return path[:depth], record
        record = record.get(key)
    return path, record


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


@dataclass(frozen=True)
class Misfit:
    """A record its table cannot hold (see `Shape.sort`)."""

    key: Any
    """The record's key, None when it has none (or is not a JSON object)."""
    field: str
    """The dotted path of the value at fault ("" when the record is not JSON)."""
    error: str
    """One line naming the table, the record, the path and the column."""
    raw: RawRecord


def _unreadable(
    table: str,
    raws: Sequence[RawRecord],
    fields: tuple[Field, ...],
    members: tuple[MemberPath, ...],
) -> list[int]:
    """The positions of the records the reader refuses, found by halving the batch (a few
    reads per bad record, one read for a batch without any)."""

    def readable(lo: int, hi: int) -> bool:
        try:
            _read(table, raws[lo:hi], fields, members, explain=False)
        except ShapeError:
            return False
        return True

    bad: list[int] = []

    def narrow(lo: int, hi: int) -> None:  # raws[lo:hi] is refused
        if hi - lo == 1:
            bad.append(lo)
            return
        mid = (lo + hi) // 2
        left, right = readable(lo, mid), readable(mid, hi)
        if left and right:  # refused only together: no record can be blamed
            _read(table, raws[lo:hi], fields, members)  # raises the batch's ShapeError
        if not left:
            narrow(lo, mid)
        if not right:
            narrow(mid, hi)

    if raws and not readable(0, len(raws)):
        narrow(0, len(raws))
    return bad


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
        raws: Sequence[RawRecord],
        full: Mapping[str, Mapping[Any, Sequence[Any]]] | None = None,
    ) -> tuple[dict[str, pl.DataFrame], dict[str, pl.Series]]:
        """Frames per table, plus the parents each link frame covers (every record's id).

        `full` maps a link table to `{parent id: every member}` for records whose embedded
        list is incomplete (Intercom embeds at most 10 items).
        """
        members = tuple(link.members for link in self.links)
        entity, lists = _read(self.table, raws, self.fields, members)
        return self._link(entity, lists, full)

    def _link(
        self,
        entity: pl.DataFrame,
        lists: pl.DataFrame,
        full: Mapping[str, Mapping[Any, Sequence[Any]]] | None,
    ) -> tuple[dict[str, pl.DataFrame], dict[str, pl.Series]]:
        frames = {self.table: entity}
        parents: dict[str, pl.Series] = {}
        ids = entity.get_column(self.key)
        for n, link in enumerate(self.links):
            listed = (full or {}).get(link.table)
            if lists.width:
                frames[link.table] = link.rows(ids, lists.get_column(str(n)), listed)
            else:
                frames[link.table] = _empty(link.fields).drop("_raw")
            parents[link.table] = ids
        return frames, parents

    def fitted(
        self,
        raws: Sequence[RawRecord],
        full: Mapping[str, Mapping[Any, Sequence[Any]]] | None = None,
    ) -> tuple[dict[str, pl.DataFrame], dict[str, pl.Series], list[Misfit]]:
        """`frames` of the records the tables can hold, and the `Misfit`s: records with a
        value of another type than its column's, that are not JSON, or with a null (or
        absent) value in a column declared non-nullable (the key). One read of the batch
        when every record fits; `full`'s lists of misfits are left out."""
        fields, members = self.fields, tuple(link.members for link in self.links)
        misfits: dict[int, Misfit] = {}
        try:
            entity, lists = _read(self.table, raws, fields, members, explain=False)
            kept = list(range(len(raws)))
        except ShapeError:
            plan = _plan(fields, members)
            for n in _unreadable(self.table, raws, fields, members):
                found = _diagnose(self.table, raws[n], fields, plan)
                path, error = found or ("", f"{self.table}: a record cannot be read as declared")
                misfits[n] = Misfit(key_of(raws[n], self.key), path, error, raws[n])
            kept = [n for n in range(len(raws)) if n not in misfits]
            entity, lists = _read(self.table, [raws[n] for n in kept], fields, members)
        unfit = pl.repeat(False, entity.height, eager=True)
        for f in fields:
            if f.nullable:
                continue
            nulls = entity.get_column(f.column).is_null()
            for row in nulls.arg_true().to_list():
                n = kept[row]
                key = key_of(raws[n], self.key)
                path = ".".join(f.path) or f.column
                who = f"record {key!r}" if key is not None else "a record"
                why = "it cannot be keyed" if f.column == self.key else "it is required"
                error = (
                    f"{self.table}: {who} has no {path} (null or absent), which column"
                    f" {f.column!r} (not null) cannot hold: {why}"
                )
                misfits.setdefault(n, Misfit(key, path, error, raws[n]))
            unfit = unfit | nulls
        if unfit.any():
            entity, lists = entity.filter(~unfit), lists.filter(~unfit) if lists.width else lists
        if misfits and full:
            ids = set(entity.get_column(self.key).cast(pl.String).to_list())
            full = {
                table: {p: m for p, m in listed.items() if str(p) in ids}
                for table, listed in full.items()
            }
        frames, parents = self._link(entity, lists, full)
        return frames, parents, [misfits[n] for n in sorted(misfits)]

    def read(self, raws: Sequence[RawRecord]) -> pl.DataFrame:
        """The entity frame alone (typed columns and `_raw`)."""
        return _read(self.table, raws, self.fields, ())[0]
