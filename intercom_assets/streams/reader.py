"""Reading a batch of raw records into typed columns, and telling which record and column a
refused batch is at fault for (see `shape` for the whole picture)."""

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import msgspec
import polars as pl

from intercom_assets.warehouse import JSON
from intercom_assets.warehouse.spec import frame_dtype

from .fields import INT, TIMESTAMP, Field, MemberPath, RawRecord, ShapeError

_ENCODE = msgspec.json.Encoder()


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
def read_plan(fields: tuple[Field, ...], members: tuple[MemberPath, ...]) -> _Plan:
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


def read(
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
    plan = read_plan(fields, members)
    if not raws:
        return empty_frame(fields), pl.DataFrame()
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


def empty_frame(fields: Sequence[Field]) -> pl.DataFrame:
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
        found = diagnose(table, raw, fields, plan)
        if found is not None:
            return ShapeError(found[1])
    return ShapeError(f"{table}: the batch cannot be read as declared: {_first_line(error)}")


def diagnose(
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


def unreadable(
    table: str,
    raws: Sequence[RawRecord],
    fields: tuple[Field, ...],
    members: tuple[MemberPath, ...],
) -> list[int]:
    """The positions of the records the reader refuses, found by halving the batch (a few
    reads per bad record, one read for a batch without any)."""

    def readable(lo: int, hi: int) -> bool:
        try:
            read(table, raws[lo:hi], fields, members, explain=False)
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
            read(table, raws[lo:hi], fields, members)  # raises the batch's ShapeError
        if not left:
            narrow(lo, mid)
        if not right:
            narrow(mid, hi)

    if raws and not readable(0, len(raws)):
        narrow(0, len(raws))
    return bad
