"""Per-stream state: for each stream, keys mapped to JSON values, written with a batch.

One table, `_state (stream, key, value, updated_at)`, primary key `(stream, key)`. A
`StateUpdate` upserts some keys of one stream in the transaction of the batch it travels
with (keys it does not name keep their values); many keys cost one staged frame and one
`INSERT ... SELECT ... ON CONFLICT`, not a statement per key.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
import polars as pl

from .errors import WarehouseInputError
from .session import Session
from .spec import UTC_MICROS
from .sql import Dialect, quote

STATE_TABLE = "_state"
STATE_COLUMNS = ("stream", "key", "value", "updated_at")


@dataclass(frozen=True)
class StateUpdate:
    """New values for some keys of one stream's state (JSON-serialisable values)."""

    stream: str
    values: Mapping[str, Any]

    def encoded(self) -> pl.DataFrame:
        """`key`, `value` (JSON text) rows; raises WarehouseInputError for a bad key or value."""
        if not isinstance(self.stream, str) or not self.stream:
            raise WarehouseInputError(f"state: stream must be a non-empty string: {self.stream!r}")
        try:
            keys = [_key(k) for k in self.values]
            values = [msgspec.json.encode(v).decode() for v in self.values.values()]
        except (TypeError, msgspec.EncodeError) as exc:
            message = f"state of {self.stream!r}: keys must be strings, values JSON: {exc}"
            raise WarehouseInputError(message) from exc
        return pl.DataFrame(
            {"key": pl.Series(keys, dtype=pl.String), "value": pl.Series(values, dtype=pl.String)}
        )


def _key(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"key {key!r} is not a string")
    return key


def create_state_table(dialect: Dialect, table: str) -> str:
    """DDL of the state table (`table` is its quoted, qualified name)."""
    text, json, ts = dialect.types["string"], dialect.types["json"], dialect.types["timestamp"]
    return (
        f'CREATE TABLE IF NOT EXISTS {table} ("stream" {text} NOT NULL, "key" {text} NOT NULL,'
        f' "value" {json}, "updated_at" {ts} NOT NULL, PRIMARY KEY ("stream", "key"))'
    )


def put_state(
    s: Session,
    dialect: Dialect,
    table: str,
    stream: str,
    rows: pl.DataFrame,
    now: datetime,
) -> None:
    """Upsert `rows` (`key`, `value` JSON text) into `stream`'s state, in the open transaction."""
    stamped = rows.select(
        pl.lit(stream, dtype=pl.String).alias("stream"),
        "key",
        "value",
        pl.lit(now, dtype=UTC_MICROS).alias("updated_at"),
    )
    insert_state_rows(s, dialect, table, stamped, replace=True)


def insert_state_rows(
    s: Session, dialect: Dialect, table: str, rows: pl.DataFrame, *, replace: bool
) -> None:
    """Insert `stream`, `key`, `value` (JSON text), `updated_at` rows; a stored key takes the
    new value when `replace`, else keeps its own."""
    if rows.height == 0:
        return
    text, ts, json = dialect.types["string"], dialect.types["timestamp"], dialect.types["json"]
    types = {"stream": text, "key": text, "value": text, "updated_at": ts}
    relation = s.stage("state", rows.select(STATE_COLUMNS), types)
    on_conflict = (
        'DO UPDATE SET "value" = EXCLUDED."value", "updated_at" = EXCLUDED."updated_at"'
        if replace
        else "DO NOTHING"
    )
    s.execute(
        f'INSERT INTO {table} ("stream", "key", "value", "updated_at")'
        f' SELECT s."stream", s."key", CAST(s."value" AS {json}), s."updated_at"'
        f' FROM {relation} AS s ON CONFLICT ("stream", "key") {on_conflict}'
    )


def read_state(
    s: Session,
    dialect: Dialect,
    table: str,
    stream: str,
    keys: Sequence[str] | None = None,
) -> dict[str, Any]:
    """`stream`'s stored keys (those of `keys` that are stored, or all) and decoded values."""
    text = dialect.types["string"]
    sql = (
        f'SELECT t."key" AS {quote("key")}, CAST(t."value" AS {text}) AS {quote("value")}'
        f' FROM {table} AS t WHERE t."stream" = %s'
    )
    params: list[Any] = [stream]
    if keys is not None:
        wanted = pl.Series("key", list(keys), dtype=pl.String).unique()
        if wanted.len() == 0:
            return {}
        condition, extra = s.key_filter('t."key"', wanted, text)
        sql += f" AND {condition}"
        params += extra
    rows = s.query_many(sql, params, schema={"key": pl.String(), "value": pl.String()})
    loads = msgspec.json.decode
    keys_out, values = rows.get_column("key").to_list(), rows.get_column("value").to_list()
    return {
        key: None if value is None else loads(value)
        for key, value in zip(keys_out, values, strict=True)
    }
