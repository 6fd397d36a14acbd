"""Contacts: the vanished-contact probe, the sweep (deletes, archives, silent tag changes),
merges recorded from 2.16's 410 answers, and the shapes of link tables."""

from intercom_assets.sandbox import Churn
from intercom_assets.streams.contacts import canonical_target
from intercom_assets_tests.oracle import TABLES, assert_matches_truth
from intercom_assets_tests.oracle.columns import expected_rows
from intercom_assets_tests.streams.conftest import Harness

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
