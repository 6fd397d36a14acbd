"""The admin activity logs' state stays the same size however many windows close, on both
backends, and the copy stays exact: closed windows merge into one interval list."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from intercom_assets.warehouse import Warehouse
from intercom_assets_tests.oracle import assert_matches_truth

from .conftest import Harness, make_harness

STREAM = "admin_activity_logs"
DAYS = 12


@pytest.fixture
def harness(any_warehouse: Warehouse) -> Iterator[Harness]:
    h = make_harness(any_warehouse, timezone="America/New_York")
    yield h
    h.client.close()


def state_size(warehouse: Warehouse) -> tuple[int, int]:
    """The stream's state: how many keys, and how many bytes of JSON values."""
    state = warehouse.read_state(STREAM)
    return len(state), sum(len(msgspec.json.encode(v)) for v in state.values())


def test_the_state_stays_bounded_over_many_daily_runs_and_the_copy_exact(
    harness: Harness,
) -> None:
    sb = harness.sb
    harness.run(STREAM)  # everything before now: one closed window
    day = harness.now()
    sizes = [state_size(harness.warehouse)]
    for _ in range(DAYS):
        sb.advance(days=0.5)
        opened = harness.run_window(STREAM, day, day + timedelta(days=1))  # today, still open
        assert opened.extra["window_closed"] is False
        sb.advance(days=0.5)
        closed = harness.run_window(STREAM, day, day + timedelta(days=1))  # the day, ended
        assert closed.extra["window_closed"] is True
        again = harness.run_window(STREAM, day, day + timedelta(days=1))
        assert again.pages == 0 and again.extra["window_already_closed"] is True
        sizes.append(state_size(harness.warehouse))
        day += timedelta(days=1)
    assert len(set(sizes)) == 1, sizes  # as many keys and bytes after 12 days as after one
    assert harness.warehouse.read_state(STREAM)["closed"] == [[0, int(day.timestamp())]]
    # a window anywhere inside the closed time is not read again; one past it is
    middle = harness.now() - timedelta(days=DAYS // 2, hours=5)
    assert harness.run_window(STREAM, middle, middle + timedelta(hours=30)).pages == 0
    sb.advance(days=0.25)
    later = harness.run_window(STREAM, day - timedelta(hours=1), harness.now())
    assert later.pages >= 1 and later.extra["window_closed"] is True
    assert_matches_truth(harness.warehouse, sb.truth(), streams=[STREAM])


def test_windows_closed_out_of_order_merge(harness: Harness) -> None:
    sb = harness.sb
    harness.run(STREAM)  # everything before now: closed
    start = harness.now()
    sb.advance(days=3.5)
    days = [int((start + timedelta(days=n)).timestamp()) for n in range(4)]
    at = [datetime.fromtimestamp(d, UTC) for d in days]
    for n in (2, 0):  # the third day, then the first (which joins the time before it)
        assert harness.run_window(STREAM, at[n], at[n + 1]).extra["window_closed"] is True
    assert harness.warehouse.read_state(STREAM)["closed"] == [[0, days[1]], [days[2], days[3]]]
    # the gap between them: read, and the three join
    assert harness.run_window(STREAM, at[1], at[2]).extra["window_closed"] is True
    assert harness.warehouse.read_state(STREAM)["closed"] == [[0, days[3]]]
    assert harness.run_window(STREAM, at[0], at[3]).pages == 0
    # the next window to close extends the one interval
    end = harness.now() - timedelta(hours=1)
    assert harness.run_window(STREAM, at[3], end).extra["window_closed"] is True
    assert harness.warehouse.read_state(STREAM)["closed"] == [[0, int(end.timestamp())]]
    expected = [e for e in sb.truth()["activity_logs"] if e["created_at"] < end.timestamp()]
    assert harness.warehouse.count_live(STREAM) == len(expected)
