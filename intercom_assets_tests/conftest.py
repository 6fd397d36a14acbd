"""Shared fixtures: a real PostgreSQL (when configured) and a real DuckDB file."""

import json
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from intercom_assets.warehouse import Warehouse, connect

POSTGRES_URL_ENV = "INTERCOM_ASSETS_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_ENV = "INTERCOM_ASSETS_REQUIRE_POSTGRES"
REQUIRE_OPENAPI_ENV = "INTERCOM_ASSETS_REQUIRE_OPENAPI"
OPENAPI_DIR_ENV = "INTERCOM_ASSETS_OPENAPI_DIR"
"""The folder holding Intercom's OpenAPI descriptions (2.14.yaml, 2.16.yaml) for the
sandbox's conformance tests."""
POSTGRES_FIXTURES = {"postgres_url", "postgres_schema", "throwaway_postgres"}
"""Fixtures that give a test PostgreSQL; a test using one carries the `postgres` marker."""


def uses_postgres(item: pytest.Item) -> bool:
    """Whether a test needs PostgreSQL: it asks for a PostgreSQL fixture, or one of its
    parameters is `"postgres"` (fixtures parametrized over the backends, which ask for
    PostgreSQL only in that case)."""
    if POSTGRES_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and any(v == "postgres" for v in callspec.params.values())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that needs PostgreSQL carries the `postgres` marker, so `-m postgres` and
    `-m "not postgres"` select exactly them. The `slow` scenarios run first, those of
    `SHARED_FIXTURE_MODULES` (the longest chains: the browser test's five tests on one demo)
    before the others (otherwise in their order), so that on several workers (`-n 2`: one unit
    of `worker_group` at a time to each) the short tests fill in around them instead of one
    long scenario running alone at the end."""
    for item in items:
        if uses_postgres(item) and item.get_closest_marker("postgres") is None:
            item.add_marker(pytest.mark.postgres)

    def order(item: pytest.Item) -> tuple[bool, int]:
        module = item.nodeid.partition("::")[0]
        rank = [*SHARED_FIXTURE_MODULES, module].index(module)  # the others after them
        return item.get_closest_marker("slow") is None, rank

    items.sort(key=order)


SHARED_FIXTURE_MODULES = (
    "intercom_assets_tests/ui/test_demo_ui.py",  # one `intercom-assets demo --ui`
    "intercom_assets_tests/oracle/test_oracle.py",  # a loaded warehouse per backend
    "intercom_assets_tests/dagster/test_demo.py",  # a demo run per backend
)
"""Modules whose tests share an expensive module-scoped fixture."""
BACKENDS = ("duckdb", "postgres")


def worker_group(nodeid: str) -> str:
    """The unit of tests handed to one worker under `-n`: in a `SHARED_FIXTURE_MODULES`
    module, all its tests on one backend (parameter id `duckdb` or `postgres`) or all its
    others, so that the shared fixture is built once and not once on each worker that is
    handed one of them (and again when a worker comes back to them after another module);
    elsewhere each test on its own."""
    module, _, test = nodeid.partition("::")
    if module not in SHARED_FIXTURE_MODULES:
        return nodeid
    params = test.partition("[")[2].rstrip("]").split("-")
    return "::".join([module, *(b for b in BACKENDS if b in params)])


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """The README's `-n 2`: one unit (`worker_group`) at a time to each worker, in this
    conftest's order (slow scenarios first); `--maxschedchunk` has no effect on it."""
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return worker_group(nodeid)

    config.option.loadscopereorder = False
    return GroupScheduling(config, log)


def require(switch: str, reason: str) -> None:
    """Skip the test for `reason`, or fail it when the switch variable is `1` (.ci/run sets
    the switches: there nothing may skip for want of a resource)."""
    if os.environ.get(switch) == "1":
        pytest.fail(f"{switch}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of a PostgreSQL database the tests may write to.

    Without INTERCOM_ASSETS_TEST_POSTGRES_URL the test is skipped with a visible reason;
    with INTERCOM_ASSETS_REQUIRE_POSTGRES=1 (set by .ci/run) it fails instead.
    """
    url = os.environ.get(POSTGRES_URL_ENV)
    if url:
        return url
    require(
        REQUIRE_POSTGRES_ENV,
        f"PostgreSQL tests need {POSTGRES_URL_ENV}=postgresql://user@host:port/db",
    )
    raise AssertionError("unreachable")  # require() skips or fails


@pytest.fixture
def postgres_schema(postgres_url: str) -> Iterator[str]:
    """A fresh, uniquely named schema in the test database, dropped afterwards."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def duckdb_path(tmp_path: Path) -> Path:
    """Path of a DuckDB database file that does not exist yet."""
    return tmp_path / "warehouse.duckdb"


@pytest.fixture(params=["duckdb", "postgres"])
def any_warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Warehouse]:
    """A new, empty warehouse on each backend: a DuckDB file, and a fresh PostgreSQL schema."""
    if request.param == "duckdb":
        url, schema = str(tmp_path / "w.duckdb"), "intercom"
    else:
        url = request.getfixturevalue("postgres_url")
        schema = request.getfixturevalue("postgres_schema")
    with connect(url, schema=schema) as wh:
        yield wh


@dataclass
class Receiver:
    """A Slack-style webhook on loopback: records every JSON body it is sent."""

    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    fail_next: int = 0
    """Answer this many of the next posts with 500 (they are not recorded)."""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if state.fail_next > 0:
                state.fail_next -= 1
                self.send_response(500)
            else:
                state.received.append(json.loads(body))
                self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
