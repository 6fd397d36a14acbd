"""Fixtures for stream tests: a tiny sandbox in-process, a client, a DuckDB warehouse."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from intercom_assets.api import DEFAULT_API_VERSION, IntercomClient, RetryPolicy, Workspace
from intercom_assets.sandbox import Sandbox
from intercom_assets.streams import STREAMS, StreamContext, StreamReport, Window, get_stream
from intercom_assets.warehouse import Warehouse, connect


@dataclass
class Harness:
    """A sandbox, a client on it and a warehouse; runs streams over windows."""

    sb: Sandbox
    client: IntercomClient
    warehouse: Warehouse
    workspace: Workspace
    batch_size: int = 25
    allow_empty_listings: bool = False
    reports: dict[str, StreamReport] = field(default_factory=dict)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.sb.now, UTC)

    def run(
        self,
        name: str,
        start: datetime | None = None,
        *,
        full: bool = False,
        client: IntercomClient | None = None,
        max_in_flight: int = 4,
    ) -> StreamReport:
        ctx = StreamContext(
            client=client or self.client,
            warehouse=self.warehouse,
            window=Window(start, self.now()),
            workspace=self.workspace,
            full=full,
            batch_size=self.batch_size,
            max_in_flight=max_in_flight,
            allow_empty_listings=self.allow_empty_listings,
        )
        report = get_stream(name).run(ctx)
        self.reports[name] = report
        return report

    def run_window(self, name: str, start: datetime | None, end: datetime) -> StreamReport:
        """One run of a stream over the window `[start, end)` (an end past now is an open
        window, as today's partition)."""
        ctx = StreamContext(
            client=self.client,
            warehouse=self.warehouse,
            window=Window(start, end),
            workspace=self.workspace,
            batch_size=self.batch_size,
        )
        report = get_stream(name).run(ctx)
        self.reports[name] = report
        return report

    def run_all(
        self, start: datetime | None = None, *, full: bool = False
    ) -> dict[str, StreamReport]:
        return {s.name: self.run(s.name, start, full=full) for s in STREAMS}


def make_client(
    sb: Sandbox, transport: object | None = None, api_version: str = DEFAULT_API_VERSION
) -> IntercomClient:
    return IntercomClient(
        sb.token,
        base_url=sb.base_url,
        transport=transport or sb.transport(),  # type: ignore[arg-type]
        api_version=api_version,
        retry=RetryPolicy(max_attempts=3, max_total_seconds=10, base_delay=0.01, max_delay=0.05),
    )


def make_harness(
    warehouse: Warehouse, api_version: str = DEFAULT_API_VERSION, **sandbox: object
) -> Harness:
    size = str(sandbox.pop("size", "tiny"))
    sb = Sandbox(size=size, seed=int(sandbox.pop("seed", 1)), **sandbox)  # type: ignore[arg-type]
    client = make_client(sb, api_version=api_version)
    return Harness(sb, client, warehouse, client.me())


@pytest.fixture
def warehouse(duckdb_path: Path) -> Iterator[Warehouse]:
    with connect(duckdb_path, schema="intercom") as wh:
        yield wh


@pytest.fixture
def harness(warehouse: Warehouse) -> Iterator[Harness]:
    h = make_harness(warehouse, timezone="America/New_York")
    yield h
    h.client.close()
