"""Auth, version header, error bodies, rate limit headers and 429s."""

import httpx
import pytest

from intercom_assets.sandbox import Sandbox

RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status
    body = response.json()
    assert body["type"] == "error.list"
    assert body["request_id"]
    assert body["errors"][0]["code"] == code
    assert body["errors"][0]["message"]


@pytest.mark.parametrize("auth", [None, "Bearer wrong", "sandbox", "Basic sandbox"])
def test_missing_or_wrong_token_is_401_without_rate_headers(sb: Sandbox, auth: str | None):
    headers = {"Authorization": auth} if auth else {}
    with httpx.Client(transport=sb.transport(), base_url=sb.base_url) as raw:
        response = raw.get("/contacts", headers=headers)
    assert_error(response, 401, "unauthorized")
    assert not any(h in response.headers for h in RATE_HEADERS)


@pytest.mark.parametrize("version", ["1.0", "2.11", "2.14", "2.16", "Preview"])
def test_known_versions_are_served(client: httpx.Client, version: str):
    response = client.get("/me", headers={"Intercom-Version": version})
    assert response.status_code == 200
    assert response.json()["app"]["timezone"] == "UTC"


@pytest.mark.parametrize("version", ["2.17", "3.0", "latest", ""])
def test_unknown_version_is_400(client: httpx.Client, version: str):
    assert_error(
        client.get("/me", headers={"Intercom-Version": version}), 400, "intercom_version_invalid"
    )


def test_me_reports_timezone_and_region(clock):
    sb = Sandbox(size="tiny", timezone="America/New_York", clock=clock)
    app = sb.client().get("/me").json()["app"]
    assert (app["timezone"], app["region"]) == ("America/New_York", "US")


def test_unknown_timezone_is_refused():
    with pytest.raises(ValueError, match="time zone"):
        Sandbox(size="tiny", timezone="Mars/Olympus")


def test_unknown_path_and_missing_records_use_the_error_body(client: httpx.Client):
    assert_error(client.get("/nope"), 404, "not_found")
    assert_error(client.get("/contacts/000000000000000000000000"), 404, "not_found")
    assert_error(client.get("/companies/000000000000000000000000"), 404, "company_not_found")
    assert_error(client.get("/conversations/1"), 404, "not_found")


def test_rate_limit_headers_count_down_in_10_second_windows(clock):
    sb = Sandbox(size="tiny", rate_limit_per_minute=60, clock=clock)  # 10 per window
    clock.now = 1_800_000_003.0
    with sb.client() as client:
        first = client.get("/tags")
        assert first.headers["X-RateLimit-Limit"] == "10"
        assert first.headers["X-RateLimit-Remaining"] == "9"
        assert first.headers["X-RateLimit-Reset"] == "1800000010"
        for _ in range(9):
            assert client.get("/tags").status_code == 200
        over = client.get("/tags")
        assert_error(over, 429, "rate_limit_exceeded")
        assert over.json()["errors"][0]["message"] == "Exceeded rate limit of 10 in 10_seconds"
        assert over.headers["X-RateLimit-Remaining"] == "0"
        clock.now = 1_800_000_010.0  # the next window
        again = client.get("/tags")
        assert again.status_code == 200
        assert again.headers["X-RateLimit-Remaining"] == "9"
        assert again.headers["X-RateLimit-Reset"] == "1800000020"


def test_default_budget_is_10000_per_minute(client: httpx.Client):
    assert client.get("/tags").headers["X-RateLimit-Limit"] == str(-(-10_000 // 6))


def test_request_counts_are_keyed_by_route_template(sb: Sandbox, client: httpx.Client):
    contact_id = sb.truth()["contacts"][0]["id"]
    client.get(f"/contacts/{contact_id}")
    client.get(f"/contacts/{contact_id}/tags")
    client.get("/contacts")
    counts = sb.request_counts()
    assert counts == {"GET /contacts": 1, "GET /contacts/{id}": 1, "GET /contacts/{id}/tags": 1}
    sb.reset_request_counts()
    assert sb.request_counts() == {}
