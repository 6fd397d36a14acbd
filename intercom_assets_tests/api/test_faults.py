"""Under injected 5xx, 429 bursts, connection resets and broken bodies on every endpoint,
full walks of every endpoint return exactly the ground truth's records: none lost, none twice."""

from pathlib import Path
from typing import Any

import pytest

from intercom_assets.api import (
    CompanyScroll,
    EventsWalk,
    IntercomClient,
    RateLimiter,
    fan_out,
    get_many,
    iter_cursor_pages,
    iter_numbered_pages,
    iter_search_pages,
)
from intercom_assets.sandbox import FaultConfig, Sandbox
from intercom_assets_tests.api.conftest import FAST_RETRY, MakeClient

FAULTS = FaultConfig(
    seed=7,
    error_rate=0.10,
    burst_429_rate=0.02,
    burst_429_length=3,
    reset_rate=0.03,
    truncate_rate=0.03,
    empty_body_rate=0.02,
)
EVERYTHING = {"field": "updated_at", "operator": ">", "value": 0}


def records(pages: Any) -> list[dict]:
    return [item for page in pages for item in page.items]


def once(items: list[dict], key: str = "id") -> list[dict]:
    """The items sorted by id, after checking that none came twice."""
    ids = [str(i[key]) for i in items]
    assert len(ids) == len(set(ids)), "a record came twice"
    return sorted(items, key=lambda i: str(i[key]))


def by_id(items: list[dict]) -> list[dict]:
    return sorted(items, key=lambda i: str(i["id"]))


def walk_everything(client: IntercomClient, truth: dict, lock_dir: Path) -> None:
    assert client.me().timezone == truth["timezone"]
    assert client.get("/admins", {"display_avatar": True})["admins"] == truth["admins"]
    assert client.get("/teams")["teams"] == truth["teams"]
    assert client.get("/tags")["data"] == truth["tags"]
    assert client.get("/segments", {"include_count": True})["segments"] == truth["segments"]
    attributes = [
        a
        for model in ("contact", "company", "conversation")
        for a in client.get("/data_attributes", {"model": model, "include_archived": True})["data"]
    ]
    key = lambda a: (a["model"], a.get("id", 0), a["full_name"])  # noqa: E731
    assert sorted(attributes, key=key) == truth["data_attributes"]

    assert records(iter_cursor_pages(client, "/contacts", per_page=7)) == truth["contacts"]
    assert once(records(iter_search_pages(client, "/contacts/search", EVERYTHING, per_page=9))) == (
        by_id(truth["contacts"])
    )
    listed = records(iter_cursor_pages(client, "/conversations", per_page=7))
    assert [c["id"] for c in once(listed)] == [c["id"] for c in by_id(truth["conversations"])]
    searched = records(iter_search_pages(client, "/conversations/search", EVERYTHING, per_page=7))
    assert once(searched) == by_id(truth["conversations"])

    scroll = CompanyScroll(client, lock_dir=lock_dir, scroll_exists_poll=0.05, restart_delay=0.01)
    for _ in range(3):  # single-threaded so far: the fault dice fall the same way every run
        assert once(records(scroll)) == truth["companies"]  # each company once
    listed_companies = records(
        iter_numbered_pages(client, "/companies/list", method="POST", per_page=4)
    )
    assert once(listed_companies) == [c for c in truth["companies"] if c["user_count"] > 0]

    full = {
        r.item.rsplit("/", 1)[1]: r.unwrap()
        for r in get_many(client, [f"/conversations/{c['id']}" for c in truth["conversations"]])
    }
    assert {cid: c["conversation_parts"]["conversation_parts"] for cid, c in full.items()} == (
        truth["conversation_parts"]
    )

    tags = {
        r.item: [t["id"] for t in r.unwrap()["data"]]
        for r in get_many(client, [f"/contacts/{cid}/tags" for cid in truth["contact_tags"]])
    }
    assert {path.split("/")[2]: sorted(ids) for path, ids in tags.items()} == truth["contact_tags"]

    def companies_of(contact_id: str) -> list[str]:
        pages = iter_cursor_pages(client, f"/contacts/{contact_id}/companies", per_page=3)
        return sorted(c["id"] for c in once(records(pages)))

    linked = {r.item: r.unwrap() for r in fan_out(truth["contact_companies"], companies_of)}
    assert linked == truth["contact_companies"]

    def events_of(contact_id: str) -> list[dict]:
        params = {"type": "user", "intercom_user_id": contact_id}
        return records(EventsWalk(client, params=params, per_page=4))

    events = {r.item: r.unwrap() for r in fan_out(truth["events"], events_of, max_in_flight=4)}
    assert events == truth["events"]


def test_full_walks_under_faults_return_exactly_the_truth(make_client: MakeClient, tmp_path: Path):
    sb = Sandbox(
        size="tiny", seed=2, timezone="Europe/Berlin", scroll_page_size=2, scroll_idle_seconds=0.3
    )
    truth = sb.truth()
    sb.set_faults(FAULTS)
    client = make_client(sb)
    walk_everything(client, truth, tmp_path)
    counters = client.snapshot()
    assert counters["retries"] >= 20 and counters["rate_limited_429"] >= 3  # faults did happen
    assert sum(sb.request_counts().values()) == counters["requests"]
    assert counters["scroll_restarts"] >= 1


@pytest.mark.slow
def test_walks_over_a_real_port_survive_dropped_connections(tmp_path: Path):
    """Over a socket a reset is a connection closed without an answer (RemoteProtocolError)."""
    sb = Sandbox(size="tiny", seed=2, scroll_page_size=4, scroll_idle_seconds=0.3)
    truth = sb.truth()
    sb.set_faults(FaultConfig(seed=3, error_rate=0.1, reset_rate=0.1, truncate_rate=0.05))
    with (
        sb.serve(port=0) as url,
        IntercomClient(sb.token, base_url=url, retry=FAST_RETRY, limiter=RateLimiter()) as client,
    ):
        assert records(iter_cursor_pages(client, "/contacts", per_page=5)) == truth["contacts"]
        scroll = CompanyScroll(client, lock_dir=tmp_path, scroll_exists_poll=0.05)
        assert by_id(list({c["id"]: c for c in records(scroll)}.values())) == truth["companies"]
        assert client.snapshot()["retries"] > 0
