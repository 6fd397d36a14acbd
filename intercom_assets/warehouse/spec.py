"""Table specs: what a table holds, declared once and used for DDL, validation and hashing."""

from dataclasses import dataclass, field

import polars as pl

# Meta columns the warehouse manages. `_raw` is supplied by the caller.
RAW = "_raw"
HASH = "_hash"
SYNCED_AT = "_synced_at"
DELETED_AT = "_deleted_at"
META_COLUMNS = (RAW, HASH, SYNCED_AT, DELETED_AT)

UTC_MICROS = pl.Datetime("us", "UTC")


class JSONType:
    """Marker type for a JSON column: the frame holds compact JSON text (polars String).

    Stored as `jsonb` in PostgreSQL and `JSON` in DuckDB.
    """

    def __repr__(self) -> str:
        return "JSON"


JSON = JSONType()

ColumnType = pl.DataType | type[pl.DataType] | JSONType
SUPPORTED_TYPES = "String, Int64, Float64, Boolean, Datetime('us', 'UTC') or JSON"


def frame_dtype(dtype: ColumnType) -> pl.DataType:
    """The polars dtype a frame column of this type must have."""
    if isinstance(dtype, JSONType):
        return pl.String()
    resolved = dtype() if isinstance(dtype, type) else dtype
    if resolved == pl.Datetime:
        return UTC_MICROS
    return resolved


def type_key(dtype: ColumnType) -> str:
    """A short name for a column type: string, int64, float64, boolean, timestamp or json."""
    if isinstance(dtype, JSONType):
        return "json"
    resolved = frame_dtype(dtype)
    if resolved == pl.String:
        return "string"
    if resolved == pl.Int64:
        return "int64"
    if resolved == pl.Float64:
        return "float64"
    if resolved == pl.Boolean:
        return "boolean"
    if resolved == UTC_MICROS:
        return "timestamp"
    raise ValueError(f"unsupported column type {dtype!r}: use {SUPPORTED_TYPES}")


@dataclass(frozen=True)
class Column:
    """One declared column. `nullable=False` makes a null an input error."""

    name: str
    dtype: ColumnType
    nullable: bool = True

    def __post_init__(self) -> None:
        if not self.name or self.name.startswith("_"):
            raise ValueError(f"column name {self.name!r} must be non-empty and not start with '_'")
        type_key(self.dtype)  # raises on an unsupported type


@dataclass(frozen=True)
class TableSpec:
    """A table: its columns, primary key and, for a link or child table, its parent key.

    - Entity table (`parent_key=None`): single-column primary key; gets `_raw`, `_hash`,
      `_synced_at` and `_deleted_at`. Rows are upserted when their content hash changes and
      soft-deleted when a complete snapshot misses them.
    - Link/child table (`parent_key` set): the rows of one parent form a set that is replaced
      as a whole when it differs from the stored set. Gets `_hash` and `_synced_at`, plus
      `_raw` when `raw=True`.
    """

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    parent_key: str | None = None
    raw: bool | None = None
    _names: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.columns))
        object.__setattr__(self, "primary_key", tuple(self.primary_key))
        names = [c.name for c in self.columns]
        if not self.name or self.name.startswith("_"):
            raise ValueError(f"table name {self.name!r} must be non-empty and not start with '_'")
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name!r} declares a column twice")
        object.__setattr__(self, "_names", frozenset(names))
        if not self.primary_key:
            raise ValueError(f"table {self.name!r} needs a primary key")
        for key in (*self.primary_key, *([self.parent_key] if self.parent_key else [])):
            if key not in self._names:
                raise ValueError(f"table {self.name!r}: key column {key!r} is not declared")
        if self.parent_key is None and len(self.primary_key) != 1:
            raise ValueError(f"entity table {self.name!r} needs a single-column primary key")

    @property
    def is_entity(self) -> bool:
        """True for an entity table (soft deletes, upserts by id)."""
        return self.parent_key is None

    @property
    def has_raw(self) -> bool:
        """Whether rows carry the whole source record in `_raw`."""
        return self.is_entity if self.raw is None else self.raw

    @property
    def key(self) -> str:
        """The single primary-key column of an entity table."""
        return self.primary_key[0]

    @property
    def column_names(self) -> tuple[str, ...]:
        """The declared column names, in order."""
        return tuple(c.name for c in self.columns)

    def meta_columns(self) -> tuple[str, ...]:
        """The meta columns this table has, in storage order."""
        meta = [RAW] if self.has_raw else []
        meta += [HASH, SYNCED_AT]
        if self.is_entity:
            meta.append(DELETED_AT)
        return tuple(meta)

    def stored_columns(self) -> tuple[str, ...]:
        """All columns of the stored table, in order."""
        return (*self.column_names, *self.meta_columns())

    def column(self, name: str) -> Column:
        """The declared column with this name."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def with_columns(self, *more: Column) -> "TableSpec":
        """The same spec with more columns (what a growing spec looks like)."""
        columns = (*self.columns, *more)
        return TableSpec(self.name, columns, self.primary_key, self.parent_key, self.raw)
