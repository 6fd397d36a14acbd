"""The deleted-conversations feed (2.16): deletes reach the warehouse with the next window run,
one feed page a run; on 2.14 nothing asks the feed and deletes wait for the sweep."""

from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta

from intercom_assets.api import IntercomClient
from intercom_assets.sandbox import Churn
from intercom_assets_tests.oracle import assert_matches_truth
from intercom_assets_tests.streams.conftest import Harness, make_client

ONLY_DELETES = replace(
    Churn(**{f.name: 0.0 for f in fields(Churn)}),
    conversation_delete=0.05,
    conversation_update=0.05,
)


def client_on(harness: Harness, version: str) -> IntercomClient:
    return make_client(harness.sb, api_version=version)


def live_conversations(harness: Harness) -> set[str]:
    return set(harness.warehouse.live_ids("conversations").to_list())


def test_on_216_a_window_run_soft_deletes_what_the_feed_lists(harness: Harness) -> None:
    client = client_on(harness, "2.16")
    harness.run("conversations", client=client)
    first = harness.reports["conversations"].extra
    start = harness.now()
    log = harness.sb.advance(days=2, churn=ONLY_DELETES)
    deleted = set(log.ids["conversations_deleted"])
    assert deleted and deleted <= live_conversations(harness)
    harness.sb.reset_request_counts()
    report = harness.run("conversations", start, client=client)
    assert not deleted & live_conversations(harness)
    assert report.extra["feed_deleted"] == len(deleted)
    assert harness.sb.request_counts()["GET /conversations/deleted"] == 1
    assert first["feed_deleted"] == 0
    truth = {**harness.sb.truth(), "api_version": "2.16"}  # conversations in 2.16's shape
    assert_matches_truth(harness.warehouse, truth, streams=("conversations",))

    # the next run reads one page again and deletes nothing more
    start = harness.now()
    harness.sb.advance(seconds=3600, churn=replace(ONLY_DELETES, conversation_delete=0.0))
    harness.sb.reset_request_counts()
    again = harness.run("conversations", start, client=client)
    assert again.extra["feed_deleted"] == 0
    assert harness.sb.request_counts()["GET /conversations/deleted"] == 1


def kept_feed(harness: Harness) -> dict[str, tuple[datetime, bool]]:
    rows = harness.warehouse.query(
        f'SELECT id, deleted_at, metrics_retained FROM "{harness.warehouse.schema}".'
        '"deleted_conversations"'
    )
    return {r["id"]: (r["deleted_at"], r["metrics_retained"]) for r in rows.iter_rows(named=True)}


def test_on_216_every_feed_entry_is_kept_with_metrics_retained(harness: Harness) -> None:
    client = client_on(harness, "2.16")
    harness.sb.advance(days=3, churn=ONLY_DELETES)
    harness.run("conversations", client=client)
    harness.sb.advance(days=1, churn=ONLY_DELETES)
    harness.run("conversations", harness.now() - timedelta(days=1), client=client)
    feed = harness.sb.truth()["deleted_conversations"]
    assert {e["metrics_retained"] for e in feed} == {True, False}
    assert kept_feed(harness) == {
        e["id"]: (datetime.fromtimestamp(e["deleted_at"], UTC), e["metrics_retained"]) for e in feed
    }


def test_on_214_deletes_wait_for_the_sweep(harness: Harness) -> None:
    client = client_on(harness, "2.14")
    harness.run("conversations", client=client)
    start = harness.now()
    log = harness.sb.advance(days=2, churn=ONLY_DELETES)
    deleted = set(log.ids["conversations_deleted"])
    assert deleted
    harness.sb.reset_request_counts()
    report = harness.run("conversations", start, client=client)
    assert "GET /conversations/deleted" not in harness.sb.request_counts()
    assert "feed_deleted" not in report.extra
    assert deleted <= live_conversations(harness)
    harness.run("conversations", full=True, client=client)
    assert not deleted & live_conversations(harness)
    assert kept_feed(harness) == {}  # no feed before 2.16
