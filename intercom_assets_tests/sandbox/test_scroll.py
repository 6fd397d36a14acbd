"""The company scroll: one per workspace, same param, empty last page, expiry, forced restart."""

import httpx

from intercom_assets.sandbox import FaultConfig, Sandbox


def test_whole_scroll_lifecycle(sb: Sandbox, client: httpx.Client):
    first = client.get("/companies/scroll").json()
    param = first["scroll_param"]
    seen = [c["id"] for c in first["data"]]
    assert len(seen) == 5  # this sandbox's scroll page size
    while True:
        page = client.get("/companies/scroll", params={"scroll_param": param}).json()
        assert page["scroll_param"] == param
        if not page["data"]:
            break
        seen += [c["id"] for c in page["data"]]
    assert sorted(seen) == [c["id"] for c in sb.truth()["companies"]]  # 0-user companies too
    gone = client.get("/companies/scroll", params={"scroll_param": param})
    assert gone.status_code == 404
    assert gone.json()["type"] == "error.list"
    assert client.get("/companies/scroll").status_code == 200  # a new scroll may start


def test_a_second_scroll_while_one_is_open_is_400_scroll_exists(client: httpx.Client):
    assert client.get("/companies/scroll").status_code == 200
    second = client.get("/companies/scroll")
    assert second.status_code == 400
    assert second.json()["errors"][0]["code"] == "scroll_exists"


def test_a_scroll_expires_after_60_idle_seconds(clock, client: httpx.Client):
    param = client.get("/companies/scroll").json()["scroll_param"]
    clock.now += 59
    assert client.get("/companies/scroll", params={"scroll_param": param}).status_code == 200
    clock.now += 61
    assert client.get("/companies/scroll", params={"scroll_param": param}).status_code == 404
    assert client.get("/companies/scroll").status_code == 200


def test_idle_timeout_is_configurable(clock):
    sb = Sandbox(size="tiny", clock=clock, scroll_idle_seconds=5, scroll_page_size=5)
    with sb.client() as client:
        param = client.get("/companies/scroll").json()["scroll_param"]
        clock.now += 6
        assert client.get("/companies/scroll", params={"scroll_param": param}).status_code == 404


def test_injected_500_closes_the_scroll_once_and_a_restart_succeeds(
    sb: Sandbox, client: httpx.Client
):
    sb.set_faults(FaultConfig(scroll_500_after_pages=2))
    param = client.get("/companies/scroll").json()["scroll_param"]
    assert client.get("/companies/scroll", params={"scroll_param": param}).status_code == 200
    failed = client.get("/companies/scroll", params={"scroll_param": param})
    assert failed.status_code == 500
    assert "restart the scroll" in failed.json()["errors"][0]["message"]
    assert client.get("/companies/scroll", params={"scroll_param": param}).status_code == 404
    restart = client.get("/companies/scroll").json()
    seen, param = [c["id"] for c in restart["data"]], restart["scroll_param"]
    while page := client.get("/companies/scroll", params={"scroll_param": param}).json()["data"]:
        seen += [c["id"] for c in page]
    assert sorted(seen) == [c["id"] for c in sb.truth()["companies"]]
