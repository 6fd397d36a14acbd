"""How far back a searched stream's history reaches: a window that would leave the history
before its start unloaded is widened to the beginning, until a complete load is recorded."""

from datetime import timedelta

import pytest

from intercom_assets.api import IntercomError
from intercom_assets.streams.searched import BEGINNING, HISTORY_KEY, WIDENED_KEY
from intercom_assets.warehouse import Warehouse
from intercom_assets_tests.oracle import assert_matches_truth
from intercom_assets_tests.streams.conftest import Harness, make_client, make_harness
from intercom_assets_tests.streams.test_resume import FailingSearch

WINDOWED = ("contacts", "conversations")
UPSTREAM = ("tags", "segments", "admins", "teams", "data_attributes", "companies")


def history(h: Harness, stream: str) -> object:
    return h.warehouse.read_state(stream, [HISTORY_KEY]).get(HISTORY_KEY)


def load_upstream(h: Harness) -> None:
    for name in UPSTREAM:
        h.run(name)


@pytest.mark.parametrize("stream", WINDOWED)
def test_a_window_on_an_empty_table_is_widened_to_the_beginning(
    harness: Harness, stream: str
) -> None:
    load_upstream(harness)
    if stream == "conversations":
        harness.run("contacts")
    start = harness.now() - timedelta(days=1)
    report = harness.run(stream, start)
    assert report.extra[WIDENED_KEY] == start.isoformat()
    truth = harness.sb.truth()
    assert report.tables[stream].inserted == len(truth[stream])
    assert history(harness, stream) == BEGINNING
    assert_matches_truth(harness.warehouse, truth, streams=(stream,))

    again = harness.run(stream, start)
    assert WIDENED_KEY not in again.extra
    in_window = [r for r in truth[stream] if r["updated_at"] >= start.timestamp()]
    # contact search matches whole days in the workspace zone: a few more than the window
    assert len(in_window) <= again.extra["search_scanned"] < len(truth[stream])


def test_a_window_from_the_beginning_records_the_history_and_is_not_widened(
    harness: Harness,
) -> None:
    load_upstream(harness)
    report = harness.run("contacts")
    assert WIDENED_KEY not in report.extra
    assert history(harness, "contacts") == BEGINNING


def test_a_sweep_on_an_empty_table_records_a_complete_history(harness: Harness) -> None:
    load_upstream(harness)
    harness.run("contacts", full=True)
    assert history(harness, "contacts") == BEGINNING
    report = harness.run("contacts", harness.now() - timedelta(days=1))
    assert WIDENED_KEY not in report.extra
    assert_matches_truth(harness.warehouse, harness.sb.truth(), streams=("contacts",))


def test_an_unfinished_first_load_is_not_taken_for_a_complete_history(
    warehouse: Warehouse,
) -> None:
    """The first load fails after some batches committed; a later run of one day still
    loads everything."""
    h = make_harness(warehouse, size="demo", timezone="America/New_York")
    h.batch_size = 100
    failing = FailingSearch(h.sb.transport(), "/conversations/search", fail_at=3)
    with make_client(h.sb, failing) as client, pytest.raises(IntercomError):
        h.run("conversations", client=client)
    assert 0 < h.warehouse.count_live("conversations") < len(h.sb.truth()["conversations"])
    assert history(h, "conversations") is None  # not recorded: nothing complete yet

    start = h.now() - timedelta(days=1)
    report = h.run("conversations", start)
    assert report.extra[WIDENED_KEY] == start.isoformat()
    assert history(h, "conversations") == BEGINNING
    assert_matches_truth(h.warehouse, h.sb.truth(), streams=("conversations",))
    h.client.close()
