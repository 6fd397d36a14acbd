"""The companies scroll: each company once under faults, passes that fill gaps, one scroll per
workspace, the end and the 404 after it."""

import logging
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import orjson
import pytest

from intercom_assets.api import (
    CompanyScroll,
    IntercomClient,
    IntercomNotFound,
    IntercomProtocolError,
    IntercomScrollBusy,
    IntercomServerError,
    RateLimiter,
    RetryPolicy,
)
from intercom_assets.sandbox import FaultConfig, Sandbox
from intercom_assets_tests.api.conftest import MakeClient

ROUTE = "GET /companies/scroll"


class FakeClock:
    """A wall clock the test moves by hand (drives the sandbox's scroll expiry)."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def demo_workspace() -> tuple[Sandbox, list[dict]]:
    """The demo workspace (150 companies) scrolled 4 companies a page, and its companies."""
    sb = Sandbox(size="demo", seed=1, scroll_page_size=4)
    return sb, sb.truth()["companies"]


def company_ids(sb: Sandbox) -> list[str]:
    return sorted(c["id"] for c in sb.truth()["companies"])


def test_scroll_walks_every_company_and_stops_on_the_empty_page(
    make_client: MakeClient, tmp_path: Path
):
    sb = Sandbox(size="tiny", seed=1, scroll_page_size=4)
    scroll = CompanyScroll(make_client(sb), lock_dir=tmp_path)
    pages = list(scroll)
    seen = [c["id"] for page in pages for c in page.items]
    assert sorted(seen) == company_ids(sb) and len(seen) == len(set(seen))
    assert (
        sorted((c for p in pages for c in p.items), key=lambda c: c["id"])
        == sb.truth()["companies"]
    )
    # One request per data page plus the empty page; nothing after it.
    assert sb.request_counts()[ROUTE] == len(pages) + 1 == -(-len(seen) // 4) + 1
    assert scroll.restarts == 0


def test_a_500_that_closes_the_scroll_starts_a_pass_that_fills_only_the_gap(
    make_client: MakeClient, tmp_path: Path
):
    sb = Sandbox(size="tiny", seed=1, scroll_page_size=4)
    sb.set_faults(FaultConfig(scroll_500_after_pages=2))
    client = make_client(sb)
    scroll = CompanyScroll(client, lock_dir=tmp_path, restart_delay=0.01)
    pages = list(scroll)
    seen = [c["id"] for page in pages for c in page.items]
    assert scroll.restarts == 1 and client.snapshot()["scroll_restarts"] == 1
    # Each company once: the new pass skips the two pages read before the 500.
    assert seen == sorted(set(seen)) == company_ids(sb)
    assert scroll.pages_skipped == 2
    assert [p.restarts for p in pages] == [0, 0] + [1] * (len(pages) - 2)
    assert [p.number for p in pages] == list(range(1, len(pages) + 1))
    # Two pages, the 500, its retry (404: the scroll is closed), then a whole pass.
    assert sb.request_counts()[ROUTE] == 2 + 1 + 1 + len(pages) + 1


@pytest.mark.parametrize(
    "faults",
    [FaultConfig(seed=seed, reset_rate=0.05) for seed in (1, 2, 3)]
    + [FaultConfig(seed=seed, error_rate=0.1) for seed in (1, 2, 3)],
    ids=lambda f: f"reset{f.reset_rate}-error{f.error_rate}-seed{f.seed}",
)
def test_the_demo_scroll_completes_under_faults_reading_each_company_once(
    demo_workspace: tuple[Sandbox, list[dict]],
    faults: FaultConfig,
    make_client: MakeClient,
    tmp_path: Path,
):
    """150 companies, 4 a page: 38 pages and the empty one; a clean pass is rare under these
    faults (0.95 ** 39 = 14 %, 0.9 ** 39 = 2 %), yet one walk finishes at about its cost."""
    sb, truth = demo_workspace
    sb.set_faults(faults)
    try:
        client = make_client(sb)
        scroll = CompanyScroll(client, lock_dir=tmp_path, restart_delay=0.01)
        companies = [c for page in scroll for c in page.items]
    finally:
        sb.set_faults(FaultConfig())
    assert sorted(companies, key=lambda c: c["id"]) == truth
    assert len({c["id"] for c in companies}) == len(companies)
    counters = client.snapshot()
    clean = -(-len(truth) // 4) + 1
    assert clean == 39
    assert clean < counters["requests_by_route"][ROUTE] <= clean * 1.5
    assert counters["retries"] > 0 and scroll.restarts == 0


def test_lost_pages_are_filled_by_another_pass(make_client: MakeClient, tmp_path: Path):
    """A truncated answer is a page the scroll moved past: the count comes short, a new pass
    reads the missing companies and skips the pages already read."""
    sb = Sandbox(size="tiny", seed=3, scroll_page_size=2)
    sb.set_faults(FaultConfig(seed=4, truncate_rate=0.2))
    client = make_client(sb)
    scroll = CompanyScroll(client, lock_dir=tmp_path, restart_delay=0.01)
    seen = [c["id"] for page in scroll for c in page.items]
    assert sorted(seen) == company_ids(sb) and len(seen) == len(set(seen))
    assert scroll.restarts >= 1 and scroll.pages_skipped >= 1


def test_a_scroll_that_never_progresses_gives_up_after_its_budget(
    make_client: MakeClient, tmp_path: Path
):
    sb = Sandbox(size="tiny", seed=1, scroll_page_size=4)
    sb.set_faults(FaultConfig(error_rate_by_route={ROUTE: 1.0}))
    client = make_client(sb, retry=RetryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.01))
    scroll = CompanyScroll(client, lock_dir=tmp_path, restart_delay=0.01, max_stalled_restarts=2)
    started = time.monotonic()
    with pytest.raises(IntercomServerError, match="GET /companies/scroll"):
        list(scroll)
    assert scroll.restarts == 2 and sb.request_counts()[ROUTE] == 3 * 2
    # Backoff doubles per stalled pass: 0.02 s then 0.04 s at most (half of it at least).
    assert time.monotonic() - started >= 0.5 * (0.02 + 0.04)


def test_scroll_tolerates_the_404_after_the_end(
    make_client: MakeClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG, logger="intercom_assets.api")
    clock = FakeClock()
    sb = Sandbox(size="tiny", seed=1, scroll_page_size=4, scroll_idle_seconds=5, clock=clock)
    scroll = CompanyScroll(make_client(sb), lock_dir=tmp_path, restart_delay=0.01)
    seen: list[str] = []
    total = len(company_ids(sb))
    for page in scroll:
        seen.extend(c["id"] for c in page.items)
        if len(seen) == total:
            clock.now += 10  # the caller dawdles after the last page: the scroll expires
    assert sorted(seen) == company_ids(sb)
    assert scroll.restarts == 0  # the 404 came after every record: it is the end
    assert any(f"{ROUTE} -> 404" in r.getMessage() for r in caplog.records)


def test_scroll_expired_midway_restarts(make_client: MakeClient, tmp_path: Path):
    clock = FakeClock()
    sb = Sandbox(size="tiny", seed=1, scroll_page_size=4, scroll_idle_seconds=5, clock=clock)
    scroll = CompanyScroll(make_client(sb), lock_dir=tmp_path, restart_delay=0.01)
    seen: list[str] = []
    for page in scroll:
        seen.extend(c["id"] for c in page.items)
        if page.number == 1 and page.restarts == 0:
            clock.now += 10  # too slow between pages: the scroll expired, not finished
    assert scroll.restarts == 1 and scroll.pages_skipped == 1
    assert sorted(seen) == company_ids(sb)


def test_a_finished_scroll_param_is_a_typed_404(make_client: MakeClient):
    sb = Sandbox(size="tiny", seed=1, scroll_page_size=50)
    client = make_client(sb)
    first = client.get("/companies/scroll")
    assert client.get("/companies/scroll", {"scroll_param": first["scroll_param"]})["data"] == []
    with pytest.raises(IntercomNotFound, match="GET /companies/scroll"):
        client.get("/companies/scroll", {"scroll_param": first["scroll_param"]})


def test_scroll_waits_out_a_scroll_opened_elsewhere(make_client: MakeClient, tmp_path: Path):
    """Another machine's scroll holds the workspace: ours gets scroll_exists, waits, both finish."""
    sb = Sandbox(size="tiny", seed=1, scroll_page_size=4, scroll_idle_seconds=2)
    expected = company_ids(sb)
    opened, finished = threading.Event(), threading.Event()
    foreign_seen: list[str] = []

    def foreign_scroll() -> None:
        with sb.client() as http:
            body = http.get("/companies/scroll").json()
            opened.set()
            while body["data"]:
                foreign_seen.extend(c["id"] for c in body["data"])
                finished.wait(0.2)
                body = http.get(
                    "/companies/scroll", params={"scroll_param": body["scroll_param"]}
                ).json()

    other = threading.Thread(target=foreign_scroll)
    other.start()
    opened.wait(5)
    scroll = CompanyScroll(
        make_client(sb), lock_dir=tmp_path, scroll_exists_poll=0.1, scroll_exists_timeout=20
    )
    ours = [c["id"] for page in scroll for c in page.items]
    other.join(10)
    assert scroll.scroll_exists_waits > 0
    assert sorted(ours) == expected and sorted(foreign_seen) == expected


def test_two_threads_scroll_one_after_the_other(make_client: MakeClient, tmp_path: Path):
    sb = Sandbox(size="tiny", seed=1, scroll_page_size=4)
    results: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            scroll = CompanyScroll(make_client(sb), lock_dir=tmp_path, scroll_exists_timeout=0)
            results[name] = [c["id"] for page in scroll for c in page.items]
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in ("a", "b", "c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    # scroll_exists_timeout=0: any overlap would have raised scroll_exists; the lock prevents it.
    assert errors == []
    assert all(sorted(ids) == company_ids(sb) for ids in results.values()) and len(results) == 3


def test_another_process_holding_the_scroll_lock_blocks_within_the_bound(
    make_client: MakeClient, tmp_path: Path
):
    sb = Sandbox(size="tiny", seed=1)
    client = make_client(sb)
    scroll = CompanyScroll(client, lock_dir=tmp_path, lock_timeout=0.5)
    assert sb.token not in str(scroll.lock_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import filelock, sys, time\n"
            f"lock = filelock.FileLock({str(scroll.lock_path)!r}); lock.acquire()\n"
            "print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(IntercomScrollBusy, match="another process"):
            list(scroll)
        assert sb.request_counts().get(ROUTE, 0) == 0
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert len([c for page in scroll for c in page.items]) == len(company_ids(sb))


class DropFirstId(httpx.BaseTransport):
    """The sandbox's transport; the first company of each scroll page loses its `id`."""

    def __init__(self, sb: Sandbox) -> None:
        self.inner = sb.transport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if response.status_code != 200:
            return response
        body = orjson.loads(response.read())
        if body.get("data"):
            del body["data"][0]["id"]
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
        return httpx.Response(200, headers=headers, content=orjson.dumps(body), request=request)


def test_a_company_without_an_id_is_an_error(tmp_path: Path):
    sb = Sandbox(size="tiny", seed=1, scroll_page_size=4)
    client = IntercomClient(
        sb.token, base_url=sb.base_url, transport=DropFirstId(sb), limiter=RateLimiter()
    )
    with client, pytest.raises(IntercomProtocolError, match="company without an id"):
        list(CompanyScroll(client, lock_dir=tmp_path))
