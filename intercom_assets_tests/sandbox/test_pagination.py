"""Page sizes, cursors, page numbers, the 10,000-company cap and link-URL sub-lists."""

import httpx
import pytest

from intercom_assets.sandbox import Sandbox


def test_get_contacts_defaults_to_10_and_the_cursor_walks_every_live_contact(
    sb, client, walk_cursor
):
    first = client.get("/contacts").json()
    assert len(first["data"]) == 10
    assert first["pages"]["per_page"] == 10
    assert first["total_count"] == len(sb.truth()["contacts"])
    assert first["pages"]["next"]["starting_after"].startswith("W")  # base64 of a JSON array
    ids = [c["id"] for c in walk_cursor(client, "/contacts", "data", per_page=7)]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == [c["id"] for c in sb.truth()["contacts"]]


def test_conversations_default_to_20_and_walk_completely(sb, client, walk_cursor):
    assert len(client.get("/conversations").json()["conversations"]) == 20
    ids = [c["id"] for c in walk_cursor(client, "/conversations", "conversations", per_page=150)]
    assert sorted(ids) == sorted(c["id"] for c in sb.truth()["conversations"])


@pytest.mark.parametrize("path", ["/contacts", "/conversations", "/companies/list"])
@pytest.mark.parametrize("size", ["151", "0", "ten"])
def test_per_page_outside_1_to_150_is_400(client: httpx.Client, path: str, size: str):
    method = client.post if path == "/companies/list" else client.get
    response = method(path, params={"per_page": size})
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "parameter_invalid"


def test_per_page_150_is_allowed(client: httpx.Client):
    assert client.get("/contacts", params={"per_page": 150}).status_code == 200


def test_a_bad_cursor_is_400(client: httpx.Client):
    response = client.get("/contacts", params={"starting_after": "garbage!"})
    assert response.status_code == 400


def test_companies_list_pages_by_number_and_leaves_out_companies_without_users(sb, client):
    truth = sb.truth()
    with_users = {c["id"] for c in truth["companies"] if c["user_count"] > 0}
    assert with_users != {c["id"] for c in truth["companies"]}, "tiny has companies with 0 users"
    assert client.post("/companies/list").json()["pages"]["per_page"] == 15
    first = client.post("/companies/list", params={"per_page": 4}).json()
    assert first["total_count"] == len(with_users)
    seen = []
    for page in range(1, first["pages"]["total_pages"] + 1):
        body = client.post("/companies/list", params={"page": page, "per_page": 4}).json()
        seen += [c["id"] for c in body["data"]]
    assert sorted(seen) == sorted(with_users)
    spends = [c["last_request_at"] for c in client.post("/companies/list").json()["data"]]
    assert spends == sorted(spends, reverse=True)


def test_companies_list_past_10000_companies_is_refused(client: httpx.Client):
    response = client.post("/companies/list", params={"page": 68, "per_page": 150})
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "page limit reached, please use scroll API"
    assert client.post("/companies/list", params={"page": 67, "per_page": 150}).status_code == 200


def test_get_companies_finds_by_company_id_name_tag_and_segment(sb, client):
    company = next(c for c in sb.truth()["companies"] if c["tags"]["tags"])
    assert (
        client.get("/companies", params={"company_id": company["company_id"]}).json()["id"]
        == company["id"]
    )
    assert (
        client.get("/companies", params={"name": company["name"]}).json()["name"] == company["name"]
    )
    tag_id = company["tags"]["tags"][0]["id"]
    tagged = client.get("/companies", params={"tag_id": tag_id, "per_page": 150}).json()["data"]
    assert company["id"] in {c["id"] for c in tagged}
    assert all(tag_id in {t["id"] for t in c["tags"]["tags"]} for c in tagged)
    missing = client.get("/companies", params={"company_id": "nope"})
    assert missing.json()["errors"][0]["code"] == "company_not_found"


def test_contact_sub_lists_link_the_next_page_as_a_url(sb: Sandbox, client: httpx.Client):
    heavy = next(c for c in sb.truth()["contacts"] if c["companies"]["has_more"])
    path = f"/contacts/{heavy['id']}/companies"
    url, seen = f"{sb.base_url}{path}?per_page=4", []
    while url:
        body = client.get(url).json()
        seen += [c["id"] for c in body["companies"]]
        assert body["total_count"] == heavy["companies"]["total_count"]
        url = body["pages"]["next"]
    assert sorted(seen) == sb.truth()["contact_companies"][heavy["id"]]
    notes_url, notes = f"{sb.base_url}/contacts/{heavy['id']}/notes?per_page=5", []
    while notes_url:
        body = client.get(notes_url).json()
        notes += body["data"]
        notes_url = body["pages"]["next"]
    assert len(notes) == heavy["notes"]["total_count"] > 10
