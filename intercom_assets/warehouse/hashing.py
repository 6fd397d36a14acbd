"""A stable content hash per row, computed with polars expressions (no Python callbacks).

Canonical encoding (version 1). For the i-th hashed column (0-based; the spec's columns in
declared order, then `_raw` when the table has it), take the value's canonical UTF-8 text:

- String and JSON: the text itself
- Int64: decimal digits, e.g. `-42`
- Float64: the IEEE-754 bit pattern read as a signed 64-bit integer, in decimal
- Boolean: `1` or `0`
- Datetime(us, UTC): microseconds since the Unix epoch, in decimal

and hash it with XXH3-64 seeded with i; a null hashes the single byte `\\x00` with seed i
(stored text never contains NUL). The row hash is the XOR of the column hashes, read as a
signed 64-bit integer (stored as `bigint`). XXH3 is a fixed, versioned algorithm and the
`polars-hash` plugin implements it, so the hash is the same in every process, on every
machine and under every polars version (polars' own `hash`/`hash_rows` are not).

Column names are not hashed, positions are: appending a column to a spec changes every
row's hash once, so the next write fills the new column.
"""

import functools
import operator

import polars as pl
import pyarrow as pa
from polars_hash import NonCryptographicHashingNameSpace as NCHash

from .spec import HASH, JSONType, TableSpec, type_key

NULL_BYTES = "\x00"


def canonical_text(name: str, kind: str) -> pl.Expr:
    """The canonical text of a column of the given type key (see module doc).

    Float64 columns must already hold their bit patterns (see `float_bits`).
    """
    column = pl.col(name)
    if kind in ("string", "json"):
        return column
    if kind in ("int64", "float64"):
        return column.cast(pl.String)
    if kind == "boolean":
        return column.cast(pl.Int8).cast(pl.String)
    if kind == "timestamp":
        return column.dt.epoch("us").cast(pl.String)
    raise ValueError(f"no canonical text for {kind!r}")


def float_bits(series: pl.Series) -> pl.Series:
    """The IEEE-754 bit patterns of a Float64 series as Int64 (a zero-copy Arrow view).

    polars has no float-to-bits expression (`reinterpret` leaves floats alone).
    """
    return pl.Series(series.name, series.to_arrow().view(pa.int64()), dtype=pl.Int64)


def hashed_columns(spec: TableSpec) -> list[tuple[str, str]]:
    """(name, type key) of the columns that make the row hash, in hash order."""
    columns = [(c.name, type_key(c.dtype)) for c in spec.columns]
    if spec.has_raw:
        columns.append(("_raw", type_key(JSONType())))
    return columns


def with_row_hash(spec: TableSpec, frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` (typed for `spec`) with its `_hash` column (Int64) appended."""
    columns = hashed_columns(spec)
    floats = {
        name: float_bits(frame.get_column(name)) for name, kind in columns if kind == "float64"
    }
    source = frame.with_columns(**floats) if floats else frame
    # one expression per column (polars runs them in parallel), then the XOR: a single nested
    # expression would hash the columns one after another (measured in docs/warehouse.md)
    parts = source.select(
        NCHash(canonical_text(name, kind).fill_null(NULL_BYTES)).xxh3_64(seed=seed).alias(str(seed))
        for seed, (name, kind) in enumerate(columns)
    )
    combined = functools.reduce(operator.xor, [pl.col(c) for c in parts.columns])
    hashes = parts.select(combined.reinterpret(signed=True).alias(HASH)).get_column(HASH)
    return frame.with_columns(hashes)
