"""A warehouse written by the previous version (`_sync_state`, `_event_cursors`) keeps working:
the first `migrate` moves both into the state store, in one transaction, and drops them."""

from datetime import UTC, datetime

import polars as pl

from intercom_assets.warehouse import connect
from intercom_assets.warehouse.sql import schema_name, table_name

from .conftest import SPECS, Target

UPDATED = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
CURSORS = {
    "c1": '{"since":"http://127.0.0.1:5555/events?type=user&since=1","mark":10}',
    "c2": "https://api.intercom.io/events?since=2",  # a bare URL (older still)
    "c3": None,
    "c'4\\N\t": '{"since":"/events?since=4","mark":4}',
}
CURSORS |= {
    f"bulk{i:05d}": f'{{"since":"http://h/events?since={i}","mark":{i}}}' for i in range(3000)
}


def write_previous_version(target: Target) -> None:
    """The previous version's state tables (same DDL), with rows."""
    with connect(target.url, schema=target.schema) as wh:
        backend = wh.backend
        types = backend.dialect.types
        text, json, ts = types["string"], types["json"], types["timestamp"]
        sync = table_name(target.schema, "_sync_state", backend.catalog)
        cursors = table_name(target.schema, "_event_cursors", backend.catalog)
        with backend.session() as s:
            s.execute(f"CREATE SCHEMA IF NOT EXISTS {schema_name(target.schema, backend.catalog)}")
            s.execute(
                f'CREATE TABLE {sync} ("stream" {text} PRIMARY KEY, "state" {json} NOT NULL,'
                f' "updated_at" {ts} NOT NULL)'
            )
            s.execute(
                f'CREATE TABLE {cursors} ("id" {text} PRIMARY KEY, "cursor" {text},'
                f' "updated_at" {ts} NOT NULL)'
            )
            for stream, state in (
                ("contacts", '{"cursor": 5, "nested": {"a": [1, "é"]}}'),
                ("companies", '{"scroll": null}'),
            ):
                s.execute(
                    f"INSERT INTO {sync} VALUES (%s, CAST(%s AS {json}), %s)",
                    (stream, state, UPDATED),
                )
            frame = pl.DataFrame(
                {
                    "id": list(CURSORS),
                    "cursor": list(CURSORS.values()),
                    "updated_at": [UPDATED] * len(CURSORS),
                },
                schema={
                    "id": pl.String,
                    "cursor": pl.String,
                    "updated_at": pl.Datetime("us", "UTC"),
                },
            )
            s.append(cursors, frame, {"id": text, "cursor": text, "updated_at": ts})


def expected_events() -> dict:
    expected: dict = {
        "c1": {"since": "http://127.0.0.1:5555/events?type=user&since=1", "mark": 10},
        "c2": "https://api.intercom.io/events?since=2",
        "c3": None,
        "c'4\\N\t": {"since": "/events?since=4", "mark": 4},
    }
    expected |= {
        f"bulk{i:05d}": {"since": f"http://h/events?since={i}", "mark": i} for i in range(3000)
    }
    return expected


def legacy_tables(target: Target) -> list[str]:
    with connect(target.url, schema=target.schema) as wh:
        rows = wh.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
            " AND table_name IN ('_sync_state', '_event_cursors')",
            (target.schema,),
        )
    return rows.get_column("table_name").to_list() if rows.height else []


def test_previous_state_tables_move_into_the_state_store(target: Target) -> None:
    write_previous_version(target)
    with target.connect() as wh:
        assert wh.read_state("events") == {}  # not migrated yet: reads run no DDL
        assert sorted(legacy_tables(target)) == ["_event_cursors", "_sync_state"]
        wh.migrate(SPECS)
        assert wh.read_state("contacts") == {"cursor": 5, "nested": {"a": [1, "é"]}}
        assert wh.read_state("companies") == {"scroll": None}
        assert wh.read_state("events") == expected_events()
        assert wh.read_state("events", ["c2"]) == {"c2": "https://api.intercom.io/events?since=2"}
        state_table = table_name(target.schema, "_state", wh.backend.catalog)
        kept = wh.query(f'SELECT DISTINCT "updated_at" FROM {state_table}')
        assert kept.height == 1 and kept.item(0, 0) == UPDATED
    assert legacy_tables(target) == []
    with target.connect() as again:  # a second migration finds nothing to move
        again.migrate(SPECS)
        assert again.read_state("events") == expected_events()
