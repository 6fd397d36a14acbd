"""Every stream against the tiny sandbox: a first run, a re-run and the next day's window."""

import math
from collections import Counter
from datetime import datetime
from typing import Any

from intercom_assets.sandbox import Churn
from intercom_assets.streams import STREAMS
from intercom_assets.warehouse import Warehouse
from intercom_assets_tests.oracle import assert_matches_truth, sublist_calls
from intercom_assets_tests.streams.conftest import Harness, make_harness

SCROLL_PAGE = 50
QUIET = Churn(
    contact_update=0.2,
    contact_create=0.05,
    contact_delete=0,
    contact_archive=0,
    lead_merge=0,
    contact_tag_change=0,
    contact_note_add=0,
    company_update=0.2,
    company_create=0.1,
    company_delete=0,
    conversation_create=0.1,
    conversation_update=0.2,
    conversation_tag_change=0,
    conversation_delete=0,
    event_contacts=0.2,
    event_bumps_contact=1.0,
    admin_update=0.3,
    tag_create=0.1,
    tag_delete=0,
    segment_update=0.3,
    team_update=0.3,
)
"""A day of changes that all move `updated_at` (no deletes, no silent tag or note changes)."""



def written(report: Any, table: str) -> int:
    counts = report.tables.get(table)
    return 0 if counts is None else counts.written


def test_first_run_matches_truth_and_rerun_writes_nothing(any_warehouse: Warehouse) -> None:
    h = make_harness(any_warehouse, timezone="America/New_York")
    first = h.run_all()
    truth = h.sb.truth()
    assert_matches_truth(any_warehouse, truth)
    assert first["contacts"].tables["contacts"].inserted == len(truth["contacts"])
    assert first["conversation_parts"].extra["conversations_truncated"] == 1
    again = h.run_all()
    for name, report in again.items():
        assert report.total("inserted") + report.total("updated") + report.total("deleted") == 0, (
            name,
            report.tables,
        )
    assert again["conversation_parts"].pages == 0
    assert again["events"].pages == 0
    assert_matches_truth(any_warehouse, h.sb.truth())


def test_day_window_picks_up_exactly_the_changes(any_warehouse: Warehouse) -> None:
    h = make_harness(any_warehouse, timezone="America/New_York")
    h.run_all()
    before = h.sb.truth()
    start = h.now()
    log = h.sb.advance(days=1, churn=QUIET)
    truth = h.sb.truth()
    cursors = h.warehouse.read_state("events")
    calls: dict[str, int] = {}
    for stream in STREAMS:
        h.sb.reset_request_counts()
        h.run(stream.name, start)
        calls[stream.name] = sum(h.sb.request_counts().values())
    assert_matches_truth(any_warehouse, truth)

    since = h.sb.now - 86_400
    changed_contacts = [c for c in truth["contacts"] if c["updated_at"] >= since]
    changed_conversations = [c for c in truth["conversations"] if c["updated_at"] >= since]
    changed_companies = [c for c in truth["companies"] if c["updated_at"] >= since]
    assert changed_contacts and changed_conversations and changed_companies
    r = h.reports
    assert written(r["contacts"], "contacts") == len(changed_contacts)
    assert written(r["conversations"], "conversations") == len(changed_conversations)
    for table in ("tags", "segments", "admins", "teams", "companies", "contacts", "conversations"):
        assert written(r[table], table) == changed_records(before[table], truth[table]), table
    assert written(r["conversation_parts"], "conversation_part_loads") == len(changed_conversations)
    assert written(r["events"], "events") == len(log.ids["events_created"])

    active = [c for c in truth["contacts"] if max(c["updated_at"], c["last_seen_at"] or 0) >= since]
    minimum = {
        "tags": 1,
        "segments": 1,
        "admins": 1,
        "teams": 1,
        "data_attributes": 3,
        "companies": math.ceil(len(truth["companies"]) / SCROLL_PAGE) + 1,
        "contacts": math.ceil(len(changed_contacts) / 150) + 1 + sublist_calls(changed_contacts),
        "conversations": 1,
        "conversation_parts": len(changed_conversations),
        # one call per contact whose activity moved, plus one per contact whose periodic
        # re-check fell due (its last check is 7 days old at the window's end)
        "events": len({c["id"] for c in active} | due_for_recheck(cursors, h.sb.now)),
    }
    for name, least in minimum.items():
        assert least <= calls[name] <= 1.1 * least, (name, calls[name], least)
    assert Counter(log.ids["events_created"]).keys() <= {c["id"] for c in active}


def due_for_recheck(cursors: dict[str, Any], now: float, days: int = 6) -> set[str]:
    """Contacts whose stored events cursor was last checked `days` or more before `now`."""
    return {k for k, v in cursors.items() if v.get("checked", 0) <= now - days * 86_400}


def changed_records(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> int:
    """Records that are new or differ from the previous truth (embedded lists included)."""
    old = {r["id"]: r for r in before}
    return sum(1 for r in after if old.get(r["id"]) != r)


def test_contacts_before_a_window_start_are_covered_by_the_first_partition(
    harness: Harness,
) -> None:
    truth = harness.sb.truth()
    middle = sorted(c["updated_at"] for c in truth["contacts"])[len(truth["contacts"]) // 2]
    cut = datetime.fromtimestamp(middle, harness.now().tzinfo)
    report = harness.run("contacts", None)
    assert report.tables["contacts"].inserted == len(truth["contacts"])
    again = harness.run("contacts", cut)
    assert again.fetched == sum(1 for c in truth["contacts"] if c["updated_at"] >= middle)
    assert again.total("inserted") + again.total("updated") == 0
