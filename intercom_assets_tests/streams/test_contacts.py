"""Contacts: the vanished-contact probe, the sweep (deletes, archives, silent tag changes),
merges recorded from 2.16's 410 answers and, on 2.16, from the merge history of the listed
users, and the shapes of link tables."""

from collections.abc import Iterator
from typing import Any

import pytest

from intercom_assets.sandbox import Churn
from intercom_assets.streams.contacts import Merge, canonical_target, take_merge_history
from intercom_assets.warehouse import Warehouse
from intercom_assets_tests.oracle import TABLES, assert_matches_truth
from intercom_assets_tests.oracle.columns import expected_rows
from intercom_assets_tests.oracle.stored import read_table
from intercom_assets_tests.streams.conftest import Harness, make_client, make_harness

UPSTREAM = ("tags", "segments", "admins", "teams", "data_attributes", "companies")
DRIFT = Churn(
    contact_update=0.05,
    contact_delete=0.05,
    contact_archive=0.05,
    lead_merge=0,
    contact_tag_change=0.3,
    contact_note_add=0.2,
    tag_delete=0.1,
    company_delete=0,
)
"""Deletes, archives and membership changes that do not move `updated_at`."""


def load(h: Harness) -> None:
    for name in (*UPSTREAM, "contacts"):
        h.run(name)


def test_probe_sweeps_when_contacts_vanished_and_repairs_silent_changes(harness: Harness) -> None:
    load(harness)
    start = harness.now()
    log = harness.sb.advance(days=1, churn=DRIFT)
    gone = log.ids["contacts_deleted"] + log.ids["contacts_archived"]
    assert gone and log.ids["contact_tags_changed"]
    harness.sb.reset_request_counts()
    for name in UPSTREAM:
        harness.run(name, start)
    report = harness.run("contacts", start)
    assert report.extra["contacts_vanished"] == len(set(gone))
    assert report.extra["deleted_or_archived"] == len(set(gone))
    assert report.extra["merges_found"] == 0
    assert harness.sb.request_counts()["GET /contacts/{id}"] == len(set(gone))
    assert_matches_truth(harness.warehouse, harness.sb.truth(), streams=("contacts",))


def test_no_sweep_when_counts_agree(harness: Harness) -> None:
    load(harness)
    start = harness.now()
    harness.sb.advance(
        days=1, churn=Churn(contact_delete=0, contact_archive=0, lead_merge=0, contact_create=0)
    )
    harness.sb.reset_request_counts()
    report = harness.run("contacts", start)
    assert "contacts_swept" not in report.extra
    assert harness.sb.request_counts()["GET /contacts"] == 1  # the probe only


def test_full_mode_sweeps_and_writes_nothing_when_nothing_changed(harness: Harness) -> None:
    load(harness)
    harness.sb.reset_request_counts()
    report = harness.run("contacts", full=True)
    truth = harness.sb.truth()
    assert report.extra["contacts_swept"] == len(truth["contacts"])
    assert report.total("inserted") + report.total("updated") + report.total("deleted") == 0
    assert "POST /contacts/search" not in harness.sb.request_counts()


def test_merged_contacts_are_recorded(harness: Harness) -> None:
    load(harness)
    start = harness.now()
    log = harness.sb.advance(days=1, churn=Churn(lead_merge=0.5))
    assert log.merges
    harness.run("contacts", start)
    report = harness.reports["contacts"]
    assert report.extra["merges_found"] == len(log.merges)
    assert_matches_truth(harness.warehouse, harness.sb.truth(), streams=("contacts",))


def test_canonical_link_names_the_target() -> None:
    assert canonical_target('</contacts/abc123>; rel="canonical"') == "abc123"
    assert canonical_target("<https://api.intercom.io/contacts/x9>; rel=canonical") == "x9"
    assert canonical_target('</contacts/abc>; rel="next"') is None
    assert canonical_target(None) is None


def test_each_row_is_counted_once_when_the_search_and_the_sweep_both_see_it(
    harness: Harness,
) -> None:
    """A window run whose probe finds vanished contacts searches the window, then sweeps every
    contact: the contacts the search wrote are listed again by the sweep. Per table, the
    outcomes add up to the rows the run touched, each once, read from the truth."""
    load(harness)
    start = harness.now()
    log = harness.sb.advance(days=1, churn=DRIFT)
    searched = set(log.ids["contacts_updated"]) | set(log.ids["contacts_created"])
    gone = set(log.ids["contacts_deleted"]) | set(log.ids["contacts_archived"])
    for name in UPSTREAM:
        harness.run(name, start)
    report = harness.run("contacts", start)
    assert report.extra["contacts_swept"] and searched - gone  # both paths ran
    truth = harness.sb.truth()
    live = {c["id"] for c in truth["contacts"]}
    contacts = report.tables["contacts"]
    seen = contacts.inserted + contacts.updated + contacts.unchanged + contacts.revived
    assert seen == len(live)  # the sweep lists every live contact; each counted once
    assert contacts.inserted == len(set(log.ids["contacts_created"]) & live)
    assert contacts.deleted == len(gone)
    for table in ("contact_tags", "contact_companies"):
        counts = report.tables[table]
        rows = len(expected_rows(TABLES[table], truth).rows)
        # every swept contact's members, once: new sets inserted, the others unchanged
        assert counts.inserted + counts.unchanged + counts.updated + counts.revived == rows, table
    assert_matches_truth(harness.warehouse, truth, streams=("contacts",))


MERGES_AND_DELETES = Churn(lead_merge=0.5, contact_delete=0.05, contact_archive=0.05)


@pytest.fixture
def harness_216(warehouse: Warehouse) -> Iterator[Harness]:
    h = make_harness(warehouse, api_version="2.16", timezone="America/New_York")
    yield h
    h.client.close()


def truth_216(h: Harness) -> dict[str, Any]:
    return {**h.sb.truth(), "api_version": "2.16"}


def stored_merges(h: Harness) -> dict[str, dict[str, Any]]:
    table = read_table(h.warehouse, "contact_merges")
    return {r["id"]: r for r in table.rows} if table else {}


def test_on_216_the_merge_history_tells_merges_without_a_probe(harness_216: Harness) -> None:
    """The sweep lists users with their merge history: a vanished contact merged into a
    listed user is recorded with its time and role and not asked; deleted and archived
    contacts (and merges into a contact gone since) are asked as on 2.14."""
    h = harness_216
    load(h)
    start = h.now()
    log = h.sb.advance(days=1, churn=MERGES_AND_DELETES)
    gone = set(log.ids["contacts_deleted"]) | set(log.ids["contacts_archived"])
    truth = truth_216(h)
    users = {c["id"] for c in truth["contacts"] if c["role"] == "user"}
    told = {s for s, t in log.merges.items() if t in users}
    assert told and gone
    for name in UPSTREAM:
        h.run(name, start)
    h.sb.reset_request_counts()
    report = h.run("contacts", start)
    assert report.extra["merges_found"] == len(log.merges)
    assert report.extra["deleted_or_archived"] == len(gone)
    assert report.extra["vanished_probed"] == len(gone) + len(set(log.merges) - told)
    asked = h.sb.request_counts().get("GET /contacts/{id}", 0)
    assert asked == len(gone) + len(set(log.merges) - told)
    assert_matches_truth(h.warehouse, truth, streams=("contacts",))
    merges = stored_merges(h)
    for source in told:
        merge = truth["contact_merges"][source]
        row = merges[source]
        assert int(row["merged_at"].timestamp()) == merge["merged_at"]
        assert row["source_role"] == merge["source_contact_role"] == "lead"
    # the next sweep finds every merge recorded: nothing written, nothing asked
    h.sb.reset_request_counts()
    report = h.run("contacts", full=True)
    assert report.extra["merges_recorded"] == 0
    assert report.total("inserted") + report.total("updated") + report.total("deleted") == 0
    assert "GET /contacts/{id}" not in h.sb.request_counts()
    assert stored_merges(h) == merges


def test_on_216_merges_from_before_the_first_run_are_recorded(harness_216: Harness) -> None:
    """Leads merged before the warehouse ever saw them: the first sweep reads them from their
    targets' history (2.16 only; the oracle expects them)."""
    h = harness_216
    log = h.sb.advance(days=1, churn=Churn(lead_merge=0.5))
    assert log.merges
    for name in UPSTREAM:
        h.run(name)
    h.run("contacts", full=True)
    truth = truth_216(h)
    assert set(stored_merges(h)) == set(log.merges)
    assert_matches_truth(h.warehouse, truth, streams=("contacts",))


def test_merges_recorded_on_214_get_their_time_on_216(harness: Harness) -> None:
    """A warehouse loaded on 2.14 (merges without a time) read on 2.16: the sweep fills in
    `merged_at` and `source_role` and keeps each merge's `detected_at`."""
    load(harness)
    start = harness.now()
    log = harness.sb.advance(days=1, churn=Churn(lead_merge=0.5))
    harness.run("contacts", start)
    before = stored_merges(harness)
    assert set(before) == set(log.merges)
    assert all(r["merged_at"] is None and r["source_role"] is None for r in before.values())
    client = make_client(harness.sb, api_version="2.16")
    try:
        report = harness.run("contacts", full=True, client=client)
    finally:
        client.close()
    after = stored_merges(harness)
    assert report.extra["merges_recorded"] == len(log.merges)
    assert {s: r["detected_at"] for s, r in after.items()} == {
        s: r["detected_at"] for s, r in before.items()
    }
    assert_matches_truth(harness.warehouse, truth_216(harness), streams=("contacts",))


def test_the_merge_history_is_taken_out_of_the_record_as_sent() -> None:
    """The record written is the one sent without its top-level `merge_history` (the same
    bytes as the search sends); a key of that name deeper, or a history of another shape, is
    left alone (those merges are then probed)."""
    plain = b'{"id":"t1","role":"user","custom_attributes":{"mrr":12.5,"n":"\xc3\xa9"}}'
    item = b'{"type":"merge_history","source_contact_id":"s1","source_contact_role":"lead",'
    with_history = plain[:-1] + b',"merge_history":[' + item + b'"merged_at":1700000000}]}'
    deeper = b'{"id":"t2","custom_attributes":{"merge_history":"x"}}'
    odd = b'{"id":"t3","merge_history":{"data":[],"has_more":true}}'
    history: dict[str, Merge] = {}
    out = take_merge_history([with_history, deeper, odd, plain], history)
    assert out == [plain, deeper, b'{"id":"t3"}', plain]
    assert history == {"s1": Merge("t1", "lead", 1700000000)}
