"""Bounded fan-out with per-item errors, and pacing to the sandbox's rate-limit budget."""

import math
import threading
import time

import pytest

from intercom_assets.api import IntercomNotFound, fan_out, get_many
from intercom_assets.sandbox import Sandbox
from intercom_assets_tests.api.conftest import MakeClient


def test_fan_out_bounds_calls_in_flight_and_reports_errors_per_item(
    sandbox: Sandbox, make_client: MakeClient
):
    client = make_client(sandbox)
    ids = [c["id"] for c in sandbox.truth()["conversations"]] + ["404404", "505505"]
    lock = threading.Lock()
    running, peak = 0, 0

    def fetch(conversation_id: str) -> dict:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        try:
            time.sleep(0.005)  # hold the slot so overlaps are visible
            return client.get(f"/conversations/{conversation_id}")
        finally:
            with lock:
                running -= 1

    results = list(fan_out(iter(ids), fetch, max_in_flight=3))
    assert sorted(r.item for r in results) == sorted(ids)
    assert peak == 3
    failed = {r.item: r.error for r in results if not r.ok}
    assert set(failed) == {"404404", "505505"}
    assert all(isinstance(e, IntercomNotFound) for e in failed.values())
    assert {r.item: r.value["id"] for r in results if r.ok} == {i: i for i in ids[:-2]}
    with pytest.raises(IntercomNotFound):
        failed_result = next(r for r in results if not r.ok)
        failed_result.unwrap()


def test_get_many_counts_routes_not_raw_paths(sandbox: Sandbox, make_client: MakeClient):
    client = make_client(sandbox)
    ids = [c["id"] for c in sandbox.truth()["conversations"]]
    assert all(r.ok for r in get_many(client, [f"/conversations/{i}" for i in ids]))
    assert client.snapshot()["requests_by_route"] == {"GET /conversations/{id}": len(ids)}


@pytest.mark.slow
def test_paced_to_the_budget_without_a_429_reaching_the_caller(make_client: MakeClient):
    """50 requests per 10-second window: 300 requests use >= 80% of the windows they span."""
    sb = Sandbox(size="tiny", seed=1, rate_limit_per_minute=300)
    client = make_client(sb)
    ids = [c["id"] for c in sb.truth()["conversations"]]
    paths = [f"/conversations/{ids[i % len(ids)]}" for i in range(300)]
    first_window = math.floor(time.time() / 10)
    results = list(get_many(client, paths, max_in_flight=8))
    last_window = math.floor(time.time() / 10)
    assert all(r.ok for r in results)  # no 429 (or any error) reached the caller
    windows = last_window - first_window + 1
    used = len(paths) / (windows * 50)
    assert used >= 0.8, f"{len(paths)} requests spread over {windows} windows of 50"
    counters = client.snapshot()
    assert counters["rate_limited_429"] == 0
    assert counters["rate_limit_wait_seconds"] > 0
