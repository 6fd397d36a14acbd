"""events: the first run lists every contact's events; later runs resume from cursors."""

from intercom_assets.sandbox import Churn
from intercom_assets_tests.oracle import assert_matches_truth
from intercom_assets_tests.streams.conftest import Harness


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
    assert harness.sb.request_counts()["GET /events"] == len(moved)
    assert report.fetched == len(log.ids["events_created"])  # no old event listed again
    assert report.tables["events"].inserted == len(log.ids["events_created"])
    assert_matches_truth(harness.warehouse, truth, streams=("events",))


def test_events_that_do_not_move_the_contact_wait_for_full_mode(harness: Harness) -> None:
    harness.run("contacts")
    harness.run("events")
    start = harness.now()
    log = harness.sb.advance(
        days=1, churn=Churn(event_contacts=0.3, event_bumps_contact=0.0, contact_update=0)
    )
    assert log.ids["events_created"]
    harness.run("contacts", start)
    quiet = harness.run("events")
    assert quiet.fetched == 0
    full = harness.run("events", full=True)
    assert full.fetched == len(log.ids["events_created"])
    assert_matches_truth(harness.warehouse, harness.sb.truth(), streams=("events",))
