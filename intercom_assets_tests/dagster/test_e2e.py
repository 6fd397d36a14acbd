"""End to end: the whole history as one single-run range, then five simulated days.

After every step the warehouse equals the sandbox's ground truth row by row; each day's API
calls stay within 1.1 times the minimum the day's own changes require, rows written equal
rows changed, and re-running an unchanged partition writes nothing.
"""

import math
from dataclasses import fields
from typing import Any

import pytest

from intercom_assets.sandbox import ChangeLog, Churn
from intercom_assets_tests.dagster.conftest import Pipeline, rows_written, stream_metadata
from intercom_assets_tests.truth import assert_matches_truth

SEARCH_PAGE = 150
SWEEP_PAGE = 150
SCROLL_PAGE = 50
SUBLIST_PAGE = 50
SNAPSHOT_TABLES = ("tags", "segments", "admins", "teams", "companies", "contacts", "conversations")
DAYS = 5
TAG_DRIFT = Churn(**{f.name: 0.0 for f in fields(Churn)} | {"contact_tag_change": 0.1})

pytestmark = pytest.mark.slow


def test_history_then_five_days_match_truth_within_the_call_budget(pipeline: Pipeline) -> None:
    p = pipeline
    result = p.materialize("2025-12-31", p.day())
    assert result.success
    partitions = {m.partition for m in result.asset_materializations_for_node("intercom__tags")}
    assert partitions == {"2025-12-31", p.day()}
    assert_truth(p)

    vanished_total = 0
    for _ in range(DAYS):
        before = p.sb.truth()
        log = p.sb.advance(days=1)
        truth = p.sb.truth()
        p.sb.reset_request_counts()
        result = p.materialize(p.day(-1), p.day())  # yesterday again, after midnight, and today
        assert result.success
        calls = sum(p.sb.request_counts().values())
        assert_truth(p, truth)

        least = minimum_calls(before, truth, log)
        assert calls <= 1.1 * sum(least.values()), f"{calls} calls {p.sb.request_counts()}, {least}"
        metadata = stream_metadata(result)
        for table in SNAPSHOT_TABLES:
            counts = metadata[table]["tables"].get(table, {})
            written = sum(counts.get(k, 0) for k in ("inserted", "updated", "revived", "deleted"))
            assert written == changed_records(before[table], truth[table]), (table, counts)
        vanished_total += len(removed(before["contacts"], truth["contacts"]))
    assert vanished_total > 0, "the scenario should delete, archive or merge contacts"

    # Tag changes do not move `updated_at`: a daily run cannot see them, full mode does.
    p.sb.advance(days=1, churn=TAG_DRIFT)
    with p.warehouse() as wh, pytest.raises(AssertionError, match="contact_tags"):
        p.materialize(p.day(-1), p.day())
        assert_matches_truth(wh, p.sb.truth())
    assert p.materialize(p.day(-1), p.day(), full=True).success
    assert_truth(p)

    again = p.materialize(p.day(), checks=True)
    assert again.success
    for name, metadata in stream_metadata(again).items():
        assert rows_written(metadata) == 0, (name, metadata["tables"])
    failed = [e.check_name for e in again.get_asset_check_evaluations() if not e.passed]
    assert failed == ["part_cap"]  # the tiny workspace holds one conversation over the cap
    assert_truth(p)


def assert_truth(p: Pipeline, truth: dict[str, Any] | None = None) -> None:
    with p.warehouse() as wh:
        assert_matches_truth(wh, truth or p.sb.truth())


def minimum_calls(before: dict[str, Any], truth: dict[str, Any], log: ChangeLog) -> dict[str, int]:
    """The fewest requests that can bring the warehouse from `before` to `truth`."""
    since = log.start
    contacts = [c for c in truth["contacts"] if c["updated_at"] > since]
    conversations = [c for c in truth["conversations"] if c["updated_at"] > since]
    active = [c for c in truth["contacts"] if max(c["updated_at"], c["last_seen_at"] or 0) > since]
    vanished = removed(before["contacts"], truth["contacts"])
    # Contacts that vanished make the run sweep every contact (full lists of each one's tags
    # and companies included) and ask each vanished id whether it was merged.
    swept = truth["contacts"] if vanished else []
    sweep = math.ceil(len(swept) / SWEEP_PAGE) + len(vanished) if vanished else 0
    return {
        "me": 1,
        "snapshots": 1 + 1 + 1 + 1 + 3,  # tags, segments, admins, teams, data attributes x3
        "companies": math.ceil(len(truth["companies"]) / SCROLL_PAGE) + 1,
        "contacts": pages(len(contacts)) + 1 + sublist_calls(swept or contacts) + sweep,
        "conversations": pages(len(conversations)),
        "conversation_parts": len(conversations),
        "events": len(active),
    }


def pages(records: int) -> int:
    return max(1, math.ceil(records / SEARCH_PAGE))


def sublist_calls(contacts: list[dict[str, Any]]) -> int:
    """Requests for the tag and company lists that a contact only embeds the first 10 of."""
    calls = 0
    for contact in contacts:
        if contact["tags"]["has_more"]:
            calls += 1
        if contact["companies"]["has_more"]:
            calls += math.ceil(contact["companies"]["total_count"] / SUBLIST_PAGE)
    return calls


def removed(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> set[str]:
    return {r["id"] for r in before} - {r["id"] for r in after}


def changed_records(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> int:
    """Records new, changed or gone since the previous truth."""
    old = {r["id"]: r for r in before}
    changed = sum(1 for r in after if old.get(r["id"]) != r)
    return changed + len(removed(before, after))
