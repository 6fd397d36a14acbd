"""conversation_parts: truncation over 500 flagged, and an interrupted run resumes."""

import httpx

from intercom_assets.sandbox import Churn
from intercom_assets_tests.oracle import assert_matches_truth
from intercom_assets_tests.streams.conftest import Harness, make_client


class FailAfter(httpx.BaseTransport):
    """Serves the sandbox, then answers 401 to every `GET /conversations/{id}` after `n`."""

    def __init__(self, inner: httpx.BaseTransport, n: int) -> None:
        self.inner, self.left = inner, n

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.strip("/").split("/")
        if request.method == "GET" and len(parts) == 2 and parts[0] == "conversations":
            if self.left <= 0:
                return httpx.Response(401, json={"type": "error.list", "errors": []})
            self.left -= 1
        return self.inner.handle_request(request)


def test_truncated_conversations_are_flagged(harness: Harness) -> None:
    harness.run("conversations")
    report = harness.run("conversation_parts")
    truth = harness.sb.truth()
    over = [c for c, n in truth["conversation_part_counts"].items() if n > 500]
    assert over and report.extra["conversations_truncated"] == len(over)
    loads = harness.warehouse.table("conversation_part_loads")
    assert sorted(loads.filter(loads["truncated"]).get_column("id").to_list()) == sorted(over)
    assert_matches_truth(harness.warehouse, truth, streams=("conversation_parts",))


def test_interrupted_run_resumes_without_refetching(harness: Harness) -> None:
    harness.batch_size = 1
    harness.run("conversations")
    total = len(harness.sb.truth()["conversations"])
    cut = make_client(harness.sb, FailAfter(harness.sb.transport(), 7))
    try:
        harness.run("conversation_parts", client=cut, max_in_flight=1)
    except Exception as exc:  # the injected 401
        assert "401" in str(exc) or "auth" in type(exc).__name__.lower()
    else:
        raise AssertionError("the run should have stopped at the fault")
    committed = harness.warehouse.count_live("conversation_part_loads")
    assert committed == 7
    harness.sb.reset_request_counts()
    report = harness.run("conversation_parts")
    assert harness.sb.request_counts()["GET /conversations/{id}"] == total - committed
    assert report.extra["conversations_to_fetch"] == total - committed
    assert_matches_truth(harness.warehouse, harness.sb.truth(), streams=("conversation_parts",))


def test_only_moved_conversations_are_refetched(harness: Harness) -> None:
    harness.run("conversations")
    harness.run("conversation_parts")
    start = harness.now()
    log = harness.sb.advance(days=1, churn=Churn(conversation_update=0.3, conversation_create=0.1))
    harness.run("conversations", start)
    harness.sb.reset_request_counts()
    harness.run("conversation_parts")
    moved = set(log.ids["conversations_updated"]) | set(log.ids["conversations_created"])
    assert harness.sb.request_counts()["GET /conversations/{id}"] == len(moved)
    assert_matches_truth(harness.warehouse, harness.sb.truth(), streams=("conversation_parts",))
