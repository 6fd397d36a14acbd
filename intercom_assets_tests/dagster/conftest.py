"""Fixtures for the Dagster layer: the tiny sandbox on a loopback port, assets over it."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from intercom_assets.assets import OUTCOMES
from intercom_assets.definitions import build_definitions
from intercom_assets.resources import IntercomResource, WarehouseResource
from intercom_assets.sandbox import DEFAULT_START, Churn, Sandbox
from intercom_assets.settings import PartitionSettings
from intercom_assets.streams import STREAMS
from intercom_assets.warehouse import Warehouse, connect

TIMEZONE = "America/New_York"
START_DATE = "2025-12-31"
"""First partition: the sandbox's history all lies before its end."""
SANDBOX_START = DEFAULT_START + 5 * 3600 + 1800
"""2026-01-01 00:30 in New York: each simulated day ends just after a local midnight."""
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


@dataclass
class Pipeline:
    """The stream assets, resources on a served sandbox, a warehouse and an instance."""

    sb: Sandbox
    defs: dg.Definitions
    resources: dict[str, Any]
    instance: dg.DagsterInstance
    url: str
    schema: str

    def day(self, offset_days: int = 0) -> str:
        """The partition key of the sandbox's current local day (plus an offset)."""
        now = datetime.fromtimestamp(self.sb.now, ZoneInfo(TIMEZONE))
        return (now + timedelta(days=offset_days)).strftime("%Y-%m-%d")

    def materialize(
        self, first: str, last: str | None = None, *, checks: bool = False, full: bool = False
    ) -> dg.ExecuteInProcessResult:
        """One run over partition `first` or the single-run range `first...last`."""
        assets = list(self.defs.assets or [])
        selection: list[Any] = [*assets, *(self.defs.asset_checks or [])] if checks else assets
        run_config: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
        if full:
            run_config["ops"] = {a.op.name: {"config": {"full": True}} for a in assets}
        if last is None:
            return dg.materialize(
                selection,
                partition_key=first,
                resources=self.resources,
                instance=self.instance,
                run_config=run_config,
            )
        return dg.materialize(
            selection,
            tags={RANGE_START: first, RANGE_END: last},
            resources=self.resources,
            instance=self.instance,
            run_config=run_config,
        )

    def warehouse(self) -> Warehouse:
        return connect(self.url, schema=self.schema)


def stream_metadata(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, Any]]:
    """Each stream's materialization metadata (the same on every partition of a range)."""
    found: dict[str, dict[str, Any]] = {}
    for stream in STREAMS:
        events = result.asset_materializations_for_node(f"intercom__{stream.name}")
        assert events, f"no materialization for {stream.name}"
        found[stream.name] = {k: v.value for k, v in events[0].metadata.items()}
    return found


def rows_written(metadata: dict[str, Any]) -> int:
    """Rows inserted, updated, revived or soft-deleted over the stream's tables."""
    return sum(metadata[o] for o in OUTCOMES if o != "unchanged")


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse_target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """(database URL, schema) on DuckDB and on PostgreSQL."""
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'intercom.duckdb'}", "intercom"
    return request.getfixturevalue("postgres_url"), request.getfixturevalue("postgres_schema")


def make_pipeline(
    url: str, schema: str, served: str, sb: Sandbox, instance: dg.DagsterInstance
) -> Pipeline:
    resources = {
        "intercom": IntercomResource(access_token=sb.token, base_url=served),
        "warehouse": WarehouseResource(url=url, schema_name=schema),
    }
    defs = build_definitions(PartitionSettings(START_DATE, TIMEZONE), resources)
    return Pipeline(sb, defs, resources, instance, url, schema)


@pytest.fixture
def pipeline(warehouse_target: tuple[str, str]) -> Iterator[Pipeline]:
    sb = Sandbox(size="tiny", seed=3, timezone=TIMEZONE, start=SANDBOX_START, churn=E2E_CHURN)
    with sb.serve(port=0) as served, dg.DagsterInstance.ephemeral() as instance:
        yield make_pipeline(*warehouse_target, served, sb, instance)


E2E_CHURN = Churn(
    contact_delete=0.02,
    contact_archive=0.02,
    lead_merge=0.0,
    contact_tag_change=0.0,
    contact_note_add=0.0,
    company_delete=0.02,
    event_bumps_contact=1.0,
    tag_delete=0.0,
)
"""About one contact deleted and one archived a day on `tiny`; no silent changes: no tag or
note changes and no tag deletions (they do not move `updated_at`), and every event moves its
contact's `last_seen_at`. Merges stay off until the sandbox answers 410 for a
merged contact (the contacts stream asks that to record merges)."""
