"""Injected faults: server errors, per-route overrides, 429 bursts, broken bodies, resets."""

import json

import httpx
import pytest

from intercom_assets.sandbox import FaultConfig, Sandbox


def test_error_rate_one_answers_5xx_with_intercoms_error_body(sb: Sandbox, client):
    sb.set_faults(FaultConfig(error_rate=1.0))
    statuses = set()
    for _ in range(40):
        response = client.get("/tags")
        statuses.add(response.status_code)
        assert response.json()["type"] == "error.list"
        assert "X-RateLimit-Remaining" in response.headers
    assert statuses <= {500, 502, 503, 504}
    assert len(statuses) > 1


def test_per_route_override(sb: Sandbox, client):
    sb.set_faults(FaultConfig(error_rate=0.0, error_rate_by_route={"GET /tags": 1.0}))
    assert client.get("/tags").status_code >= 500
    assert client.get("/teams").status_code == 200


def test_a_429_burst_has_the_configured_length(sb: Sandbox, client):
    sb.set_faults(FaultConfig(burst_429_rate=1.0, burst_429_length=3))
    response = client.get("/tags")
    assert response.status_code == 429
    assert response.json()["errors"][0]["code"] == "rate_limit_exceeded"
    sb.set_faults(FaultConfig(seed=3, burst_429_rate=0.05, burst_429_length=4))
    codes = [client.get("/tags").status_code for _ in range(300)]
    runs = "".join("x" if c == 429 else "." for c in codes).split(".")
    lengths = {len(r) for r in runs if r}
    assert lengths and all(n % 4 == 0 for n in lengths)  # bursts of 4 (back to back at most)


def test_truncated_and_empty_bodies(sb: Sandbox, client):
    sb.set_faults(FaultConfig(truncate_rate=1.0))
    truncated = client.get("/tags")
    assert truncated.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(truncated.content)
    sb.set_faults(FaultConfig(empty_body_rate=1.0))
    empty = client.get("/tags")
    assert (empty.status_code, empty.content) == (200, b"")


def test_reset_raises_read_error_in_process(sb: Sandbox, client):
    sb.set_faults(FaultConfig(reset_rate=1.0))
    with pytest.raises(httpx.ReadError):
        client.get("/tags")


def test_faults_never_touch_sandbox_controls(sb: Sandbox, client):
    sb.set_faults(FaultConfig(error_rate=1.0, reset_rate=1.0))
    assert client.get("/_sandbox/clock").json()["now"] == sb.now


def test_same_seed_same_faults(clock):
    def run() -> list[int]:
        sb = Sandbox(size="tiny", clock=clock)
        sb.set_faults(FaultConfig(seed=7, error_rate=0.3))
        with sb.client() as client:
            return [client.get("/tags").status_code for _ in range(50)]

    assert run() == run()


def test_unknown_fault_settings_are_refused(client):
    response = client.put("/_sandbox/faults", json={"error_rate": 0.5, "eror_rate": 1})
    assert response.status_code == 400
    assert "eror_rate" in response.json()["errors"][0]["message"]
