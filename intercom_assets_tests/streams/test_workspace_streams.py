"""Subscription types, the help center and the admin activity logs against the sandbox's truth.

The snapshots follow creations, edits and deletions; the activity logs take exactly the
window by `created_at`, append, and read a window again only while it is still open.
"""

from datetime import UTC, datetime, timedelta

from intercom_assets_tests.oracle import assert_matches_truth

from .conftest import Harness

SNAPSHOTS = ("subscription_types", "help_centers", "help_center_collections", "articles")


def test_snapshots_follow_every_change(harness: Harness):
    for name in SNAPSHOTS:
        harness.run(name)
    assert_matches_truth(harness.warehouse, harness.sb.truth(), streams=SNAPSHOTS)
    log = harness.sb.advance(days=30)
    changed = sum(
        log.counts[k]
        for k in (
            "articles_created",
            "articles_updated",
            "articles_deleted",
            "help_center_collections_updated",
            "subscription_types_updated",
        )
    )
    assert changed > 0 and log.counts["articles_deleted"] > 0, log.counts
    for name in SNAPSHOTS:
        report = harness.run(name)
        assert report.pages == 1  # every listing fits one page on the tiny workspace
    assert_matches_truth(harness.warehouse, harness.sb.truth(), streams=SNAPSHOTS)
    assert harness.warehouse.count_live("articles") == len(harness.sb.truth()["articles"])


def test_activity_logs_take_exactly_the_window(harness: Harness):
    sb = harness.sb
    first = harness.run("admin_activity_logs")  # everything before now: a closed window
    assert first.extra["window_closed"] is True
    truth = sb.truth()
    assert first.fetched == len(truth["activity_logs"]) > 0
    assert_matches_truth(harness.warehouse, truth, streams=["admin_activity_logs"])
    before = sb.now
    log = sb.advance(days=3)
    assert log.counts["activity_logs_created"] > 0
    middle = datetime.fromtimestamp(before + 86_400, UTC)
    start = datetime.fromtimestamp(before, UTC)
    report = harness.run_window("admin_activity_logs", start, middle)
    in_window = [
        e for e in sb.truth()["activity_logs"] if before <= e["created_at"] < before + 86_400
    ]
    assert report.total("inserted") == len(in_window)
    again = harness.run_window("admin_activity_logs", start, middle)
    assert again.pages == 0 and again.extra["window_already_closed"] is True
    harness.run_window("admin_activity_logs", middle, harness.now())
    assert_matches_truth(harness.warehouse, sb.truth(), streams=["admin_activity_logs"])


def test_an_open_window_is_read_again(harness: Harness):
    sb = harness.sb
    harness.run("admin_activity_logs")
    start = harness.now()
    end = start + timedelta(days=1)
    sb.advance(days=0.5)
    open_run = harness.run_window("admin_activity_logs", start, end)
    assert open_run.extra["window_closed"] is False
    sb.advance(days=1)
    closed_run = harness.run_window("admin_activity_logs", start, end)
    assert closed_run.pages >= 1 and closed_run.extra["window_closed"] is True
    assert harness.run_window("admin_activity_logs", start, end).pages == 0
    stored = harness.warehouse.count_live("admin_activity_logs")
    expected = [e for e in sb.truth()["activity_logs"] if e["created_at"] < end.timestamp()]
    assert stored == len(expected)


def test_contact_notes_follow_the_note_counts(harness: Harness):
    sb = harness.sb
    harness.run("contacts")
    first = harness.run("contact_notes")
    truth = sb.truth()
    with_notes = truth["contact_notes"]
    assert first.extra["contacts_to_fetch"] == len(with_notes) > 0
    heavy = [c for c, notes in with_notes.items() if len(notes) > 10]
    assert heavy  # contacts whose embedded list says has_more are listed in full
    assert first.pages == len(with_notes)
    assert_matches_truth(harness.warehouse, truth, streams=["contact_notes"])
    log = sb.advance(days=30)
    noted = set(log.ids["contact_notes_added"]) & {c["id"] for c in sb.truth()["contacts"]}
    assert noted
    harness.run("contacts", full=True)  # the daily sweep brings the new counts
    again = harness.run("contact_notes")
    assert again.extra["contacts_to_fetch"] == len(noted)
    assert_matches_truth(harness.warehouse, sb.truth(), streams=["contact_notes"])
    assert harness.run("contact_notes").pages == 0


def test_contact_segments_rebuild_the_whole_membership(harness: Harness):
    sb = harness.sb
    harness.run("contacts")
    first = harness.run("contact_segments")
    truth = sb.truth()
    assert first.extra["segments_searched"] >= 1
    assert first.pages >= 1 + first.extra["segments_searched"]
    members = sum(len(v) for v in truth["contact_segments"].values())
    assert members > 0 and first.fetched == members
    assert_matches_truth(harness.warehouse, truth, streams=["contact_segments"])
    # attributes change, segments come and go, without moving the other contacts
    log = sb.advance(days=40)
    moved = log.counts["segments_created"] + log.counts["segments_deleted"]
    assert log.counts["contacts_updated"] > 0 and moved > 0, log.counts
    harness.run("contacts", full=True)
    harness.run("contact_segments")
    assert_matches_truth(harness.warehouse, sb.truth(), streams=["contact_segments"])


def test_the_dagster_catalog_lists_the_new_tables():
    from intercom_assets.definitions import build_definitions
    from intercom_assets.settings import PartitionSettings

    defs = build_definitions(PartitionSettings("2026-01-01", "UTC"))
    keys = {"/".join(k.path) for k in defs.resolve_asset_graph().get_all_asset_keys()}
    for name in (
        "contact_notes",
        "contact_segments",
        "subscription_types",
        "help_centers",
        "help_center_collections",
        "articles",
        "admin_activity_logs",
    ):
        assert any(key.endswith(name) for key in keys), (name, sorted(keys))
