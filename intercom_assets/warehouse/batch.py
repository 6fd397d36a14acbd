"""A batch before its transaction: every frame checked against its spec and hashed, the
parents it covers and the rows it keeps resolved, its state encoded, its rejected records
checked. A bad input raises WarehouseInputError here, before anything is written."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from .errors import WarehouseInputError
from .frames import conform
from .reads import key_frame
from .rejected import Rejections
from .schema import Schema
from .spec import TableSpec
from .state import StateUpdate

Parents = Mapping[str, pl.Series | Sequence[Any]]
Keep = Mapping[str, pl.Series | Sequence[Any]]


@dataclass(frozen=True)
class PreparedTable:
    """One validated, hashed frame of a batch."""

    spec: TableSpec
    rows: pl.DataFrame
    duplicates: int
    covered: pl.DataFrame | None
    """Link/child tables: the parents whose rows the frame holds."""
    kept: pl.DataFrame | None = None
    """Child tables: keys of stored rows that stay although their parent is covered."""


@dataclass(frozen=True)
class Batch:
    """A validated, hashed batch waiting for its transaction."""

    tables: dict[str, PreparedTable]
    state: tuple[str, pl.DataFrame] | None
    rejections: Rejections | None = None


def prepare_batch(
    schema: Schema,
    frames: Mapping[str, pl.DataFrame],
    parents: Parents | None,
    state: StateUpdate | None,
    keep: Keep | None = None,
    rejections: Rejections | None = None,
) -> Batch:
    """The batch of `Writer.write`'s arguments (see there)."""
    parents, keep = parents or {}, keep or {}
    prepared = {
        table: _prepare(schema.spec(table), frame, parents, keep) for table, frame in frames.items()
    }
    for table in (*parents, *keep):
        if table not in frames:
            raise WarehouseInputError(f"{table}: parents or kept rows given without a frame")
    if rejections is not None:
        if not isinstance(rejections, Rejections):
            kind = type(rejections).__name__
            raise WarehouseInputError(f"rejections must be Rejections, got {kind}")
        rejections.check()
    return Batch(prepared, encode_state(state), rejections or None)


def _prepare(spec: TableSpec, frame: pl.DataFrame, parents: Parents, keep: Keep) -> PreparedTable:
    table = spec.name
    conformed = conform(spec, frame)
    covered = kept = None
    if spec.parent_key is None:
        if table in parents or table in keep:
            raise WarehouseInputError(f"{table}: parents apply to link/child tables only")
    else:
        given = key_frame(spec, spec.parent_key, parents.get(table, []))
        in_frame = conformed.frame.select(spec.parent_key)
        covered = pl.concat([given, in_frame]).unique(maintain_order=True)
    if table in keep:
        if len(spec.primary_key) != 1 or spec.parent_key in spec.primary_key:
            raise WarehouseInputError(f"{table}: kept rows apply to child tables keyed by id")
        key = spec.primary_key[0]
        kept = key_frame(spec, key, keep[table]).join(
            conformed.frame.select(key), on=key, how="anti"
        )
    return PreparedTable(spec, conformed.frame, conformed.duplicates, covered, kept)


def encode_state(update: StateUpdate | None) -> tuple[str, pl.DataFrame] | None:
    """A state update as its stream and `key`, `value` (JSON text) rows."""
    if update is None:
        return None
    if not isinstance(update, StateUpdate):
        raise WarehouseInputError(f"state must be a StateUpdate, got {type(update).__name__}")
    return update.stream, update.encoded()
