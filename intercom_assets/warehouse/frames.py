"""Checking a caller's frame against its table spec, before anything is written."""

from dataclasses import dataclass

import polars as pl

from .errors import WarehouseInputError
from .hashing import with_row_hash
from .spec import RAW, TableSpec, frame_dtype


@dataclass(frozen=True)
class ConformedFrame:
    """A frame in storage column order, typed, deduplicated and hashed."""

    frame: pl.DataFrame
    duplicates: int


def conform(spec: TableSpec, frame: pl.DataFrame) -> ConformedFrame:
    """Validate, cast, deduplicate (last row per key wins) and hash a frame for `spec`.

    Raises WarehouseInputError naming the table and column when a declared column is
    missing, an undeclared column is present, a value cannot be cast to its declared type,
    or a key / non-nullable column holds a null.
    """
    if not isinstance(frame, pl.DataFrame):
        raise WarehouseInputError(f"{spec.name}: expected a polars DataFrame, got {type(frame)}")
    expected = [*spec.column_names, *([RAW] if spec.has_raw else [])]
    missing = [name for name in expected if name not in frame.columns]
    if missing:
        raise WarehouseInputError(f"{spec.name}: frame is missing column(s) {missing}")
    extra = [name for name in frame.columns if name not in expected]
    if extra:
        raise WarehouseInputError(
            f"{spec.name}: frame has undeclared column(s) {extra}; declare them in the spec"
        )
    casts = [_cast(spec, name, frame) for name in spec.column_names]
    if spec.has_raw:
        casts.append(_cast_to(spec.name, RAW, frame, pl.String()))
    typed = pl.DataFrame(casts)
    _check_nulls(spec, typed)
    deduped = typed.unique(subset=list(spec.primary_key), keep="last", maintain_order=True)
    hashed = with_row_hash(spec, deduped)
    return ConformedFrame(hashed, typed.height - deduped.height)


def _cast(spec: TableSpec, name: str, frame: pl.DataFrame) -> pl.Series:
    return _cast_to(spec.name, name, frame, frame_dtype(spec.column(name).dtype))


def _cast_to(table: str, name: str, frame: pl.DataFrame, dtype: pl.DataType) -> pl.Series:
    series = frame.get_column(name)
    if series.dtype == dtype:
        return series
    if series.dtype == pl.Null:
        return series.cast(dtype)
    try:
        if isinstance(dtype, pl.Datetime) and isinstance(series.dtype, pl.Datetime):
            if series.dtype.time_zone is None:
                return series.dt.replace_time_zone("UTC").cast(dtype)
            return series.dt.convert_time_zone("UTC").cast(dtype)
        return series.cast(dtype, strict=True)
    except (pl.exceptions.PolarsError, TypeError, ValueError) as exc:
        raise WarehouseInputError(
            f"{table}.{name}: cannot cast {series.dtype} to {dtype}: {exc}"
        ) from exc


def _check_nulls(spec: TableSpec, typed: pl.DataFrame) -> None:
    required = {*spec.primary_key, *([spec.parent_key] if spec.parent_key else [])}
    required |= {c.name for c in spec.columns if not c.nullable}
    for name in [n for n in spec.column_names if n in required]:
        nulls = typed.get_column(name).null_count()
        if nulls:
            raise WarehouseInputError(f"{spec.name}.{name}: {nulls} null value(s) in a key column")
