"""History tables on both backends: the versions every write, soft delete and revive appends,
"as of" answers, a killed writer, and history turned on for a loaded table.

The expected versions and states are kept by the tests themselves, from the rows they send.
"""

import itertools
import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import psycopg
import pytest

from intercom_assets.warehouse import (
    ALL,
    Column,
    TableSpec,
    Warehouse,
    WarehouseInputError,
    connect,
)

from .conftest import CONTACT_TAGS, CONTACTS, Target, contacts_frame
from .test_crash import BIG, BIG_DUCKDB, start_writer, wait_for_line, wait_until_blocked_on_lock
from .writer import STREAM

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
EVENTS = TableSpec(
    "events",
    (Column("id", pl.String, nullable=False), Column("contact_id", pl.String)),
    primary_key=("id",),
    raw=False,
)

State = dict[str, tuple[str | None, int | None]]
"""id -> (email, session_count) of the live rows."""


def contact(i: str, email: str | None = None, sessions: int = 1) -> dict:
    return {"id": i, "email": email or f"{i}@example.com", "session_count": sessions}


def history_wh(target: Target, history: frozenset[str] | str = ALL) -> Warehouse:
    return connect(target.url, schema=target.schema, history=history)  # type: ignore[arg-type]


def moment() -> datetime:
    """A time strictly between the commit before and the commit after."""
    time.sleep(0.002)
    at = datetime.now(UTC)
    time.sleep(0.002)
    return at


def state_of(frame: pl.DataFrame) -> State:
    return {r["id"]: (r["email"], r["session_count"]) for r in frame.iter_rows(named=True)}


def versions(wh: Warehouse, table: str = "contacts") -> dict[str, list[tuple]]:
    """Per id, (change, email, session_count) of its versions, oldest first."""
    out: dict[str, list[tuple]] = {}
    for row in wh.history(table).iter_rows(named=True):
        content = (row.get("email"), row.get("session_count"))
        out.setdefault(row["id"], []).append((row["_change"], *content))
    return out


def assert_chained(wh: Warehouse, table: str = "contacts") -> None:
    """Each id: versions back to back (each ends where the next begins), the last one open."""
    for _, rows in wh.history(table).group_by("id"):
        rows = rows.sort("_valid_from")
        starts, ends = rows.get_column("_valid_from"), rows.get_column("_valid_to")
        assert ends[-1] is None
        assert ends.null_count() == 1
        assert ends[:-1].to_list() == starts[1:].to_list()
        assert all(a < b for a, b in itertools.pairwise(starts))


def test_versions_and_as_of_through_inserts_updates_deletes_and_revives(
    target: Target,
) -> None:
    states: list[tuple[datetime, State]] = []
    live: State = {}

    def write(wh: Warehouse, rows: list[dict]) -> None:
        wh.write({"contacts": contacts_frame(rows)})
        for row in rows:
            live[row["id"]] = (row["email"], row["session_count"])
        states.append((moment(), dict(live)))

    def keep_only(wh: Warehouse, ids: list[str]) -> None:
        wh.soft_delete_missing("contacts", ids)
        for gone in set(live) - set(ids):
            del live[gone]
        states.append((moment(), dict(live)))

    with history_wh(target) as wh:
        wh.migrate([CONTACTS, CONTACT_TAGS])
        before = moment()
        write(wh, [contact("a"), contact("b"), contact("c")])
        write(wh, [contact("a"), contact("b", "b2@example.com"), contact("d")])  # a unchanged
        keep_only(wh, ["a", "b", "d"])  # c soft-deleted
        write(wh, [contact("a", sessions=2)])
        keep_only(wh, ["d"])  # a and b soft-deleted
        write(wh, [contact("c"), contact("b", "b2@example.com")])  # revived, c unchanged
        write(wh, [contact("a", sessions=3), contact("b", "b3@example.com")])  # a revived, b upd
        write(wh, [contact("a", sessions=3), contact("b", "b3@example.com")])  # nothing new
        keep_only(wh, ["a", "b", "c", "d"])  # nothing deleted

        assert versions(wh) == {
            "a": [
                ("inserted", "a@example.com", 1),
                ("updated", "a@example.com", 2),
                ("deleted", "a@example.com", 2),
                ("revived", "a@example.com", 3),
            ],
            "b": [
                ("inserted", "b@example.com", 1),
                ("updated", "b2@example.com", 1),
                ("deleted", "b2@example.com", 1),
                ("revived", "b2@example.com", 1),
                ("updated", "b3@example.com", 1),
            ],
            "c": [
                ("inserted", "c@example.com", 1),
                ("deleted", "c@example.com", 1),
                ("revived", "c@example.com", 1),
            ],
            "d": [("inserted", "d@example.com", 1)],
        }
        assert_chained(wh)
        # each version starts when its table row was written (or soft-deleted)
        current = wh.history("contacts").filter(pl.col("_valid_to").is_null())
        stored = wh.table("contacts")
        assert (
            current.select("id", "_hash", "_valid_from")
            .sort("id")
            .equals(
                stored.select("id", "_hash", pl.col("_synced_at").alias("_valid_from")).sort("id")
            )
        )
        # "as of" at every point between the commits, and before the first one
        assert wh.as_of("contacts", before).height == 0
        for at, expected in states:
            assert state_of(wh.as_of("contacts", at)) == expected, at
        # the documented SQL pattern gives the same answer as `as_of`
        at, expected = states[4]
        sql = (
            f"SELECT id, email, session_count FROM {wh.db.table('contacts_history')}"
            " WHERE _valid_from <= %s AND (_valid_to IS NULL OR _valid_to > %s)"
            " AND _change <> 'deleted'"
        )
        assert state_of(wh.query(sql, (at, at))) == expected
        # the link table named by ALL keeps no history
        assert wh.history("contact_tags").height == 0


def test_rows_that_follow_their_parent_get_versions(target: Target) -> None:
    with history_wh(target, frozenset({"events"})) as wh:
        wh.migrate([CONTACTS, EVENTS])
        wh.write({"contacts": contacts_frame([contact("a"), contact("b")])})
        events = pl.DataFrame({"id": ["e1", "e2", "e3"], "contact_id": ["a", "a", "b"]})
        wh.write({"events": events})
        wh.soft_delete_missing("contacts", ["b"])
        assert wh.follow_parent_deletes("events", "contact_id", "contacts").deleted == 2
        wh.write({"contacts": contacts_frame([contact("a")])})
        assert wh.follow_parent_deletes("events", "contact_id", "contacts").revived == 2
        kinds = {i: [v[0] for v in rows] for i, rows in versions(wh, "events").items()}
        assert kinds == {
            "e1": ["inserted", "deleted", "revived"],
            "e2": ["inserted", "deleted", "revived"],
            "e3": ["inserted"],
        }
        assert_chained(wh, "events")
        assert wh.history("contacts").height == 0  # not named: no history table


def test_history_turned_on_for_a_loaded_table_starts_from_its_rows(target: Target) -> None:
    with target.connect() as wh:  # history off
        wh.migrate([CONTACTS])
        wh.write({"contacts": contacts_frame([contact("a"), contact("b"), contact("c")])})
        wh.write({"contacts": contacts_frame([contact("b", sessions=5)])})
        wh.soft_delete_missing("contacts", ["a", "b"])
        loaded = wh.table("contacts")
        assert wh.history("contacts").height == 0  # off by default: no history table
    turned_on = moment()
    with history_wh(target, frozenset({"contacts"})) as wh:
        wh.migrate([CONTACTS])
        first = wh.history("contacts")
        assert versions(wh) == {
            "a": [("initial", "a@example.com", 1)],
            "b": [("initial", "b@example.com", 5)],
            "c": [("deleted", "c@example.com", 1)],
        }
        by_id = {r["id"]: r for r in loaded.iter_rows(named=True)}
        for row in first.iter_rows(named=True):
            stored = by_id[row["id"]]
            assert row["_valid_from"] == (stored["_deleted_at"] or stored["_synced_at"])
            assert row["_hash"] == stored["_hash"] and row["_raw"] == stored["_raw"]
        assert state_of(wh.as_of("contacts", turned_on)) == {
            "a": ("a@example.com", 1),
            "b": ("b@example.com", 5),
        }
        wh.write({"contacts": contacts_frame([contact("a", sessions=2), contact("c")])})
        wh.migrate([CONTACTS])  # again: nothing is seeded twice
    with history_wh(target, frozenset({"contacts"})) as wh:
        wh.migrate([CONTACTS])
        assert versions(wh) == {
            "a": [("initial", "a@example.com", 1), ("updated", "a@example.com", 2)],
            "b": [("initial", "b@example.com", 5)],
            "c": [("deleted", "c@example.com", 1), ("revived", "c@example.com", 1)],
        }
        assert_chained(wh)


def test_history_gains_the_columns_its_table_gains(target: Target) -> None:
    with history_wh(target) as wh:
        wh.migrate([CONTACTS])
        wh.write({"contacts": contacts_frame([contact("a")])})
    wider = CONTACTS.with_columns(Column("plan", pl.String))
    with history_wh(target) as wh:
        wh.migrate([wider])
        frame = contacts_frame([contact("a")]).with_columns(plan=pl.lit("pro"))
        assert wh.write({"contacts": frame}).tables["contacts"].updated == 1
        plans = wh.query(f"SELECT plan FROM {wh.db.table('contacts_history')} ORDER BY _valid_from")
        assert plans.get_column("plan").to_list() == [None, "pro"]


def test_history_of_a_link_table_is_refused(target: Target) -> None:
    with history_wh(target, frozenset({"contact_tags"})) as wh:
        with pytest.raises(WarehouseInputError, match="entity tables only"):
            wh.migrate([CONTACT_TAGS])
        with pytest.raises(WarehouseInputError, match="timezone-aware"):
            wh.as_of("contacts", datetime(2024, 1, 1))


def open_versions(target: Target) -> pl.DataFrame:
    with history_wh(target, frozenset({"contacts"})) as wh:
        wh.register([CONTACTS])
        return wh.history("contacts")


@pytest.mark.slow
def test_sigkill_mid_batch_leaves_no_half_version(target: Target) -> None:
    history = "contacts"
    with history_wh(target, frozenset({history})) as wh:
        wh.migrate([CONTACTS, CONTACT_TAGS])
    first = start_writer(target, 1, 1, 10, history)
    wait_for_line(first, "committed 1")
    assert first.wait(timeout=60) == 0

    if target.backend == "postgres":
        # Hold the state row: the writer blocks after writing batch 2 and its versions.
        with psycopg.connect(target.url) as blocker:
            blocker.execute(
                f'SELECT * FROM "{target.schema}"."_state" WHERE stream = %s FOR UPDATE',
                (STREAM,),
            )
            writer = start_writer(target, 2, 3, BIG, history)
            wait_until_blocked_on_lock(target)
            os.kill(writer.pid, signal.SIGKILL)
            writer.wait(timeout=30)
            blocker.rollback()
    else:
        writer = start_writer(target, 2, 3, BIG_DUCKDB, history)
        wait_for_line(writer, "begin 2")
        time.sleep(0.5)
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=30)
        assert writer.stdout is not None
        assert "committed 2" not in writer.stdout.read(), "batch 2 finished before the kill"
    assert writer.returncode == -signal.SIGKILL

    after_kill = open_versions(target)
    assert after_kill.height == 11  # batch 1's ten contacts and "shared", nothing of batch 2
    assert after_kill.get_column("_valid_to").null_count() == 11
    assert set(after_kill.get_column("_change")) == {"inserted"}

    rerun = start_writer(target, 2, 3, 10, history)
    assert rerun.wait(timeout=120) == 0
    with history_wh(target, frozenset({history})) as wh:
        wh.register([CONTACTS])
        shared = versions(wh)["shared"]
        assert [(v[0], v[2]) for v in shared] == [("inserted", 1), ("updated", 2), ("updated", 3)]
        assert wh.history("contacts").height == 30 + 3
        assert_chained(wh)
    for process in (first, writer, rerun):
        assert process.stdout is not None
        process.stdout.close()


def test_duckdb_history_in_a_file_named_like_its_schema_survives_a_move(tmp_path: Path) -> None:
    """The demo's file is `intercom.duckdb` with schema `intercom`: the view's query must not
    name them (DuckDB refuses `intercom.intercom.x` there as ambiguous) and keeps working
    once the file is moved (its catalog is renamed)."""
    first = tmp_path / "intercom.duckdb"
    with connect(f"duckdb:///{first}", schema="intercom", history=ALL) as wh:
        wh.migrate([CONTACTS])
        wh.write({"contacts": contacts_frame([contact("a")])})
        wh.write({"contacts": contacts_frame([contact("a", sessions=2)])})
    moved = tmp_path / "elsewhere.duckdb"
    first.rename(moved)
    with connect(f"duckdb:///{moved}", schema="intercom", history=ALL) as wh:
        wh.register([CONTACTS])
        assert versions(wh) == {
            "a": [("inserted", "a@example.com", 1), ("updated", "a@example.com", 2)]
        }
