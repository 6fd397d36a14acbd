"""Fixtures for automation tests: a sandbox on a loopback port, an instance, a webhook receiver."""

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import dagster as dg
import pytest

from intercom_assets.resources import IntercomResource
from intercom_assets.sandbox import Sandbox

TIMEZONE = "America/New_York"


@dataclass
class Served:
    """A sandbox and the base URL it is served on."""

    sb: Sandbox
    url: str

    def resource(self, token: str | None = None) -> IntercomResource:
        return IntercomResource(access_token=token or self.sb.token, base_url=self.url)


@pytest.fixture
def served() -> Iterator[Served]:
    sb = Sandbox(size="tiny", seed=3, timezone=TIMEZONE)
    with sb.serve(port=0) as url:
        yield Served(sb, url)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


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
