"""Pages carry each record's JSON bytes exactly as the API sent them: the raw records decode to
the same records as decoding the whole body, unreadable page bodies are still retried, and
search windows keep the same records as filtering decoded dicts did."""

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from intercom_assets.api import (
    CONTACT_SEARCH,
    CONVERSATION_SEARCH,
    CompanyScroll,
    EventsWalk,
    IntercomProtocolError,
    IntercomTransportError,
    Page,
    RetryPolicy,
    SearchWindow,
    iter_cursor_pages,
    iter_numbered_pages,
    iter_search_pages,
)
from intercom_assets.api.client import BodyNotAnObject
from intercom_assets.api.pages import page_decoder
from intercom_assets.api.search import read_stamps
from intercom_assets.sandbox import FaultConfig, Sandbox
from intercom_assets_tests.api.conftest import MakeClient

EVERYTHING = {"field": "updated_at", "operator": ">", "value": 0}


def raw_body(client: Any, method: str, path: str, **kwargs: Any) -> bytes:
    """The undecoded 2xx body of one request (the identity as `decode=`)."""
    return client.request(method, path, decode=bytes, **kwargs)


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "items_key", "body_key"),
    [
        ("GET", "/contacts", {"params": {"per_page": 7}}, "data", "data"),
        ("GET", "/contacts", {"params": {"per_page": 7}}, None, "data"),
        (
            "POST",
            "/contacts/search",
            {"json": {"query": EVERYTHING, "pagination": {"per_page": 9}}},
            None,
            "data",
        ),
        ("GET", "/conversations", {"params": {"per_page": 5}}, None, "conversations"),
        ("GET", "/admins", {}, "admins", "admins"),
        ("GET", "/admins", {}, None, "admins"),
        ("GET", "/tags", {}, "data", "data"),
        ("GET", "/companies", {"params": {"per_page": 4}}, None, "data"),
    ],
)
def test_raw_items_are_body_slices_that_decode_like_the_whole_body(
    sandbox: Sandbox,
    make_client: MakeClient,
    method: str,
    path: str,
    kwargs: dict,
    items_key: str | None,
    body_key: str,
):
    client = make_client(sandbox)
    body = raw_body(client, method, path, **kwargs)
    whole = orjson.loads(body)
    decoded = page_decoder(items_key)(body)
    assert decoded.raw_items and all(isinstance(raw, bytes) for raw in decoded.raw_items)
    assert all(raw in body for raw in decoded.raw_items)  # byte-exact slices
    assert [orjson.loads(raw) for raw in decoded.raw_items] == whole[body_key]
    page = decoded.page(1)
    assert page.items == whole[body_key]
    assert page.total_count == (whole.get("total_count") if "total_count" in whole else None)
    assert page.pages == whole.get("pages")


def test_scroll_and_events_pages_decode_like_the_whole_body(make_client: MakeClient):
    sb = Sandbox(size="tiny", seed=1, scroll_page_size=4, scroll_idle_seconds=0.3)
    truth = sb.truth()
    client = make_client(sb)
    scroll_body = raw_body(client, "GET", "/companies/scroll")
    scrolled = page_decoder("data")(scroll_body)
    whole = orjson.loads(scroll_body)
    assert [orjson.loads(r) for r in scrolled.raw_items] == whole["data"]
    assert scrolled.scroll_param == whole["scroll_param"]
    assert all(raw in scroll_body for raw in scrolled.raw_items)

    contact_id = max(truth["events"], key=lambda cid: len(truth["events"][cid]))
    params = {"type": "user", "intercom_user_id": contact_id, "per_page": 3}
    events_body = raw_body(client, "GET", "/events", params=params)
    events = page_decoder("events", if_present=True)(events_body)
    whole = orjson.loads(events_body)
    assert [orjson.loads(r) for r in events.raw_items] == whole["events"]
    assert events.pages == whole["pages"]
    assert all(raw in events_body for raw in events.raw_items)


def test_every_iterator_yields_raw_items_that_match_its_items(
    sandbox: Sandbox, make_client: MakeClient, tmp_path: Path
):
    truth = sandbox.truth()
    client = make_client(sandbox)
    contact_id = max(truth["events"], key=lambda cid: len(truth["events"][cid]))
    walks = {
        "cursor": iter_cursor_pages(client, "/contacts", per_page=7),
        "search": iter_search_pages(client, "/contacts/search", EVERYTHING, per_page=9),
        "numbered": iter_numbered_pages(client, "/companies/list", method="POST", per_page=4),
        "scroll": CompanyScroll(client, lock_dir=tmp_path),
        "events": EventsWalk(
            client, params={"type": "user", "intercom_user_id": contact_id}, per_page=3
        ),
    }
    found: dict[str, list[dict]] = {}
    for name, pages in walks.items():
        found[name] = []
        for page in pages:
            assert isinstance(page, Page)
            assert page.items == [orjson.loads(raw) for raw in page.raw_items]
            assert page.items is page.items  # decoded once, then kept
            found[name].extend(page.items)
    assert found["cursor"] == truth["contacts"]
    assert sorted(found["search"], key=lambda c: c["id"]) == truth["contacts"]
    assert found["scroll"] == truth["companies"]
    assert found["events"] == truth["events"][contact_id]


def test_no_iterator_decodes_records_to_walk_its_pages(
    sandbox: Sandbox, make_client: MakeClient, tmp_path: Path
):
    """Whether a page is the last one is read from the raw records: walking every page of
    each iterator leaves every page's records undecoded (`Page.items` never computed)."""
    truth = sandbox.truth()
    client = make_client(sandbox)
    contact_id = max(truth["events"], key=lambda cid: len(truth["events"][cid]))
    walks = {
        "cursor": iter_cursor_pages(client, "/contacts", per_page=7),
        "search": iter_search_pages(client, "/contacts/search", EVERYTHING, per_page=9),
        "numbered": iter_numbered_pages(client, "/companies/list", method="POST", per_page=4),
        "scroll": CompanyScroll(client, lock_dir=tmp_path),
        "events": EventsWalk(
            client, params={"type": "user", "intercom_user_id": contact_id}, per_page=3
        ),
    }
    for name, pages in walks.items():
        walked = list(pages)
        assert len(walked) > 1, name
        decoded = [page.number for page in walked if "items" in vars(page)]
        assert decoded == [], f"{name}: records decoded on pages {decoded}"


def test_truncated_page_bodies_are_retried_by_every_iterator(
    make_client: MakeClient, tmp_path: Path
):
    sb = Sandbox(size="tiny", seed=5, scroll_page_size=3, scroll_idle_seconds=0.3)
    truth = sb.truth()
    sb.set_faults(FaultConfig(seed=11, truncate_rate=0.3))
    client = make_client(sb)
    assert [c for p in iter_cursor_pages(client, "/contacts", per_page=5) for c in p.items] == (
        truth["contacts"]
    )
    searched = [
        c
        for p in iter_search_pages(client, "/conversations/search", EVERYTHING, per_page=5)
        for c in p.items
    ]
    assert sorted(c["id"] for c in searched) == sorted(c["id"] for c in truth["conversations"])
    numbered = [
        c["id"] for p in iter_numbered_pages(client, "/companies", per_page=3) for c in p.items
    ]
    assert sorted(numbered) == sorted(c["id"] for c in truth["companies"] if c["user_count"] > 0)
    contact_id = max(truth["events"], key=lambda cid: len(truth["events"][cid]))
    params = {"type": "user", "intercom_user_id": contact_id}
    events = [e for p in EventsWalk(client, params=params, per_page=2) for e in p.items]
    assert events == truth["events"][contact_id]
    assert client.snapshot()["retries"] >= 5  # truncated bodies did come, and were retried
    # A truncated scroll page is a page lost: a later pass fills the gap, each company once.
    scroll = CompanyScroll(client, lock_dir=tmp_path, scroll_exists_poll=0.05, restart_delay=0.01)
    scrolled = [c for p in scroll for c in p.items]
    assert sorted(scrolled, key=lambda c: c["id"]) == truth["companies"]
    assert scroll.restarts >= 1 and scroll.pages_skipped >= 1


def test_an_always_truncated_page_fails_like_invalid_json(make_client: MakeClient):
    sb = Sandbox(size="tiny", seed=5)
    sb.set_faults(FaultConfig(seed=1, truncate_rate=1.0))
    client = make_client(sb, retry=RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.01))
    with pytest.raises(IntercomTransportError, match="invalid or truncated JSON") as info:
        next(iter_cursor_pages(client, "/contacts", per_page=5))
    assert info.value.attempts == 3  # type: ignore[attr-defined]
    assert sb.request_counts()["GET /contacts"] == 3


def test_decode_failures_are_retried_and_other_errors_are_not(
    sandbox: Sandbox, make_client: MakeClient
):
    client = make_client(
        sandbox, retry=RetryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.01)
    )

    def not_an_object(body: bytes) -> None:
        raise BodyNotAnObject("array")

    def invalid(body: bytes) -> None:
        raise ValueError("nope")

    with pytest.raises(IntercomTransportError, match="JSON body is not an object"):
        client.get("/admins", decode=not_an_object)
    with pytest.raises(IntercomTransportError, match="invalid or truncated JSON"):
        client.get("/admins", decode=invalid)
    before = client.snapshot()["requests"]
    with pytest.raises(IntercomProtocolError, match="no list under 'nope'"):
        next(iter_cursor_pages(client, "/contacts", per_page=5, items_key="nope"))
    assert client.snapshot()["requests"] == before + 1  # a missing list is not retried
    assert client.get("/admins") == orjson.loads(raw_body(client, "GET", "/admins"))


def test_page_decoder_keeps_the_old_shape_rules():
    keyed, any_list = page_decoder("data"), page_decoder(None)
    events = page_decoder("events", if_present=True)
    for decode in (keyed, any_list, events):
        with pytest.raises(BodyNotAnObject):
            decode(b"[1, 2]")
        with pytest.raises(ValueError):
            decode(b'{"data": [1, 2')  # truncated
    for body in (b'{"data": 5}', b'{"data": null}', b'{"data": {"a": 1}}', b'{"type": "x"}'):
        with pytest.raises(IntercomProtocolError, match="no list under 'data'"):
            keyed(body)
    body = b'{"type": "list", "data": "x", "contacts": [ {"id": 1} ,{"id": 2}], "total_count": 2}'
    found = any_list(body)
    assert found.raw_items == [b'{"id": 1}', b'{"id": 2}'] and found.total_count == 2
    assert found.type == "list"
    assert any_list(b'{"pages": {"next": null}}').raw_items == []
    assert events(b'{"data": [1], "events": []}').raw_items == []
    assert events(b'{"data": [1, 2]}').raw_items == [b"1", b"2"]
    with pytest.raises(IntercomProtocolError, match="no list under 'events'"):
        events(b'{"data": [1], "events": null}')


def test_the_window_field_is_read_without_decoding_records():
    raws = [b'{"id": 1, "updated_at": 5}', b'{"id": "2"}', b'{"updated_at": 1.5, "x": [1, {}]}']
    assert read_stamps(raws, "updated_at") == [(1, 5), ("2", None), (None, 1.5)]
    assert read_stamps(raws, "x") == [(1, None), ("2", None), (None, [1, {}])]
    assert read_stamps([], "updated_at") == []


def test_search_window_keeps_the_same_records_as_filtering_dicts(make_client: MakeClient):
    sb = Sandbox(size="tiny", seed=4, timezone="America/New_York")
    client = make_client(sb)
    tz = client.me().timezone
    for resource, search in (("contacts", CONTACT_SEARCH), ("conversations", CONVERSATION_SEARCH)):
        stamps = sorted(r["updated_at"] for r in sb.truth()[resource])
        start, end = (
            datetime.fromtimestamp(stamps[len(stamps) * k // 5], ZoneInfo("UTC")) for k in (2, 3)
        )
        window = SearchWindow(client, search, start, end, workspace_timezone=tz, per_page=7)
        pages = list(window.iter_pages())
        lo, hi = start.timestamp(), end.timestamp()
        expected = [
            [r for r in page.items if lo <= r.get("updated_at") < hi]
            for page in iter_search_pages(client, search.path, window.query, per_page=7)
        ]
        assert [page.items for page in pages] == expected
        assert sum(map(len, expected)) == window.kept > 0
        assert window.scanned >= window.kept
        if resource == "contacts":  # whole days are asked for: some records are dropped
            assert window.scanned > window.kept
        assert all(isinstance(raw, bytes) for page in pages for raw in page.raw_items)
