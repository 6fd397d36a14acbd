"""State tables of the previous warehouse version, moved into the state store by `migrate`.

That version kept a stream's whole state as one JSON object (`_sync_state`: `stream` ->
`state`) and, beside it, per-id cursors of one stream (`_event_cursors`: `id` -> text
`cursor`, written through its `event_cursors=` argument, which only the `events` stream
used). Both become keys of the state store, in the migration's transaction, keeping their
`updated_at`; the old tables are dropped in the same transaction, so a crash leaves either
the old tables or the moved rows, never both or neither. A key the state store already
holds keeps its value.
"""

from collections.abc import Sequence
from typing import Any

import msgspec
import polars as pl

from .session import Session
from .spec import UTC_MICROS
from .sql import Dialect
from .state import insert_state_rows

SYNC_STATE_TABLE = "_sync_state"
EVENT_CURSORS_TABLE = "_event_cursors"
EVENT_CURSORS_STREAM = "events"
"""The stream whose per-id cursors `_event_cursors` held."""
LEGACY_TABLES = (SYNC_STATE_TABLE, EVENT_CURSORS_TABLE)
_ROWS = {"stream": pl.String(), "key": pl.String(), "value": pl.String(), "updated_at": UTC_MICROS}


def move_legacy_state(
    s: Session, dialect: Dialect, tables: dict[str, str], state_table: str
) -> None:
    """Move the rows of the legacy tables present in `tables` (name -> quoted name) into the
    state table, then drop them."""
    text = dialect.types["string"]
    if SYNC_STATE_TABLE in tables:
        rows = s.query(
            f'SELECT "stream", CAST("state" AS {text}) AS "state", "updated_at"'
            f" FROM {tables[SYNC_STATE_TABLE]}",
            schema={"stream": pl.String(), "state": pl.String(), "updated_at": UTC_MICROS},
        )
        moved = [
            (stream, key, msgspec.json.encode(value).decode(), at)
            for stream, state, at in rows.iter_rows()
            for key, value in _as_object(state).items()
        ]
        insert_state_rows(s, dialect, state_table, _frame(moved), replace=False)
        s.execute(f"DROP TABLE {tables[SYNC_STATE_TABLE]}")
    if EVENT_CURSORS_TABLE in tables:
        rows = s.query_many(
            f'SELECT "id", "cursor", "updated_at" FROM {tables[EVENT_CURSORS_TABLE]}',
            [],
            schema={"id": pl.String(), "cursor": pl.String(), "updated_at": UTC_MICROS},
        )
        values = [_json_value(cursor) for cursor in rows.get_column("cursor").to_list()]
        cursors = rows.select(
            pl.lit(EVENT_CURSORS_STREAM, dtype=pl.String).alias("stream"),
            pl.col("id").alias("key"),
            pl.Series("value", values, dtype=pl.String),
            "updated_at",
        )
        insert_state_rows(s, dialect, state_table, cursors, replace=False)
        s.execute(f"DROP TABLE {tables[EVENT_CURSORS_TABLE]}")


def _as_object(text: str | None) -> dict[str, Any]:
    """A stored state object (the previous API only took mappings; anything else is kept
    under the key `state`)."""
    value = msgspec.json.decode(text) if text else None
    return value if isinstance(value, dict) else {"state": value}


def _json_value(text: str | None) -> str:
    """A cursor as JSON text: the stored JSON when it is JSON (the usual case), else the text
    as a JSON string (a bare URL)."""
    if text is None:
        return "null"
    try:
        return msgspec.json.encode(msgspec.json.decode(text)).decode()
    except msgspec.DecodeError:
        return msgspec.json.encode(text).decode()


def _frame(rows: list[tuple[str, str, str, Any]]) -> pl.DataFrame:
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [[] for _ in _ROWS]
    return pl.DataFrame(
        [
            pl.Series(name, values, dtype=dtype)
            for (name, dtype), values in zip(_ROWS.items(), columns, strict=True)
        ]
    )
