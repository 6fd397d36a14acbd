"""End to end, in production's daily rhythm, on DuckDB and on PostgreSQL.

The history loads as one single-run range; then each simulated day D runs what production
runs: at 20:00 (workspace zone) the change sensor ticks and partition D is loaded for the
streams it selects, and at 00:30 on D+1 the daily schedule loads partition D again for every
stream. After every run the warehouse equals the sandbox's truth for the streams it loaded.
"""

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import dagster as dg
import pytest

from intercom_assets.sandbox import Churn
from intercom_assets.streams import STREAMS
from intercom_assets_tests.dagster.conftest import (
    START_DATE,
    Pipeline,
    rows_written,
    stream_metadata,
)
from intercom_assets_tests.dagster.exactness import window
from intercom_assets_tests.oracle import assert_matches_truth, ts
from intercom_assets_tests.oracle.calls import (
    contacts_listed,
    minimum_calls,
    notes_counts,
    removed,
)
from intercom_assets_tests.oracle.stored import read_table

ENTITY_TABLES = ("tags", "segments", "admins", "teams", "companies", "contacts", "conversations")
DAYS = 5
HOUR = 3600
INTRADAY = 19 * HOUR + 1800
"""From 00:30 to 20:00: the day's intraday run."""
TO_MIDNIGHT = 4 * HOUR
AFTER_MIDNIGHT = 1800
"""Midnight to 00:30, when the daily schedule runs (kept quiet: see the scenario's docstring)."""
QUIET = Churn(**{f.name: 0.0 for f in fields(Churn)})
TAG_DRIFT = Churn(**{f.name: 0.0 for f in fields(Churn)} | {"contact_tag_change": 0.1})
BUDGET = 1.1

pytestmark = pytest.mark.slow


@dataclass
class Step:
    """One run of the scenario: what it loaded and what it cost."""

    name: str
    partition: str
    streams: list[str]
    result: dg.ExecuteInProcessResult
    truth: dict[str, Any]
    calls: dict[str, int]
    least: dict[str, int]


def test_history_then_five_days_in_the_daily_rhythm_match_truth_within_the_call_budget(
    pipeline: Pipeline,
) -> None:
    """Five days of intraday and after-midnight runs: truth, call budget, rows written.

    The sensor's own tick picks the intraday run's streams (the windowed streams that changed
    and their descendants) and the daily schedule's own tick picks the after-midnight
    partition. After every run the warehouse equals the truth table by table and row by row
    for the streams it ran: deleted and archived contacts soft-deleted, merged leads
    soft-deleted and recorded in `contact_merges`.

    The daily churn (`E2E_CHURN`) holds only changes a window run can see. Off: contact tag
    changes and notes (they do not move the contact's `updated_at`), tag and company deletions
    (they detach contacts without moving it) and events that move neither `updated_at` nor
    `last_seen_at`: a window run cannot see them, so with them on the truth would differ after
    every run that did not happen to sweep. The last step shows exactly that for tag drift, and
    a `full: true` run repairing it. The half hour after midnight is quiet: a change after
    midnight belongs to partition D+1 (the next intraday run loads it), so the truth at 00:30
    is the truth of day D.

    Budget: per day, both runs together make at most 1.1 times `oracle.calls.minimum_calls`,
    the calls the day's own changes require. With the default rates `tiny` changes about one
    contact a day: a day's minimum of 17 calls, to which the per-run fixed costs (`GET /me` and the
    vanished-contact probe, once per run each: 4 a day) add 24%. So the scenario runs
    `tiny` with a busy day's churn (half of its contacts and conversations change daily, a
    contact is deleted, archived or merged about daily): a day's minimum of about 100 calls,
    every kind of change, seconds per day. (`demo` would give a realistic minimum too, but its
    history load alone takes about 15 s per database.) Rows written equal rows changed, and
    re-running an unchanged partition writes nothing.
    """
    p = pipeline
    result = p.materialize(START_DATE, p.day())
    assert result.success
    partitions = {m.partition for m in result.asset_materializations_for_node("intercom__contacts")}
    assert partitions == {START_DATE, p.day()}
    snapshot = result.asset_materializations_for_node("intercom__tags")
    assert [m.partition for m in snapshot] == [None]  # unpartitioned: materialized once
    truth = p.sb.truth()
    assert_truth(p, truth)
    assert p.tick() == []  # the sensor's first tick records its marks
    last = dict.fromkeys(stream_names(), truth)  # each stream's truth when it last ran
    notes = notes_counts(truth, truth["contacts"])  # note counts when contacts last listed
    merged_before = set(truth["merged_contact_ids"])

    vanished = 0
    for _ in range(DAYS):
        day = p.day()
        p.sb.advance(seconds=INTRADAY)
        streams = p.tick()
        searched = {
            "contacts",
            "conversations",
            "conversation_parts",
            "events",
            "contact_notes",
            "contact_segments",
        }
        assert searched <= set(streams) <= searched | {"tickets", "ticket_parts"}
        intraday = run_step(p, "intraday", day, streams, last, notes)
        vanished += len(removed(last["contacts"]["contacts"], intraday.truth["contacts"]))
        last |= dict.fromkeys(streams, intraday.truth)

        p.sb.advance(seconds=TO_MIDNIGHT)
        p.sb.advance(seconds=AFTER_MIDNIGHT, churn=QUIET)
        assert p.daily_partition() == day
        daily = run_step(p, "after midnight", day, stream_names(), last, notes)
        vanished += len(removed(last["contacts"]["contacts"], daily.truth["contacts"]))
        last = dict.fromkeys(stream_names(), daily.truth)

        calls = sum(intraday.calls.values()) + sum(daily.calls.values())
        least = sum(intraday.least.values()) + sum(daily.least.values())
        print(f"{day}: {calls} calls, minimum {least}, ratio {calls / least:.3f}")
        for step in (intraday, daily):
            print(f"  {step.name}: {step.calls}\n    minimum {step.least}")
        assert calls <= BUDGET * least, (
            day,
            intraday.calls,
            intraday.least,
            daily.calls,
            daily.least,
        )
    truth = p.sb.truth()
    assert vanished > 0, "the scenario should delete, archive or merge contacts"
    assert set(truth["merged_contact_ids"]) - merged_before, "the scenario should merge leads"

    # Tag changes do not move `updated_at`: a daily run cannot see them, full mode does.
    p.sb.advance(days=1, churn=TAG_DRIFT)
    with p.warehouse() as wh, pytest.raises(AssertionError, match="contact_tags"):
        assert p.materialize(p.daily_partition()).success
        assert_matches_truth(wh, p.sb.truth())
    assert p.materialize(p.daily_partition(), full=True).success
    assert_truth(p)

    again = p.materialize(p.daily_partition())
    assert again.success
    for name, metadata in stream_metadata(again).items():
        assert rows_written(metadata) == 0, (name, metadata["tables"])
    failed = sorted(
        (e.asset_key.to_user_string(), e.check_name)
        for e in again.get_asset_check_evaluations()
        if not e.passed
    )
    # the tiny workspace holds one conversation and one ticket over the 500-part cap
    assert failed == [
        ("intercom/conversation_parts", "part_cap"),
        ("intercom/ticket_parts", "part_cap"),
    ]
    assert_truth(p)


def stream_names() -> list[str]:
    return [s.name for s in STREAMS]


def run_step(
    p: Pipeline,
    name: str,
    day: str,
    streams: list[str],
    last: dict[str, dict[str, Any]],
    notes: dict[str, int],
) -> Step:
    """Materialize partition `day` for `streams` and check it against the truth.

    `last` holds each stream's truth when it last ran: the warehouse state it started from;
    `notes` each contact's note count when `contacts` last listed it (updated here).
    """
    p.sb.reset_request_counts()
    result = p.materialize(day, streams=streams)
    assert result.success
    calls = p.sb.request_counts()
    truth = p.sb.truth()
    assert_truth(p, truth, streams)
    least = minimum_calls(last, truth, window(day), streams, notes_listed=notes)
    if "contacts" in streams:
        notes.update(notes_counts(truth, contacts_listed(last, truth, window(day), ())))
    step = Step(name, day, streams, result, truth, calls, least)
    assert_rows_written_equal_rows_changed(step, last)
    return step


def assert_truth(
    p: Pipeline, truth: dict[str, Any] | None = None, streams: list[str] | None = None
) -> None:
    with p.warehouse() as wh:
        assert_matches_truth(wh, truth or p.sb.truth(), streams)


def assert_rows_written_equal_rows_changed(step: Step, last: dict[str, dict[str, Any]]) -> None:
    """Each entity table the step loaded wrote exactly its records new, changed or gone."""
    metadata = stream_metadata(step.result, step.streams)
    for table in ENTITY_TABLES:
        if table not in step.streams:
            continue
        counts = metadata[table]["tables"].get(table, {})
        written = sum(counts.get(k, 0) for k in ("inserted", "updated", "revived", "deleted"))
        changed = changed_records(last[table][table], step.truth[table])
        assert written == changed, (step.name, table, counts)


def changed_records(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> int:
    """Records new, changed or gone since the previous truth."""
    old = {r["id"]: r for r in before}
    changed = sum(1 for r in after if old.get(r["id"]) != r)
    return changed + len(removed(before, after))


SEARCH_LAG = 600
UPDATES = Churn(
    **{f.name: 0.0 for f in fields(Churn)}
    | {"contact_update": 0.5, "conversation_update": 0.5, "event_contacts": 0.5}
    | {"event_bumps_contact": 1.0}
)
"""Updates only: no contact appears or vanishes, so no sweep reads past the search index."""
LAST_MINUTES = Churn(
    **{f.name: 0.0 for f in fields(Churn)} | {"contact_update": 20.0, "conversation_update": 20.0}
)
"""A burst in the minutes before the intraday run: several updates inside the index lag."""


def test_records_the_search_index_shows_late_land_with_the_after_midnight_run(
    pipeline_with: Callable[..., Pipeline],
) -> None:
    """With a 10-minute search index lag, the intraday run misses exactly the records updated
    in its last 10 minutes (contacts, conversations, hence their parts and events); the
    after-midnight run of the same day loads them and the warehouse equals the truth."""
    p = pipeline_with(search_lag_seconds=SEARCH_LAG, churn=UPDATES)
    assert p.materialize(START_DATE, p.day()).success
    assert p.tick() == []
    day = p.day()
    p.sb.advance(seconds=INTRADAY - SEARCH_LAG)
    p.sb.advance(seconds=SEARCH_LAG, churn=LAST_MINUTES)
    indexed_until = p.sb.now - SEARCH_LAG
    streams = p.tick()
    assert {"contacts", "conversations"} <= set(streams), streams
    assert p.materialize(day, streams=streams).success

    truth = p.sb.truth()
    for kind in ("contacts", "conversations"):
        late = {r["id"] for r in truth[kind] if r["updated_at"] > indexed_until}
        assert late, f"no {kind} updated within the index lag before the intraday run"
        stored = stored_updated_at(p, kind)
        missing = {r["id"] for r in truth[kind] if stored.get(r["id"]) != ts(r["updated_at"])}
        assert missing == late, kind

    p.sb.advance(seconds=TO_MIDNIGHT)
    p.sb.advance(seconds=AFTER_MIDNIGHT, churn=QUIET)
    assert p.materialize(p.daily_partition(), streams=None).success
    assert_truth(p)


def stored_updated_at(p: Pipeline, table: str) -> dict[str, Any]:
    """`{id: updated_at}` of the live rows of `table`."""
    with p.warehouse() as wh:
        stored = read_table(wh, table)
    rows = stored.rows if stored else []
    return {r["id"]: r["updated_at"] for r in rows if r["_deleted_at"] is None}
