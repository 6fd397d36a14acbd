"""Writing link/child tables: a frame holds the new rows of the parents it covers, and only
the parents whose stored set of rows differs are rewritten (their rows deleted, the frame's
inserted); rows the caller keeps stay (see `Writer.write`)."""

from datetime import datetime

import polars as pl

from .batch import PreparedTable
from .database import Database
from .diff import diff_children
from .results import TableCounts
from .session import Session
from .spec import HASH, SYNCED_AT, UTC_MICROS, TableSpec, frame_dtype
from .sql import quote


def write_children(s: Session, db: Database, table: PreparedTable, now: datetime) -> TableCounts:
    """Replace the stored rows of the parents the frame covers whose set of rows changed:
    delete them, insert the frame's (see `Writer.write`)."""
    spec, batch, covered = table.spec, table.rows, table.covered
    parent = spec.parent_key
    assert parent is not None and covered is not None
    if covered.height == 0:
        return TableCounts(duplicates=table.duplicates)
    target, dialect = db.table(spec.name), db.backend.dialect
    keys = list(dict.fromkeys([*spec.primary_key, parent]))
    schema = {k: frame_dtype(spec.column(k).dtype) for k in keys} | {HASH: pl.Int64()}
    parent_type = dialect.column_type(spec, parent)
    condition, params = s.key_filter(f"t.{quote(parent)}", covered.get_column(parent), parent_type)
    stored = s.query(
        f"SELECT {', '.join(f't.{quote(c)} AS {quote(c)}' for c in schema)}"
        f" FROM {target} AS t WHERE {condition}",
        params,
        schema=schema,
    )
    kept = table.kept
    if kept is not None:  # stored rows that stay: not part of their parent's set
        kept = stored.join(kept, on=kept.columns, how="semi").select(kept.columns)
        stored = stored.join(kept, on=kept.columns, how="anti")
    diff = diff_children(spec, batch, stored)
    moved = 0
    if diff.changed_parents.len():
        # only parents with stored rows have rows to delete (new parents have none)
        doomed = diff.changed_parents.filter(
            diff.changed_parents.is_in(stored.get_column(parent).implode())
        )
        if doomed.len():
            condition, params = s.key_filter(f"t.{quote(parent)}", doomed, parent_type)
            if kept is not None and kept.height:
                key = kept.columns[0]
                key_type = dialect.column_type(spec, key)
                spared, more = s.key_filter(f"t.{quote(key)}", kept.get_column(key), key_type)
                condition, params = f"{condition} AND NOT {spared}", [*params, *more]
            s.execute(f"DELETE FROM {target} AS t WHERE {condition}", params)
        if diff.to_insert.height:
            moved = _delete_moved(s, db, spec, diff.to_insert, stored)
            rows = diff.to_insert.with_columns(
                pl.lit(now, dtype=UTC_MICROS).alias(SYNCED_AT)
            ).select(spec.stored_columns())
            s.append(target, rows, {c: dialect.column_type(spec, c) for c in rows.columns})
    return TableCounts(
        inserted=diff.to_insert.height,
        deleted=diff.to_delete + moved,
        unchanged=diff.unchanged,
        duplicates=table.duplicates,
        replaced_parents=diff.changed_parents.len(),
        kept=0 if kept is None else kept.height,
    )


def _delete_moved(
    s: Session, db: Database, spec: TableSpec, rows: pl.DataFrame, covered_rows: pl.DataFrame
) -> int:
    """A child keyed without its parent (a note, a part) may arrive under another parent
    than the one that holds it (a note moved to the contact its lead merged into):
    delete the stored row of each key about to be inserted that no covered parent held
    (those went with their parent's rows), whoever holds it, so the key is not taken
    twice. Returns the rows deleted (none for a link table, whose key holds its
    parent)."""
    if spec.parent_key in spec.primary_key or len(spec.primary_key) != 1:
        return 0
    key = spec.primary_key[0]
    elsewhere = rows.select(key).join(covered_rows.select(key), on=key, how="anti")
    if elsewhere.height == 0:
        return 0
    key_type = db.backend.dialect.column_type(spec, key)
    condition, params = s.key_filter(f"t.{quote(key)}", elsewhere.get_column(key), key_type)
    target = db.table(spec.name)
    return max(0, s.execute(f"DELETE FROM {target} AS t WHERE {condition}", params))
