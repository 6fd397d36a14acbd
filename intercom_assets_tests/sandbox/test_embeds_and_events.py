"""Embedded lists cut at 10, the 500-part cap, and data events (90 days, identifiers, cursors)."""

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from intercom_assets.sandbox import Sandbox


def test_contacts_embed_at_most_10_tags_companies_and_notes(sb: Sandbox, client: httpx.Client):
    truth = sb.truth()
    heavy = [c for c in truth["contacts"] if c["tags"]["has_more"]]
    assert heavy, "tiny has contacts with more than 10 tags"
    for contact in heavy:
        got = client.get(f"/contacts/{contact['id']}").json()
        for key in ("tags", "companies", "notes"):
            embedded = got[key]
            assert len(embedded["data"]) == 10
            assert embedded["has_more"] is True
            assert embedded["total_count"] > 10
            assert embedded["url"] == f"/contacts/{contact['id']}/{key}"
        all_tags = client.get(got["tags"]["url"]).json()["data"]
        assert sorted(t["id"] for t in all_tags) == truth["contact_tags"][contact["id"]]
        assert len(all_tags) == got["tags"]["total_count"]


def test_small_lists_are_complete_without_has_more(sb: Sandbox):
    light = [c for c in sb.truth()["contacts"] if c["tags"]["total_count"] <= 10]
    assert all(
        not c["tags"]["has_more"] and len(c["tags"]["data"]) == c["tags"]["total_count"]
        for c in light
    )


def test_a_conversation_returns_its_500_newest_parts_with_the_true_total(sb, client):
    truth = sb.truth()
    long_id = next(i for i, n in truth["conversation_part_counts"].items() if n > 500)
    got = client.get(f"/conversations/{long_id}").json()
    parts = got["conversation_parts"]
    assert len(parts["conversation_parts"]) == 500
    assert parts["total_count"] == truth["conversation_part_counts"][long_id]
    assert got["statistics"]["count_conversation_parts"] == parts["total_count"]
    created = [p["created_at"] for p in parts["conversation_parts"]]
    assert created == sorted(created)
    assert min(created) >= max(p["created_at"] for p in parts["conversation_parts"][:1])


def events_of(client: httpx.Client, **params: object) -> dict:
    return client.get("/events", params={"type": "user", **params}).json()


def event_contact(sb: Sandbox) -> str:
    return max(sb.truth()["events"].items(), key=lambda kv: len(kv[1]))[0]


def test_events_newest_first_younger_than_90_days(sb: Sandbox, client: httpx.Client):
    contact_id = event_contact(sb)
    body = client.get(
        "/events", params={"type": "user", "intercom_user_id": contact_id, "per_page": 150}
    ).json()
    created = [e["created_at"] for e in body["events"]]
    assert created == sorted(created, reverse=True)
    assert all(t > sb.now - 90 * 86_400 for t in created)
    assert body["events"] == sb.truth()["events"][contact_id]
    all_generated = sb.store.events[contact_id]
    assert len(all_generated) >= len(created)


def test_events_drop_out_after_90_days_of_simulated_time(sb: Sandbox, client: httpx.Client):
    contact_id = event_contact(sb)
    from intercom_assets.sandbox import Churn

    sb.advance(days=121, churn=Churn(**{f: 0.0 for f in Churn.__dataclass_fields__}))
    body = events_of(client, intercom_user_id=contact_id)
    assert body["events"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"intercom_user_id": "x"},
        {"type": "company", "intercom_user_id": "x"},
        {"type": "user"},
        {"type": "user", "intercom_user_id": "x", "email": "a@b.c"},
    ],
)
def test_events_need_type_user_and_exactly_one_identifier(client: httpx.Client, params):
    response = client.get("/events", params=params)
    assert response.status_code == 400
    assert response.json()["type"] == "error.list"


def test_events_can_be_found_by_user_id_and_email(sb: Sandbox, client: httpx.Client):
    contact = next(
        c for c in sb.truth()["contacts"] if c["external_id"] and c["id"] in sb.truth()["events"]
    )
    by_id = client.get("/events", params={"type": "user", "intercom_user_id": contact["id"]}).json()
    by_user = client.get(
        "/events", params={"type": "user", "user_id": contact["external_id"]}
    ).json()
    by_email = client.get("/events", params={"type": "user", "email": contact["email"]}).json()
    assert by_id["events"] == by_user["events"] == by_email["events"]


def test_events_next_and_since_urls_walk_and_resume(sb: Sandbox, client: httpx.Client):
    contact_id = event_contact(sb)
    expected = sb.truth()["events"][contact_id]
    assert len(expected) > 2
    body = client.get(
        "/events", params={"type": "user", "intercom_user_id": contact_id, "per_page": 2}
    ).json()
    since_url = body["pages"]["since"]
    assert parse_qs(urlsplit(since_url).query)["since"] == [str(expected[0]["created_at"] * 1000)]
    seen = list(body["events"])
    while "next" in body["pages"]:
        before = int(parse_qs(urlsplit(body["pages"]["next"]).query)["before"][0])
        assert before == seen[-1]["created_at"] * 1000  # milliseconds
        body = client.get(body["pages"]["next"]).json()
        seen += body["events"]
    assert seen == expected
    assert client.get(since_url).json()["events"] == []
    log = sb.advance(days=3)
    newer = client.get(since_url).json()["events"]
    assert len(newer) == log.ids["events_created"].count(contact_id)
    assert all(e["created_at"] > expected[0]["created_at"] for e in newer)


def test_events_summary_counts_every_event_per_name_all_time(sb: Sandbox, client: httpx.Client):
    contact_id = event_contact(sb)
    summary = events_of(client, intercom_user_id=contact_id, summary="true")
    assert summary["type"] == "event.summary"
    stored = sb.store.events[contact_id]
    assert sum(item["count"] for item in summary["events"]) == len(stored)
    assert {item["name"] for item in summary["events"]} == {e["event_name"] for e in stored}
