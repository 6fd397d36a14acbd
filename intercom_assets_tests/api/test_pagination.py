"""Every pagination model walks every page and stops, compared with the sandbox's truth."""

from collections import Counter

import pytest

from intercom_assets.api import (
    EventsWalk,
    IntercomClient,
    iter_cursor_pages,
    iter_numbered_pages,
    iter_search_pages,
)
from intercom_assets.sandbox import Sandbox
from intercom_assets_tests.api.conftest import MakeClient, quiet_churn


def ids(records: list[dict]) -> list[str]:
    return sorted(str(r["id"]) for r in records)


def walk(pages) -> tuple[list[dict], int]:
    records: list[dict] = []
    count = 0
    for page in pages:
        records.extend(page.items)
        count += 1
    return records, count


def test_me_reports_workspace_region_and_timezone(sandbox: Sandbox, make_client: MakeClient):
    workspace = make_client(sandbox).me()
    assert workspace.timezone == sandbox.truth()["timezone"] == "America/New_York"
    assert workspace.region == "US"
    assert workspace.app_id and workspace.name


def test_cursor_get_walks_contacts_in_small_pages(sandbox: Sandbox, make_client: MakeClient):
    client = make_client(sandbox)
    records, pages = walk(iter_cursor_pages(client, "/contacts", per_page=7))
    truth = sandbox.truth()["contacts"]
    assert records == truth  # same records, same order (by id), none twice
    assert pages == -(-len(truth) // 7)
    assert client.snapshot()["requests_by_route"] == {"GET /contacts": pages}


def test_cursor_get_walks_conversations(sandbox: Sandbox, make_client: MakeClient):
    client = make_client(sandbox)
    records, _ = walk(iter_cursor_pages(client, "/conversations", per_page=9))
    assert ids(records) == ids(sandbox.truth()["conversations"])
    assert max(Counter(r["id"] for r in records).values()) == 1


def test_link_url_pages_of_contact_companies(sandbox: Sandbox, make_client: MakeClient):
    truth = sandbox.truth()
    client = make_client(sandbox)
    heavy = [cid for cid, companies in truth["contact_companies"].items() if len(companies) > 3]
    assert heavy, "the tiny workspace has heavy contacts"
    for contact_id in heavy:
        records, pages = walk(
            iter_cursor_pages(client, f"/contacts/{contact_id}/companies", per_page=3)
        )
        assert ids(records) == sorted(truth["contact_companies"][contact_id])
        assert pages == -(-len(records) // 3)


def test_search_post_walks_every_contact(sandbox: Sandbox, make_client: MakeClient):
    client = make_client(sandbox)
    query = {"field": "updated_at", "operator": ">", "value": 0}
    records, pages = walk(iter_search_pages(client, "/contacts/search", query, per_page=8))
    truth = sandbox.truth()["contacts"]
    assert ids(records) == ids(truth)
    assert pages == -(-len(truth) // 8)
    stamps = [r["updated_at"] for r in records]
    assert stamps == sorted(stamps)  # ascending updated_at


def test_search_post_walks_every_conversation(sandbox: Sandbox, make_client: MakeClient):
    client = make_client(sandbox)
    query = {"field": "updated_at", "operator": ">", "value": 0}
    records, _ = walk(iter_search_pages(client, "/conversations/search", query, per_page=6))
    by_id = {r["id"]: r for r in records}
    assert len(by_id) == len(records)
    assert [by_id[c["id"]] for c in sandbox.truth()["conversations"]] == sandbox.truth()[
        "conversations"
    ]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_page_numbers_walk_companies_with_users(
    sandbox: Sandbox, make_client: MakeClient, method: str
):
    client = make_client(sandbox)
    path = "/companies" if method == "GET" else "/companies/list"
    records, pages = walk(iter_numbered_pages(client, path, method=method, per_page=4))
    expected = [c for c in sandbox.truth()["companies"] if c["user_count"] > 0]
    assert ids(records) == ids(expected)
    assert pages == -(-len(expected) // 4)


def test_events_walk_follows_next_and_keeps_since(sandbox: Sandbox, make_client: MakeClient):
    truth = sandbox.truth()["events"]
    client = make_client(sandbox)
    contact_id, expected = max(truth.items(), key=lambda item: len(item[1]))
    assert len(expected) > 3
    walk_ = EventsWalk(client, params={"type": "user", "intercom_user_id": contact_id}, per_page=3)
    records, pages = walk(walk_)
    assert records == expected
    assert pages == -(-len(expected) // 3)
    assert walk_.since_url and "since=" in walk_.since_url
    # Nothing new since: the stored cursor yields no events.
    again = EventsWalk(client, since_url=walk_.since_url)
    assert walk(again)[0] == []


def test_events_since_cursor_returns_only_new_events(make_client: MakeClient):
    sb = Sandbox(size="tiny", seed=3, timezone="UTC")
    client = make_client(sb)
    contact_id = next(iter(sb.truth()["events"]))
    first = EventsWalk(client, params={"type": "user", "intercom_user_id": contact_id})
    before = walk(first)[0]
    sb.advance(days=1, churn=quiet_churn(event_contacts=50.0))
    now = sb.truth()["events"][contact_id]
    new = [e for e in now if e not in before]
    assert new, "churn added events to this contact"
    assert walk(EventsWalk(client, since_url=first.since_url))[0] == new


def test_a_client_pages_lists_with_absolute_next_urls_only_on_its_host(
    sandbox: Sandbox, make_client: MakeClient
):
    from intercom_assets.api import IntercomProtocolError

    client: IntercomClient = make_client(sandbox)
    with pytest.raises(IntercomProtocolError, match="another host"):
        client.get("https://attacker.example/contacts")
    assert client.snapshot()["requests"] == 0
