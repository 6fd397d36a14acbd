"""Rejected records: source records that did not fit their table, kept aside with the batch.

One table, `_rejected (stream, record_id, field, error, raw, first_seen, last_seen,
resolved_at)`, primary key `(stream, record_id)`. The caller decides what does not fit; a
`Rejections` travels with a batch and is written in its transaction: each rejected record is
upserted (`first_seen` kept, `last_seen` the write time, `resolved_at` cleared: rejected
again), and each record id named as `resolved` (it has now been written) gets `resolved_at`.
Unresolved rows are the records still held back.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from .errors import WarehouseInputError
from .session import Session
from .spec import UTC_MICROS
from .sql import Dialect, quote

REJECTED_TABLE = "_rejected"
REJECTED_COLUMNS = (
    "stream",
    "record_id",
    "field",
    "error",
    "raw",
    "first_seen",
    "last_seen",
    "resolved_at",
)
REJECTED_SCHEMA: dict[str, pl.DataType] = {
    "stream": pl.String(),
    "record_id": pl.String(),
    "field": pl.String(),
    "error": pl.String(),
    "raw": pl.String(),
    "first_seen": UTC_MICROS,
    "last_seen": UTC_MICROS,
    "resolved_at": UTC_MICROS,
}


@dataclass(frozen=True)
class Rejected:
    """One record that did not fit: its id (text), the field at fault, why, and the record
    as it was received."""

    record_id: str
    field: str
    error: str
    raw: str


@dataclass(frozen=True)
class Rejections:
    """What one batch changes in a stream's rejected records: records `rejected` now, and the
    ids of records `resolved` (written well-formed, or no longer received)."""

    stream: str
    rejected: Sequence[Rejected] = ()
    resolved: Sequence[str] = ()

    def __bool__(self) -> bool:
        return bool(self.rejected or self.resolved)

    def check(self) -> None:
        """Raise WarehouseInputError for a missing stream or record id."""
        if not isinstance(self.stream, str) or not self.stream:
            raise WarehouseInputError(
                f"rejections: stream must be a non-empty string: {self.stream!r}"
            )
        for item in self.rejected:
            if not isinstance(item.record_id, str) or not item.record_id:
                raise WarehouseInputError(
                    f"rejections of {self.stream!r}: a rejected record needs an id (text)"
                )


def create_rejected_table(dialect: Dialect, table: str) -> str:
    """DDL of the rejected-records table (`table` is its quoted, qualified name)."""
    text, ts = dialect.types["string"], dialect.types["timestamp"]
    return (
        f'CREATE TABLE IF NOT EXISTS {table} ("stream" {text} NOT NULL,'
        f' "record_id" {text} NOT NULL, "field" {text}, "error" {text} NOT NULL,'
        f' "raw" {text}, "first_seen" {ts} NOT NULL, "last_seen" {ts} NOT NULL,'
        f' "resolved_at" {ts}, PRIMARY KEY ("stream", "record_id"))'
    )


def put_rejections(
    s: Session, dialect: Dialect, table: str, rejections: Rejections, now: datetime
) -> None:
    """Record `rejections` in the open transaction."""
    text, ts = dialect.types["string"], dialect.types["timestamp"]
    if rejections.resolved:
        ids = pl.Series("k", list(dict.fromkeys(rejections.resolved)), dtype=pl.String)
        condition, params = s.key_filter('t."record_id"', ids, text)
        s.execute(
            f'UPDATE {table} AS t SET "resolved_at" = %s WHERE t."stream" = %s'
            f' AND t."resolved_at" IS NULL AND {condition}',
            (now, rejections.stream, *params),
        )
    if not rejections.rejected:
        return
    latest = {item.record_id: item for item in rejections.rejected}  # the last one counts
    rows = pl.DataFrame(
        {
            "stream": [rejections.stream] * len(latest),
            "record_id": list(latest),
            "field": [item.field for item in latest.values()],
            "error": [item.error for item in latest.values()],
            "raw": [item.raw for item in latest.values()],
            "first_seen": [now] * len(latest),
            "last_seen": [now] * len(latest),
        },
        schema={c: REJECTED_SCHEMA[c] for c in REJECTED_COLUMNS[:-1]},
    )
    types = {c: ts if c.endswith("_seen") else text for c in rows.columns}
    relation = s.stage("rejected", rows, types)
    columns = ", ".join(quote(c) for c in rows.columns)
    updated = ", ".join(
        f"{quote(c)} = EXCLUDED.{quote(c)}" for c in ("field", "error", "raw", "last_seen")
    )
    s.execute(
        f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {relation} AS s"
        f' ON CONFLICT ("stream", "record_id") DO UPDATE SET {updated}, "resolved_at" = NULL'
    )


def read_rejected(
    s: Session, dialect: Dialect, table: str, stream: str | None, unresolved: bool
) -> pl.DataFrame:
    """The rows of `stream` (every stream when None), only the unresolved ones when asked,
    ordered by stream and record id."""
    conditions, params = [], []
    if stream is not None:
        conditions.append('t."stream" = %s')
        params.append(stream)
    if unresolved:
        conditions.append('t."resolved_at" IS NULL')
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    selected = ", ".join(f"t.{quote(c)} AS {quote(c)}" for c in REJECTED_COLUMNS)
    return s.query(
        f'SELECT {selected} FROM {table} AS t{where} ORDER BY t."stream", t."record_id"',
        params,
        schema=REJECTED_SCHEMA,
    )
