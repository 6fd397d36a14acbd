"""The diff: a batch against the stored snapshot of the same keys. Pure polars, no database."""

from dataclasses import dataclass

import polars as pl

from .history import CHANGE, INSERTED, REVIVED, UPDATED
from .spec import HASH, TableSpec

DELETED = "_deleted"
STORED_HASH = "_stored_hash"


@dataclass(frozen=True)
class EntityDiff:
    """Which batch rows to write, and how many fell in each class."""

    to_write: pl.DataFrame
    changes: pl.DataFrame
    """The key and `_change` (inserted, updated or revived) of every row to write."""
    inserted: int
    updated: int
    unchanged: int
    revived: int


@dataclass(frozen=True)
class ChildDiff:
    """Parents whose stored row set differs from the batch, and the rows that replace it."""

    changed_parents: pl.Series
    to_insert: pl.DataFrame
    to_delete: int
    unchanged: int


def diff_entities(spec: TableSpec, batch: pl.DataFrame, stored: pl.DataFrame) -> EntityDiff:
    """Split a hashed batch into inserted / updated / unchanged / revived.

    `stored` holds the key, `_hash` and `_deleted` (bool) of stored rows with those keys.
    Revived rows (stored with `_deleted_at` set) are written whether or not they changed.
    """
    key = spec.key
    status = batch.select(key, HASH).join(
        stored.select(key, pl.col(HASH).alias(STORED_HASH), DELETED), on=key, how="left"
    )
    is_new = pl.col(STORED_HASH).is_null()
    is_revived = ~is_new & pl.col(DELETED)
    is_updated = ~is_new & ~pl.col(DELETED) & (pl.col(HASH) != pl.col(STORED_HASH))
    counts = status.select(
        inserted=is_new.sum(), revived=is_revived.sum(), updated=is_updated.sum()
    ).row(0, named=True)
    kind = (
        pl.when(is_new)
        .then(pl.lit(INSERTED))
        .when(is_revived)
        .then(pl.lit(REVIVED))
        .otherwise(pl.lit(UPDATED))
    )
    changes = status.filter(is_new | is_revived | is_updated).select(key, kind.alias(CHANGE))
    to_write = batch.join(changes, on=key, how="semi", maintain_order="left")
    unchanged = batch.height - to_write.height
    return EntityDiff(
        to_write, changes, counts["inserted"], counts["updated"], unchanged, counts["revived"]
    )


def diff_children(spec: TableSpec, batch: pl.DataFrame, stored: pl.DataFrame) -> ChildDiff:
    """Find the covered parents whose row set changed.

    `batch` holds the new rows of the covered `parents` (a covered parent without rows now
    has none); `stored` holds the keys, parent and `_hash` of their stored rows.
    """
    parent = spec.parent_key
    assert parent is not None
    match_on = list(dict.fromkeys([*spec.primary_key, parent, HASH]))
    new_only = batch.select(match_on).join(stored.select(match_on), on=match_on, how="anti")
    gone = stored.select(match_on).join(batch.select(match_on), on=match_on, how="anti")
    changed = pl.concat([new_only.get_column(parent), gone.get_column(parent)]).unique()
    changed_frame = changed.to_frame(parent)
    to_insert = batch.join(changed_frame, on=parent, how="semi", maintain_order="left")
    to_delete = stored.join(changed_frame, on=parent, how="semi").height
    return ChildDiff(changed, to_insert, to_delete, batch.height - to_insert.height)
