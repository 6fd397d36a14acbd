"""Event cursors live in the `events` stream's state as `/events?...`, so a changed API base
URL (region, proxy, port) keeps working."""

from intercom_assets.api import IntercomClient, RetryPolicy
from intercom_assets.sandbox import Churn, Sandbox
from intercom_assets.streams.events import cursor_path
from intercom_assets_tests.streams.conftest import Harness
from intercom_assets_tests.truth import assert_matches_truth

MOVED = "http://127.0.0.1:18765"
"""Another base URL for the same sandbox (served in-process: the host is never dialled)."""


def client_at(sb: Sandbox, base_url: str) -> IntercomClient:
    return IntercomClient(
        sb.token,
        base_url=base_url,
        transport=sb.transport(),
        retry=RetryPolicy(max_attempts=3, max_total_seconds=10, base_delay=0.01, max_delay=0.05),
    )


def churn_and_reload_contacts(harness: Harness) -> int:
    """A day with events that move their contacts; contacts reloaded. Returns how many events
    were created."""
    start = harness.now()
    log = harness.sb.advance(
        days=1,
        churn=Churn(event_contacts=0.3, event_bumps_contact=1.0, contact_update=0, lead_merge=0),
    )
    harness.run("contacts", start)
    created = len(log.ids["events_created"])
    assert created
    return created


def test_cursors_store_path_and_query_only() -> None:
    assert cursor_path("http://a:1/events?type=user&since=5") == "/events?type=user&since=5"
    assert cursor_path("https://proxy.example/intercom/events?since=5") == "/events?since=5"
    assert cursor_path("/events?since=5") == "/events?since=5"
    assert cursor_path(None) is None
    assert cursor_path("http://a:1/events") is None


def test_events_keep_working_after_the_base_url_changes(harness: Harness) -> None:
    harness.run("contacts")
    harness.run("events")
    stored = harness.warehouse.read_state("events")
    assert stored and all(v["since"].startswith("/events?") for v in stored.values())

    created = churn_and_reload_contacts(harness)
    moved = client_at(harness.sb, MOVED)
    try:
        report = harness.run("events", client=moved)
    finally:
        moved.close()
    assert report.fetched == created
    assert_matches_truth(harness.warehouse, harness.sb.truth(), streams=("events",))
    stored = harness.warehouse.read_state("events")
    assert all(v["since"].startswith("/events?") for v in stored.values())
