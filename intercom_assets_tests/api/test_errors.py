"""Typed errors, no retries where none help, and a token that never leaks."""

import logging
from pathlib import Path

import pytest

from intercom_assets.api import (
    CompanyScroll,
    IntercomAuthError,
    IntercomBadRequest,
    IntercomClient,
    IntercomError,
    IntercomNotFound,
    IntercomServerError,
    IntercomTransportError,
    RateLimiter,
    RetryPolicy,
    iter_cursor_pages,
    limiter_for,
)
from intercom_assets.sandbox import FaultConfig, Sandbox
from intercom_assets_tests.api.conftest import MakeClient

SECRET = "dG9rOnNlY3JldC12YWx1ZS0xMjM0NTY3ODkw"
WRONG = "dG9rOndyb25nLXZhbHVlLTk4NzY1NDMyMTA"


def test_a_wrong_token_fails_after_exactly_one_request(make_client: MakeClient):
    sb = Sandbox(size="tiny", seed=1, token=SECRET)
    client = make_client(sb, token=WRONG)
    with pytest.raises(IntercomAuthError) as caught:
        client.me()
    assert sb.request_counts() == {"GET /me": 1}
    assert client.snapshot()["requests"] == 1 and client.snapshot()["retries"] == 0
    message = str(caught.value)
    assert "GET /me" in message and "401" in message and "unauthorized" in message
    assert caught.value.status == 401 and caught.value.code == "unauthorized"


def test_a_404_on_a_known_path_raises_the_typed_not_found(
    sandbox: Sandbox, make_client: MakeClient
):
    client = make_client(sandbox)
    before = sandbox.request_counts().get("GET /conversations/{id}", 0)
    with pytest.raises(IntercomNotFound) as caught:
        client.get("/conversations/999999999")
    assert "GET /conversations/999999999" in str(caught.value) and "not_found" in str(caught.value)
    assert sandbox.request_counts()["GET /conversations/{id}"] == before + 1


def test_a_bad_request_is_not_retried(sandbox: Sandbox, make_client: MakeClient):
    client = make_client(sandbox)
    with pytest.raises(IntercomBadRequest, match="parameter_invalid"):
        client.get("/data_attributes", {"model": "ticket"})
    assert client.snapshot()["retries"] == 0


def test_retries_are_bounded(make_client: MakeClient):
    sb = Sandbox(size="tiny", seed=1)
    sb.set_faults(FaultConfig(error_rate=1.0))
    client = make_client(sb, retry=RetryPolicy(max_attempts=3, base_delay=0.001))
    with pytest.raises(IntercomServerError):
        client.get("/admins")
    assert sb.request_counts() == {"GET /admins": 3}
    sb.set_faults(FaultConfig(empty_body_rate=1.0))
    with pytest.raises(IntercomTransportError, match="empty body"):
        client.get("/teams")
    assert sb.request_counts()["GET /teams"] == 3


def test_clients_of_one_app_share_one_rate_limiter():
    a = IntercomClient("token-a", base_url="https://api.example.test")
    b = IntercomClient("token-a", base_url="https://api.example.test/")
    c = IntercomClient("token-b", base_url="https://api.example.test")
    assert a.limiter is b.limiter is limiter_for("https://api.example.test", "token-a")
    assert c.limiter is not a.limiter
    for client in (a, b, c):
        client.close()


def test_requests_carry_version_user_agent_and_bearer_token():
    import httpx

    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"type": "admin.list", "admins": []})

    with IntercomClient(
        "tok", region="EU", api_version="2.16", transport=httpx.MockTransport(record)
    ) as client:
        client.get("/admins")
    (request,) = seen
    assert str(request.url) == "https://api.eu.intercom.io/admins"
    assert request.headers["intercom-version"] == "2.16"
    assert request.headers["user-agent"].startswith("intercom-assets/")
    assert request.headers["authorization"] == "Bearer tok"
    assert request.headers["accept"] == "application/json"


def test_the_token_appears_in_no_log_error_repr_or_counter(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
):
    caplog.set_level(logging.DEBUG)  # every logger: ours, httpx, httpcore, filelock
    sb = Sandbox(size="tiny", seed=1, token=SECRET, scroll_page_size=4, scroll_idle_seconds=0.2)
    sb.set_faults(FaultConfig(seed=5, error_rate=0.2, reset_rate=0.1, truncate_rate=0.1))
    texts: list[str] = []
    fast = RetryPolicy(max_attempts=10, base_delay=0.001)
    with IntercomClient(
        SECRET, base_url=sb.base_url, transport=sb.transport(), retry=fast, limiter=RateLimiter()
    ) as client:
        list(iter_cursor_pages(client, "/contacts", per_page=10))
        scroll = CompanyScroll(client, lock_dir=tmp_path, scroll_exists_poll=0.05)
        list(scroll)
        for path in ("/contacts/nope", "/admins/0"):
            with pytest.raises(IntercomError) as caught:
                client.get(path)
            texts += [str(caught.value), repr(caught.value)]
        texts += [repr(client), repr(client._http.auth), str(client.snapshot()), str(vars(client))]
        texts += [str(scroll.lock_path), repr(client._http.headers)]
        assert client.snapshot()["retries"] > 0
    with IntercomClient(
        WRONG, base_url=sb.base_url, transport=sb.transport(), limiter=RateLimiter()
    ) as wrong:
        with pytest.raises(IntercomAuthError) as caught:
            wrong.me()
        texts += [str(caught.value), repr(caught.value), repr(wrong)]
    texts += [r.getMessage() for r in caplog.records] + [repr(r.args) for r in caplog.records]
    assert len(caplog.records) > 20
    for secret in (SECRET, WRONG):
        assert not [t for t in texts if secret in t]


def test_a_server_echoing_the_token_is_redacted(make_client: MakeClient):
    import httpx

    def echo(request: httpx.Request) -> httpx.Response:
        token = request.headers["authorization"].removeprefix("Bearer ")
        return httpx.Response(
            401, json={"type": "error.list", "errors": [{"code": "unauthorized", "message": token}]}
        )

    with (
        IntercomClient(SECRET, transport=httpx.MockTransport(echo)) as client,
        pytest.raises(IntercomAuthError) as caught,
    ):
        client.me()
    assert SECRET not in str(caught.value) and "***" in str(caught.value)
