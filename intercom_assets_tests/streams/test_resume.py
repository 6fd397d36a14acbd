"""A window search interrupted after some batches resumes where its last commit ended."""

import httpx
import pytest

from intercom_assets.api import IntercomError
from intercom_assets.warehouse import Warehouse
from intercom_assets_tests.oracle import assert_matches_truth
from intercom_assets_tests.streams.conftest import Harness, make_client, make_harness


class FailingSearch(httpx.BaseTransport):
    """The sandbox, except that search request number `fail_at` (and later ones) answer 500:
    Intercom going away in the middle of a long history load."""

    def __init__(self, inner: httpx.BaseTransport, path: str, fail_at: int) -> None:
        self.inner, self.path, self.fail_at = inner, path, fail_at
        self.searches = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == self.path:
            self.searches += 1
            if self.searches >= self.fail_at:
                return httpx.Response(500, json={"type": "error.list", "errors": []})
        return self.inner.handle_request(request)


@pytest.fixture
def demo(warehouse: Warehouse) -> Harness:
    """The demo workspace (2,000 contacts, 800 conversations): searches of several pages."""
    h = make_harness(warehouse, size="demo", timezone="America/New_York")
    h.batch_size = 100  # a commit every 100 records
    return h


@pytest.mark.parametrize(
    ("stream", "path"),
    [("contacts", "/contacts/search"), ("conversations", "/conversations/search")],
)
def test_an_interrupted_window_resumes_after_its_last_commit(
    demo: Harness, stream: str, path: str
) -> None:
    harness = demo
    failing = FailingSearch(harness.sb.transport(), path, fail_at=4)
    with make_client(harness.sb, failing) as client, pytest.raises(IntercomError):
        harness.run(stream, client=client)
    mark = harness.warehouse.read_state(stream)["search"]
    committed = harness.warehouse.count_live(stream)
    assert mark["after"] and committed > 0

    harness.sb.reset_request_counts()
    report = harness.run(stream)
    assert report.extra["resumed_from"]
    total = len(harness.sb.truth()[stream])
    # the resumed search reads from the last committed second on, not from the beginning
    assert report.fetched < total
    assert report.fetched >= total - committed
    assert harness.warehouse.read_state(stream)["search"] is None
    assert_matches_truth(harness.warehouse, harness.sb.truth(), streams=(stream,))
