"""Where live Intercom differs from its 2.14 description, the sandbox answers like live Intercom.

Each case sends what widely used independent clients send, unmodified: Singer's tap-intercom
(admins with an avatar object in its schema, conversations searched by `id > ""`, company
segments from `GET /segments?type=company`) and Airbyte's source (admin activity logs in
`created_at` windows, following `pages.next`).
"""

from typing import Any

import httpx

from intercom_assets.sandbox import Sandbox


def test_admins_list_leaves_the_avatar_out_unless_asked(client: httpx.Client, sb: Sandbox):
    plain = client.get("/admins").json()["admins"]
    assert plain and all("avatar" not in admin for admin in plain)
    shown = client.get("/admins", params={"display_avatar": "true"}).json()["admins"]
    truth = {a["id"]: a["avatar"] for a in sb.truth()["admins"]}
    assert {a["id"]: a["avatar"] for a in shown} == truth
    for admin in shown:
        avatar = admin["avatar"]
        assert avatar["type"] == "avatar"
        assert avatar["image_url"].startswith("https://")


def test_one_admin_and_me_carry_the_avatar_object(client: httpx.Client):
    admin_id = client.get("/admins").json()["admins"][0]["id"]
    one = client.get(f"/admins/{admin_id}").json()
    assert set(one["avatar"]) == {"type", "image_url"}
    assert set(client.get("/me").json()["avatar"]) == {"type", "image_url"}


def test_conversation_search_by_id_greater_than_empty(client: httpx.Client, sb: Sandbox):
    """tap-intercom's conversations query: `id > ""` (and `id >= last id` on resume),
    `updated_at` after its bookmark, sorted by id."""
    body: dict[str, Any] = {
        "query": {
            "operator": "AND",
            "value": [
                {"field": "id", "operator": ">", "value": ""},
                {"field": "updated_at", "operator": ">", "value": 0},
            ],
        },
        "sort": {"field": "id", "order": "ascending"},
        "pagination": {"per_page": 150},
    }
    response = client.post("/conversations/search", json=body)
    assert response.status_code == 200, response.text
    ids = [c["id"] for c in response.json()["conversations"]]
    assert sorted(ids) == sorted(c["id"] for c in sb.truth()["conversations"])
    alone = {"query": {"field": "id", "operator": ">", "value": ""}}
    assert client.post("/conversations/search", json=alone).json()["total_count"] == len(ids)


def test_activity_logs_route_to_the_logs_not_to_one_admin(client: httpx.Client, sb: Sandbox):
    """Airbyte's activity_logs stream: a `created_at` window, then `pages.next` as a URL."""
    truth = sb.truth()["activity_logs"]
    start, end = sb.now - 20 * 86_400, sb.now - 5 * 86_400
    params = {"created_at_after": str(start), "created_at_before": str(end)}
    response = client.get("/admins/activity_logs", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == "activity_log.list"
    seen = list(body["activity_logs"])
    nxt = body["pages"]["next"]
    while nxt:
        body = client.get(nxt).json()
        seen.extend(body["activity_logs"])
        nxt = body["pages"]["next"]
    expected = sorted(e["id"] for e in truth if start < e["created_at"] < end)
    assert expected and sorted(e["id"] for e in seen) == expected
    assert client.get("/admins/activity_logs").status_code == 400  # created_at_after required


def test_segments_type_company_lists_company_segments(client: httpx.Client, sb: Sandbox):
    store = sb.store
    company_ids = {s for c in store.companies.values() for s in c["_segment_ids"]}
    companies = client.get("/segments", params={"type": "company"}).json()["segments"]
    company_segment_ids = {s["id"] for s in companies}
    assert company_ids <= company_segment_ids
    assert all("count" not in s for s in companies)
    users = client.get("/segments", params={"type": "user"}).json()["segments"]
    assert not company_segment_ids & {s["id"] for s in users}
    every = client.get("/segments").json()["segments"]
    assert {s["id"] for s in every} == company_segment_ids | {s["id"] for s in users}
    counted = client.get("/segments", params={"type": "company", "include_count": "true"})
    counts = {s["id"]: s["count"] for s in counted.json()["segments"]}
    expected = {
        sid: sum(sid in c["_segment_ids"] for c in store.companies.values())
        for sid in company_segment_ids
    }
    assert counts == expected
    assert client.get("/segments", params={"type": "visitor"}).status_code == 400
