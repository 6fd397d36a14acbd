"""A complete listing that comes back empty must not soft-delete a whole table by accident."""

import httpx
import orjson
import pytest

from intercom_assets.streams import EmptyListingError
from intercom_assets_tests.streams.conftest import Harness, make_client


class EmptyTags(httpx.BaseTransport):
    """Intercom answering `GET /tags` with an empty list (a transient fault seen in the wild);
    every other request goes to the sandbox."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path == "/tags":
            body = orjson.dumps({"type": "list", "data": []})
            return httpx.Response(200, content=body, headers={"content-type": "application/json"})
        return self.inner.handle_request(request)


def live_tags(harness: Harness) -> int:
    return harness.warehouse.count_live("tags")


def test_an_empty_listing_of_a_loaded_table_fails_and_deletes_nothing(harness: Harness) -> None:
    harness.run("tags")
    loaded = live_tags(harness)
    assert loaded == len(harness.sb.truth()["tags"]) > 0
    with make_client(harness.sb, EmptyTags(harness.sb.transport())) as empty:
        with pytest.raises(EmptyListingError, match=f"listed no tags.*holds {loaded} live tags"):
            harness.run("tags", client=empty)
        assert live_tags(harness) == loaded
        harness.allow_empty_listings = True
        report = harness.run("tags", client=empty)
    assert report.tables["tags"].deleted == loaded
    assert live_tags(harness) == 0


def test_an_empty_listing_of_an_empty_table_is_fine(harness: Harness) -> None:
    with make_client(harness.sb, EmptyTags(harness.sb.transport())) as empty:
        report = harness.run("tags", client=empty)
    assert report.fetched == 0
    assert live_tags(harness) == 0
