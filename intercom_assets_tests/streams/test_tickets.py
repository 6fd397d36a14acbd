"""Tickets, their parts, types and states against the sandbox, compared with the truth."""

from intercom_assets.sandbox import Churn
from intercom_assets_tests.oracle import assert_matches_truth
from intercom_assets_tests.streams.conftest import Harness

TICKET_STREAMS = ("ticket_states", "ticket_types", "tickets", "ticket_parts")


def test_tickets_load_exactly(harness: Harness) -> None:
    for name in ("contacts", *TICKET_STREAMS):
        harness.run(name)
    truth = harness.sb.truth()
    assert_matches_truth(harness.warehouse, truth, streams=TICKET_STREAMS)
    assert harness.warehouse.count_live("tickets") == len(truth["tickets"])
    linked = harness.warehouse.table("ticket_linked_objects")
    assert linked.height > 0, "some customer tickets come from a conversation"
    attributes = harness.warehouse.table("ticket_type_attributes")
    assert attributes.height == sum(
        len(t["ticket_type_attributes"]["data"]) for t in truth["ticket_types"]
    )


def test_a_day_of_ticket_changes_reloads_only_moved_tickets(harness: Harness) -> None:
    for name in TICKET_STREAMS:
        harness.run(name)
    start = harness.now()
    log = harness.sb.advance(days=1, churn=Churn())
    moved = set(log.ids["tickets_created"]) | set(log.ids["tickets_updated"])
    assert moved, "the default churn changes tickets"
    harness.sb.reset_request_counts()
    report = harness.run("tickets", start)
    assert report.fetched == len(moved)
    parts = harness.run("ticket_parts")
    assert parts.extra["tickets_to_fetch"] == len(moved)
    counts = harness.sb.request_counts()
    assert counts["GET /tickets/{id}"] == len(moved)
    assert counts["POST /tickets/search"] == 1
    assert_matches_truth(harness.warehouse, harness.sb.truth(), streams=TICKET_STREAMS[2:])
