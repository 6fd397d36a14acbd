"""Simulated time: churn, vanishing contacts, tags that move without `updated_at`, determinism."""

import httpx
import orjson
import pytest

from intercom_assets.sandbox import Churn, Sandbox

NO_CHURN = Churn(**{name: 0.0 for name in Churn.__dataclass_fields__})


def test_same_seed_size_and_churn_give_byte_identical_truth():
    a, b = Sandbox(size="tiny", seed=5), Sandbox(size="tiny", seed=5)
    assert orjson.dumps(a.truth()) == orjson.dumps(b.truth())
    log_a, log_b = a.advance(days=3), b.advance(days=3)
    assert log_a.to_json() == log_b.to_json()
    assert orjson.dumps(a.truth()) == orjson.dumps(b.truth())
    assert orjson.dumps(Sandbox(size="tiny", seed=6).truth()) != orjson.dumps(a.truth())


def test_advance_moves_the_clock_and_times_changes_inside_the_interval():
    sb = Sandbox(size="demo", seed=2)
    before = sb.now
    log = sb.advance(days=1)
    assert sb.now == before + 86_400 == log.end
    truth = sb.truth()
    contacts = {c["id"]: c for c in truth["contacts"]}
    touched = set(log.ids["contacts_updated"]) | set(log.ids["contacts_created"])
    assert 0.01 * len(contacts) < len(touched) < 0.1 * len(contacts)  # a realistic day
    for contact_id in touched & contacts.keys():
        assert before < contacts[contact_id]["updated_at"] <= sb.now
    conversations = {c["id"]: c for c in truth["conversations"]}
    for conversation_id in set(log.ids["conversations_updated"]) & conversations.keys():
        assert before < conversations[conversation_id]["updated_at"] <= sb.now
    assert sum(log.counts.values()) > 0
    assert all(
        sb.now - 90 * 86_400 < e["created_at"] <= sb.now
        for evs in truth["events"].values()
        for e in evs
    )


def test_tag_changes_do_not_move_updated_at():
    sb = Sandbox(size="tiny", seed=1)
    before = {c["id"]: c for c in sb.truth()["contacts"]}
    log = sb.advance(days=2, churn=Churn(**{**NO_CHURN.__dict__, "contact_tag_change": 0.3}))
    changed = set(log.ids["contact_tags_changed"])
    assert changed
    after = sb.truth()
    for contact in after["contacts"]:
        if contact["id"] in changed:
            assert contact["updated_at"] == before[contact["id"]]["updated_at"]
    assert any(
        after["contact_tags"][i] != sorted(t["id"] for t in before[i]["tags"]["data"])
        or before[i]["tags"]["has_more"]
        for i in changed
    )


def test_deleted_archived_and_merged_contacts_vanish_everywhere(client: httpx.Client, sb: Sandbox):
    rates = {
        **NO_CHURN.__dict__,
        "contact_delete": 0.05,
        "contact_archive": 0.05,
        "lead_merge": 0.1,
    }
    log = sb.advance(days=2, churn=Churn(**rates))
    truth = sb.truth()
    gone = (
        set(log.ids["contacts_deleted"])
        | set(log.ids["contacts_archived"])
        | set(log.ids["contacts_merged"])
    )
    assert (
        log.ids["contacts_deleted"] and log.ids["contacts_archived"] and log.ids["contacts_merged"]
    )
    assert set(truth["deleted_contact_ids"]) == set(log.ids["contacts_deleted"])
    assert set(truth["archived_contact_ids"]) == set(log.ids["contacts_archived"])
    assert truth["merged_contact_ids"] == dict(sorted(log.merges.items()))
    listed = {c["id"] for c in client.get("/contacts", params={"per_page": 150}).json()["data"]}
    found = client.post(
        "/contacts/search",
        json={
            "query": {"field": "created_at", "operator": ">", "value": 0},
            "pagination": {"per_page": 150},
        },
    ).json()
    assert not gone & listed
    assert not gone & {c["id"] for c in found["data"]}
    for contact_id in gone:
        assert client.get(f"/contacts/{contact_id}").status_code == 404
    for target in log.merges.values():
        if target in listed:
            assert client.get(f"/contacts/{target}").status_code == 200


def test_company_deletion_detaches_contacts_and_drops_it_from_listings(sb: Sandbox, client):
    log = sb.advance(days=1, churn=Churn(**{**NO_CHURN.__dict__, "company_delete": 0.2}))
    deleted = set(log.ids["companies_deleted"])
    assert deleted
    truth = sb.truth()
    assert deleted == set(truth["deleted_company_ids"])
    assert not deleted & {c["id"] for c in truth["companies"]}
    assert not any(deleted & set(ids) for ids in truth["contact_companies"].values())
    assert client.get(f"/companies/{sorted(deleted)[0]}").status_code == 404


def test_metadata_churn_shows_in_lists_and_truth():
    sb = Sandbox(size="demo", seed=3)
    rates = {
        **NO_CHURN.__dict__,
        "admin_delete": 0.3,
        "tag_delete": 0.2,
        "tag_create": 0.2,
        "segment_delete": 0.2,
        "team_delete": 0.5,
    }
    log = sb.advance(days=2, churn=Churn(**rates))
    truth = sb.truth()
    for kind in ("admin", "tag", "segment", "team"):
        removed = set(log.ids[f"{kind}s_deleted"])
        assert removed == set(truth[f"deleted_{kind}_ids"])
        assert not removed & {r["id"] for r in truth[f"{kind}s"]}
    assert set(log.ids["tags_created"]) <= {t["id"] for t in truth["tags"]}
    with sb.client() as client:
        assert [a["id"] for a in client.get("/admins").json()["admins"]] == [
            a["id"] for a in truth["admins"]
        ]


def test_new_conversation_parts_bump_updated_at_and_count(sb: Sandbox, client):
    before = sb.truth()
    log = sb.advance(days=1, churn=Churn(**{**NO_CHURN.__dict__, "conversation_update": 0.3}))
    after = sb.truth()
    for conversation_id in set(log.ids["conversations_updated"]):
        assert (
            after["conversation_part_counts"][conversation_id]
            > before["conversation_part_counts"][conversation_id]
        )
        got = client.get(f"/conversations/{conversation_id}").json()
        assert got["updated_at"] > before["now"]
        assert (
            got["conversation_parts"]["total_count"]
            == after["conversation_part_counts"][conversation_id]
        )


def test_advance_refuses_to_go_back(sb: Sandbox):
    with pytest.raises(ValueError, match="forward"):
        sb.advance(seconds=-1)


def test_search_lag_hides_fresh_records_from_search_but_not_from_get(clock):
    sb = Sandbox(size="tiny", search_lag_seconds=600, clock=clock)
    log = sb.advance(seconds=300, churn=Churn(**{**NO_CHURN.__dict__, "contact_create": 2.0 * 288}))
    fresh = log.ids["contacts_created"]
    assert fresh
    body = {
        "query": {"field": "created_at", "operator": ">", "value": 0},
        "pagination": {"per_page": 150},
    }
    with sb.client() as client:
        found = {c["id"] for c in client.post("/contacts/search", json=body).json()["data"]}
        assert not set(fresh) & found
        assert all(client.get(f"/contacts/{i}").status_code == 200 for i in fresh)
        sb.advance(seconds=601, churn=NO_CHURN)
        found = {c["id"] for c in client.post("/contacts/search", json=body).json()["data"]}
        assert set(fresh) <= found


def test_merged_contacts_answer_410_with_a_canonical_link_from_version_2_16(
    client: httpx.Client, sb: Sandbox
):
    log = sb.advance(days=2, churn=Churn(**{**NO_CHURN.__dict__, "lead_merge": 0.1}))
    assert log.merges
    for source, target in log.merges.items():
        old = client.get(f"/contacts/{source}", headers={"Intercom-Version": "2.15"})
        assert old.status_code == 404
        for version in ("2.16", "Preview"):
            new = client.get(f"/contacts/{source}", headers={"Intercom-Version": version})
            assert new.status_code == 410
            assert new.json()["errors"][0]["code"] == "contact_merged"
            assert new.headers["link"] == f'</contacts/{target}>; rel="canonical"'
            assert client.get(new.links["canonical"]["url"]).status_code == 200
