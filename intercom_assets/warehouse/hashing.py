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
import polars_hash  # noqa: F401  (registers the `nchash` namespace)

from .spec import HASH, JSONType, TableSpec, type_key

NULL_BYTES = "\x00"


def canonical_text(name: str, kind: str) -> pl.Expr:
    """The canonical text of a column of the given type key (see module doc)."""
    column = pl.col(name)
    if kind in ("string", "json"):
        return column
    if kind == "int64":
        return column.cast(pl.String)
    if kind == "float64":
        return column.reinterpret(signed=True).cast(pl.String)
    if kind == "boolean":
        return column.cast(pl.Int8).cast(pl.String)
    if kind == "timestamp":
        return column.dt.epoch("us").cast(pl.String)
    raise ValueError(f"no canonical text for {kind!r}")


def hashed_columns(spec: TableSpec) -> list[tuple[str, str]]:
    """(name, type key) of the columns that make the row hash, in hash order."""
    columns = [(c.name, type_key(c.dtype)) for c in spec.columns]
    if spec.has_raw:
        columns.append(("_raw", type_key(JSONType())))
    return columns


def row_hash(spec: TableSpec) -> pl.Expr:
    """Expression for the `_hash` column (Int64) of a frame that fits `spec`."""
    parts = []
    for seed, (name, kind) in enumerate(hashed_columns(spec)):
        text = canonical_text(name, kind).fill_null(NULL_BYTES)
        parts.append(text.nchash.xxh3_64(seed=seed))
    combined = functools.reduce(operator.xor, parts)
    return combined.reinterpret(signed=True).alias(HASH)
