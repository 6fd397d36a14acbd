"""events: the first run lists every contact's events; later runs resume from cursors."""

from dataclasses import fields, replace

from intercom_assets.sandbox import Churn
from intercom_assets_tests.oracle import assert_matches_truth
from intercom_assets_tests.streams.conftest import Harness

RECHECK_DAYS = 7
"""`StreamContext.events_recheck_days`' default."""


def test_events_resume_from_cursors(harness: Harness) -> None:
    harness.run("contacts")
    first = harness.run("events")
    truth = harness.sb.truth()
    assert first.extra["contacts_to_fetch"] == len(truth["contacts"])
    assert_matches_truth(harness.warehouse, truth, streams=("events",))

    start = harness.now()
    log = harness.sb.advance(
        days=1,
        churn=Churn(event_contacts=0.3, event_bumps_contact=1.0, contact_update=0, lead_merge=0),
    )
    active = set(log.ids["events_created"])
    assert active
    harness.run("contacts", start)
    harness.sb.reset_request_counts()
    report = harness.run("events")
    truth = harness.sb.truth()
    moved = {
        c["id"]
        for c in truth["contacts"]
        if max(c["updated_at"], c["last_seen_at"] or 0) >= start.timestamp()
    }
    # the moved contacts, plus the ones whose periodic re-check fell due (about 1/7 a day)
    assert report.extra["contacts_moved"] + report.extra["contacts_new"] == len(moved)
    assert harness.sb.request_counts()["GET /events"] == len(moved) + report.extra["contacts_due"]
    assert report.fetched == len(log.ids["events_created"])  # no old event listed again
    assert report.tables["events"].inserted == len(log.ids["events_created"])
    assert_matches_truth(harness.warehouse, truth, streams=("events",))


def test_events_that_move_no_timestamp_arrive_within_the_recheck_period(
    harness: Harness,
) -> None:
    harness.run("contacts")
    harness.run("events")
    contacts = {c["id"] for c in harness.sb.truth()["contacts"]}
    quiet = Churn(**{f.name: 0.0 for f in fields(Churn)})
    silent = replace(quiet, event_contacts=0.3, event_bumps_contact=0.0)
    interval = RECHECK_DAYS - 1  # a contact is due when its last check is N-1 days old
    rechecked: list[str] = []
    created = 0
    for day in range(interval):
        start = harness.now()
        log = harness.sb.advance(days=1, churn=silent if day == 0 else quiet)
        created += len(log.ids.get("events_created", []))  # one contact id per event
        harness.run("contacts", start)  # production's order: contacts, then events
        harness.sb.reset_request_counts()
        report = harness.run("events")
        assert report.extra["contacts_moved"] == report.extra["contacts_new"] == 0
        calls = harness.sb.request_counts().get("GET /events", 0)
        assert calls == report.extra["contacts_due"]
        # first checks are spread evenly: each day re-reads its share of the contacts
        assert len(contacts) // interval <= calls <= -(-len(contacts) // interval)
        rechecked += [
            k
            for k, v in harness.warehouse.read_state("events").items()
            if v["checked"] > harness.now().timestamp() - 86_400
        ]
    assert created
    # every contact re-checked exactly once, so every silent event arrived within N days
    assert sorted(rechecked) == sorted(contacts)
    assert_matches_truth(harness.warehouse, harness.sb.truth(), streams=("events",))


def test_full_mode_reads_every_contact_at_once(harness: Harness) -> None:
    harness.run("contacts")
    harness.run("events")
    start = harness.now()
    log = harness.sb.advance(
        days=1, churn=Churn(event_contacts=0.3, event_bumps_contact=0.0, contact_update=0)
    )
    assert log.ids["events_created"]
    harness.run("contacts", start)
    full = harness.run("events", full=True)
    assert full.fetched == len(log.ids["events_created"])
    assert_matches_truth(harness.warehouse, harness.sb.truth(), streams=("events",))


def test_events_of_a_deleted_contact_are_kept_but_not_live(harness: Harness) -> None:
    harness.run("contacts")
    harness.run("events")
    quiet = Churn(**{f.name: 0.0 for f in fields(Churn)})
    log = harness.sb.advance(days=1, churn=replace(quiet, contact_delete=0.2))
    gone = set(log.ids["contacts_deleted"])
    assert gone
    harness.run("contacts", full=True)
    report = harness.run("events")
    rows = harness.warehouse.query(
        "SELECT contact_id, _deleted_at IS NOT NULL AS deleted FROM intercom.events"
    )
    of_gone = rows.filter(rows["contact_id"].is_in(list(gone)))
    assert of_gone.height > 0 and of_gone["deleted"].all()
    assert not rows.filter(~rows["contact_id"].is_in(list(gone)))["deleted"].any()
    assert report.tables["events"].deleted == of_gone.height
