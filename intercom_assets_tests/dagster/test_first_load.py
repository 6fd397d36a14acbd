"""The first load: a range that misses the first partition cannot leave the history behind,
and a warehouse whose history is loaded runs its intraday and daily runs exactly as before.

Ranges are launched as the UI launches a single-run backfill: one run with the range tags
`dagster/asset_partition_range_start` and `_end` (`Pipeline.materialize(first, last)`).
"""

from collections import Counter
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg

from intercom_assets.schedules import DAILY_JOB
from intercom_assets.streams import STREAMS
from intercom_assets.streams.searched import BEGINNING, HISTORY_KEY, WIDENED_KEY
from intercom_assets_tests.dagster.conftest import (
    START_DATE,
    TIMEZONE,
    Pipeline,
    rows_written,
    stream_metadata,
)
from intercom_assets_tests.dagster.exactness import window
from intercom_assets_tests.dagster.test_e2e import (
    AFTER_MIDNIGHT,
    INTRADAY,
    TO_MIDNIGHT,
    assert_truth,
    stream_names,
)
from intercom_assets_tests.oracle.calls import minimum_calls, notes_counts

WINDOWED = ("contacts", "conversations")
WIDENING = (*WINDOWED, "tickets", "admin_activity_logs")
"""The partitioned streams: each keeps a history record and widens a first window."""

INTRADAY_CALLS_BEFORE = {
    "GET /contacts": 2,
    # measured 4 each before a run wrote (and completed) a record it already wrote unchanged
    # only once: the sweep no longer fetches again the full lists of a contact the window's
    # search found in the same run
    "GET /contacts/{id}/companies": 3,
    "GET /contacts/{id}/tags": 3,
    "GET /me": 1,
    "POST /contacts/search": 1,
    "POST /conversations/search": 1,
}
DAILY_CALLS_BEFORE = {
    "GET /admins": 1,
    "GET /companies": 1,
    "GET /companies/scroll": 2,
    "GET /contacts": 2,
    "GET /contacts/{id}/companies": 3,
    "GET /contacts/{id}/tags": 3,
    "GET /conversations": 1,
    "GET /data_attributes": 3,
    "GET /me": 1,
    "GET /segments": 1,
    "GET /tags": 1,
    "GET /teams": 1,
    "POST /conversations/search": 1,
}
"""The requests of the scenario's first intraday run and first daily run, measured with the
version before the history record (same sandbox, seed and churn), less `GET /events`: the
events re-check's share changes with its own settings and is checked against the events
stream's figure (one call per contact it checks) instead. Less, too, the requests that
follow from how many records changed (`changed_calls`): the sandbox's churn has changed
since (new resources), so those are derived from the truth instead."""

TERM_ROUTES = {
    "vanished contacts": "GET /contacts/{id}",
    "ticket states": "GET /ticket_states",
    "ticket types": "GET /ticket_types",
    "ticket search": "POST /tickets/search",
    "ticket parts": "GET /tickets/{id}",
    "subscription_types": "GET /subscription_types",
    "help_centers": "GET /help_center/help_centers",
    "help_center_collections": "GET /help_center/collections",
    "articles": "GET /articles",
    "newsfeeds": "GET /news/newsfeeds",
    "news_items": "GET /news/news_items",
    "admin activity logs": "GET /admins/activity_logs",
    "contact notes": "GET /contacts/{id}/notes",
}
"""The route of each `minimum_calls` term `changed_calls` takes (one route a term)."""


def changed_calls(
    before: dict[str, Any], truth: dict[str, Any], day: str, streams: list[str]
) -> dict[str, int]:
    """The requests of a run of `streams` over `day` that follow from what changed since the
    previous run (its truth `before`), from the truth alone: one `GET /conversations/{id}`
    per conversation whose `updated_at` moved since its parts were loaded, one `GET
    /contacts/{id}` (2.16) per vanished contact, and the requests of the streams added after
    the figures above were measured (`oracle.calls.minimum_calls`' terms: tickets and their
    parts, ticket types and states, contact segments and notes, subscription types, the help
    center, news, admin activity logs)."""
    last = dict.fromkeys(stream_names(), before)
    listed = notes_counts(before, before["contacts"])
    terms = minimum_calls(last, truth, window(day), streams, notes_listed=listed)
    calls: Counter[str] = Counter()
    for term, route in TERM_ROUTES.items():
        calls[route] += terms.get(term, 0)
    if "contact segments" in terms:  # the list of segments, then a search per segment
        calls["GET /segments"] += 1
        calls["POST /contacts/search"] += terms["contact segments"] - 1
    if "conversation_parts" in streams:
        loaded_at = {c["id"]: c["updated_at"] for c in before["conversations"]}
        moved = (c for c in truth["conversations"] if loaded_at.get(c["id"]) != c["updated_at"])
        calls["GET /conversations/{id}"] += sum(1 for _ in moved)
    return {route: n for route, n in calls.items() if n}


def merged(*figures: dict[str, int]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for calls in figures:
        total.update(calls)
    return dict(total)


def day_start(day: str) -> str:
    """Partition `day`'s start as the metadata shows it."""
    start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=ZoneInfo(TIMEZONE))
    return start.isoformat()


def histories(p: Pipeline) -> dict[str, Any]:
    with p.warehouse() as wh:
        return {s: wh.read_state(s, [HISTORY_KEY]).get(HISTORY_KEY) for s in WINDOWED}


def test_a_range_that_misses_the_first_partition_loads_the_whole_history_of_an_empty_warehouse(
    pipeline: Pipeline,
) -> None:
    """A range like the UI's "Last N days" on a fresh warehouse: the run widens the windows of
    the partitioned streams (contacts, conversations, tickets, admin activity logs) to the
    beginning (saying so), so the warehouse equals the truth; a run of the same range
    afterwards is not widened and writes nothing."""
    p = pipeline
    p.sb.advance(days=3)
    first, last = p.day(-2), p.day()
    assert first > p.day(-3) > START_DATE  # the range misses the first partition
    result = p.materialize(first, last)
    assert result.success
    assert_truth(p)
    metadata = stream_metadata(result)
    for name in WIDENING:
        assert metadata[name][WIDENED_KEY] == day_start(first), name
        assert metadata[name]["window_start"] == "beginning", name
    loaded = {m.partition for m in result.asset_materializations_for_node("intercom__contacts")}
    assert loaded == {first, p.day(-1), last}
    assert histories(p) == dict.fromkeys(WINDOWED, BEGINNING)

    again = p.materialize(first, last)
    assert again.success
    for name, meta in stream_metadata(again).items():
        assert WIDENED_KEY not in meta, name
        assert rows_written(meta) == 0, (name, meta["tables"])
        if name in WIDENING:
            assert meta["window_start"] == day_start(first), name
    assert_truth(p)


def assert_requests(
    p: Pipeline,
    result: dg.ExecuteInProcessResult,
    expected: dict[str, int],
    *,
    checks_recorded: bool = False,
) -> None:
    """The run's requests are the streams' as before, plus one count request per `live_count`
    check it ran (checks run in their stream's step), unless the recorded figures already
    held them (`checks_recorded`: the daily job always ran its checks)."""
    counts = dict(p.sb.request_counts())
    events = counts.pop("GET /events", 0)
    paths = {s.name: s.live_count.path for s in STREAMS if s.live_count is not None}
    for check in result.get_asset_check_evaluations():
        if check.check_name == "live_count" and not checks_recorded:
            route = f"GET {paths[check.asset_key.path[-1]]}"
            counts[route] -= 1
            counts = {k: v for k, v in counts.items() if v}
    assert counts == expected
    checked = stream_metadata(result, ["events"])["events"]["contacts_to_fetch"]
    assert events == checked  # every contact the events stream checks has no older pages


def test_a_loaded_warehouse_runs_its_intraday_and_daily_runs_as_before(
    pipeline: Pipeline,
) -> None:
    """After the history load (from the first partition), the change sensor's intraday run
    and the daily job read only their day and make the same requests as before."""
    p = pipeline
    assert p.materialize(START_DATE, p.day()).success
    assert histories(p) == dict.fromkeys(WINDOWED, BEGINNING)
    assert p.tick() == []

    day = p.day()
    loaded = p.sb.truth()
    p.sb.advance(seconds=INTRADAY)
    streams = p.tick()
    assert set(WINDOWED) <= set(streams)
    p.sb.reset_request_counts()
    intraday = p.materialize(day, streams=streams)
    assert intraday.success
    truth = p.sb.truth()
    changed = changed_calls(loaded, truth, day, streams)
    assert_requests(p, intraday, merged(INTRADAY_CALLS_BEFORE, changed))
    assert_truth(p, truth, streams)
    start, end = window(day)
    metadata = stream_metadata(intraday, WINDOWED)
    for name in WINDOWED:
        meta = metadata[name]
        assert WIDENED_KEY not in meta and meta["window_start"] == day_start(day), name
        in_day = sum(1 for r in truth[name] if start <= r["updated_at"] < end)
        if name == "conversations":
            assert meta["search_scanned"] == in_day
        else:  # contact search matches whole days; the client keeps the window's seconds
            assert in_day <= meta["search_scanned"] < len(truth[name])
    assert histories(p) == dict.fromkeys(WINDOWED, BEGINNING)

    p.sb.advance(seconds=TO_MIDNIGHT + AFTER_MIDNIGHT)
    assert p.daily_partition() == day
    p.sb.reset_request_counts()
    daily = p.defs.resolve_job_def(DAILY_JOB).execute_in_process(
        partition_key=day, instance=p.instance
    )
    assert daily.success
    loaded, truth = truth, p.sb.truth()
    changed = changed_calls(loaded, truth, day, stream_names())
    assert_requests(p, daily, merged(DAILY_CALLS_BEFORE, changed), checks_recorded=True)
    assert_truth(p, truth)
    metadata = stream_metadata(daily, stream_names())
    for name in WINDOWED:
        meta = metadata[name]
        assert WIDENED_KEY not in meta and meta["window_start"] == day_start(day), name
        assert meta[f"{name}_swept"] == len(truth[name]), name
