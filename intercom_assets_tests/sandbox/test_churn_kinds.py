"""The churn kinds a loader must notice without an `updated_at` to go by: silent conversation
and company tag changes, deleted conversations (and the 2.16 deleted-conversations feed)."""

from dataclasses import fields, replace

import httpx
import pytest

from intercom_assets.sandbox import Churn, Sandbox

NO_CHURN = Churn(**{f.name: 0.0 for f in fields(Churn)})
SILENT_OR_VANISHING = (
    "conversation_tag_change",
    "conversation_delete",
    "company_tag_change",
    "contact_tag_change",
    "tag_delete",
    "contact_delete",
    "contact_archive",
    "lead_merge",
    "event_contacts",
)
V216 = {"Intercom-Version": "2.16"}


def only(**rates: float) -> Churn:
    return replace(NO_CHURN, **rates)


@pytest.mark.parametrize("rate", SILENT_OR_VANISHING)
def test_every_churn_kind_is_on_by_default(rate: str):
    assert getattr(Churn(), rate) > 0


def test_a_default_day_reports_every_kind_in_the_change_log():
    log = Sandbox(size="demo", seed=4).advance(days=1)
    for kind in ("conversation_tags_changed", "conversations_deleted", "company_tags_changed"):
        assert kind in log.counts
        assert log.to_json()["counts"][kind] == len(log.ids[kind])
    assert log.counts["conversation_tags_changed"] > 0
    assert log.counts["company_tags_changed"] > 0


def test_conversation_tag_changes_do_not_move_updated_at(sb: Sandbox, client: httpx.Client):
    before = {c["id"]: c for c in sb.truth()["conversations"]}
    log = sb.advance(days=1, churn=only(conversation_tag_change=0.5))
    changed = set(log.ids["conversation_tags_changed"])
    assert changed and log.counts == {**dict.fromkeys(log.counts, 0), 
        "conversation_tags_changed": len(log.ids["conversation_tags_changed"])}  # fmt: skip
    after = {c["id"]: c for c in sb.truth()["conversations"]}
    tag_ids = {i: [t["id"] for t in c["tags"]["tags"]] for i, c in after.items()}
    assert any(tag_ids[i] != [t["id"] for t in before[i]["tags"]["tags"]] for i in changed)
    for conversation_id in changed:
        assert after[conversation_id]["updated_at"] == before[conversation_id]["updated_at"]
        served = client.get(f"/conversations/{conversation_id}").json()
        assert [t["id"] for t in served["tags"]["tags"]] == tag_ids[conversation_id]
    added = [t for i in changed for t in after[i]["tags"]["tags"] if t["applied_at"] > log.start]
    assert all(log.start < t["applied_at"] <= log.end for t in added)


def test_company_tag_changes_do_not_move_updated_at(sb: Sandbox, client: httpx.Client):
    before = {c["id"]: c for c in sb.truth()["companies"]}
    log = sb.advance(days=1, churn=only(company_tag_change=0.5))
    changed = set(log.ids["company_tags_changed"])
    assert changed
    after = {c["id"]: c for c in sb.truth()["companies"]}
    assert any(after[i]["tags"] != before[i]["tags"] for i in changed)
    for company_id in changed:
        assert after[company_id]["updated_at"] == before[company_id]["updated_at"]
        assert client.get(f"/companies/{company_id}").json()["tags"] == after[company_id]["tags"]
    for company_id in set(after) - changed:
        assert after[company_id] == before[company_id]


def test_deleted_conversations_vanish_and_the_216_feed_lists_them(
    sb: Sandbox, client: httpx.Client
):
    before = {c["id"] for c in sb.truth()["conversations"]}
    log = sb.advance(days=2, churn=only(conversation_delete=0.2))
    deleted = log.ids["conversations_deleted"]
    assert deleted
    truth = sb.truth()
    assert {c["id"] for c in truth["conversations"]} == before - set(deleted)
    assert truth["deleted_conversation_ids"] == sorted(deleted, key=lambda i: (len(i), i))
    for conversation_id in deleted:
        answer = client.get(f"/conversations/{conversation_id}")
        assert answer.status_code == 404
        assert answer.json()["type"] == "error.list"
        assert answer.json()["errors"][0]["code"] == "not_found"
    everyone = {"query": {"field": "updated_at", "operator": ">", "value": 0}}
    everyone["pagination"] = {"per_page": 150}
    searched = client.post("/conversations/search", json=everyone).json()["conversations"]
    listed = client.get("/conversations", params={"per_page": 150}).json()["conversations"]
    for served in (searched, listed):
        assert {c["id"] for c in served} == before - set(deleted)

    feed = client.get("/conversations/deleted", headers=V216).json()
    assert feed["type"] == "conversations.list"
    assert feed["total_count"] == len(deleted)
    assert sorted(e["id"] for e in feed["conversations"]) == sorted(deleted)
    assert sorted(feed["conversations"], key=lambda e: e["id"]) == sorted(
        truth["deleted_conversations"], key=lambda e: e["id"]
    )
    moments = [e["deleted_at"] for e in feed["conversations"]]
    assert moments == sorted(moments, reverse=True)
    assert all(log.start < t <= log.end for t in moments)


def test_the_deleted_feed_pages_by_number_in_either_order(sb: Sandbox, client: httpx.Client):
    sb.advance(days=3, churn=only(conversation_delete=0.3))
    total = len(sb.truth()["deleted_conversation_ids"])
    assert total >= 5
    for order in ("asc", "desc"):
        seen: list[dict] = []
        url = f"{sb.base_url}/conversations/deleted?per_page=2&order={order}"
        for _ in range(100):
            page = client.get(url, headers=V216).json()
            seen.extend(page["conversations"])
            assert page["pages"]["per_page"] == 2
            assert page["pages"]["total_pages"] == (total + 1) // 2
            if "next" not in page["pages"]:
                break
            url = page["pages"]["next"]
        keys = [(e["deleted_at"], int(e["id"])) for e in seen]
        assert keys == sorted(keys, reverse=order == "desc")
        assert len(seen) == total


def test_the_deleted_feed_exists_from_216_and_checks_its_parameters(client: httpx.Client):
    for version in ("2.14", "2.15"):
        answer = client.get("/conversations/deleted", headers={"Intercom-Version": version})
        assert answer.status_code == 400
        assert answer.json()["errors"][0]["code"] == "intercom_version_invalid"
    for version in ("2.16", "Preview"):
        answer = client.get("/conversations/deleted", headers={"Intercom-Version": version})
        assert answer.status_code == 200
        assert answer.json()["conversations"] == []
        assert answer.json()["pages"] == {"type": "pages", "page": 1, "per_page": 20,
                                          "total_pages": 0}  # fmt: skip
    for params in ({"per_page": 61}, {"per_page": 0}, {"order": "up"}, {"page": 0}):
        answer = client.get("/conversations/deleted", params=params, headers=V216)
        assert answer.status_code == 400, params
        assert answer.json()["errors"][0]["code"] == "parameter_invalid"
    assert client.get("/conversations/deleted", params={"per_page": 60}, headers=V216).is_success
