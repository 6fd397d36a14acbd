"""Fixtures for the Dagster layer: the tiny sandbox on a loopback port, assets over it."""

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from intercom_assets.api import DEFAULT_API_VERSION
from intercom_assets.assets import swept_daily
from intercom_assets.definitions import build_definitions
from intercom_assets.keys import asset_key, op_name
from intercom_assets.resources import AlertWebhookResource, IntercomResource, WarehouseResource
from intercom_assets.runs import OUTCOMES
from intercom_assets.sandbox import DEFAULT_START, Churn, Sandbox
from intercom_assets.schedules import DAILY_JOB, DAILY_SCHEDULE
from intercom_assets.sensors import CHANGE_SENSOR
from intercom_assets.settings import PartitionSettings
from intercom_assets.streams import STREAMS
from intercom_assets.warehouse import Warehouse, connect
from intercom_assets_tests.dagster.throwaway_postgres import (  # the fixture, for test modules
    throwaway_postgres as throwaway_postgres,
)

TIMEZONE = "America/New_York"
START_DATE = "2025-12-31"
"""First partition: the sandbox's history all lies before its end."""
SANDBOX_START = DEFAULT_START + 5 * 3600 + 1800
"""2026-01-01 00:30 in New York: each simulated day ends just after a local midnight."""
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


@dataclass
class Pipeline:
    """The stream assets, resources on a served sandbox, a warehouse and an instance.

    `tick()` and `daily_partition()` evaluate the code location's own change sensor and daily
    schedule at the sandbox's simulated clock, so a scenario runs what production would.
    """

    sb: Sandbox
    defs: dg.Definitions
    resources: dict[str, Any]
    instance: dg.DagsterInstance
    url: str
    schema: str
    cursor: str | None = None
    """The change sensor's cursor between ticks."""

    def day(self, offset_days: int = 0) -> str:
        """The partition key of the sandbox's current local day (plus an offset)."""
        now = datetime.fromtimestamp(self.sb.now, ZoneInfo(TIMEZONE))
        return (now + timedelta(days=offset_days)).strftime("%Y-%m-%d")

    def tick(self) -> list[str]:
        """One change-sensor tick: the streams its run request selects ([] when it skips).

        The request's partition is today by the real clock; the sandbox's clock is simulated,
        so callers run the selection for the sandbox's own day.
        """
        sensor = self.defs.resolve_sensor_def(CHANGE_SENSOR)
        with dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            resources={
                "intercom": self.resources["intercom"],
                "alert_webhook": AlertWebhookResource(),
            },
        ) as context:
            result = sensor(context)
        assert isinstance(result, dg.SensorResult)
        self.cursor = result.cursor
        requests = result.run_requests or []
        assert len(requests) <= 1, requests
        keys = {key for r in requests for key in r.asset_selection or []}
        return [s.name for s in STREAMS if asset_key(s.name) in keys]

    def daily_partition(self) -> str:
        """The partition the daily schedule asks for at the sandbox's clock."""
        schedule = self.defs.resolve_schedule_def(DAILY_SCHEDULE)
        with dg.build_schedule_context(
            scheduled_execution_time=datetime.fromtimestamp(self.sb.now, UTC),
            repository_def=self.defs.get_repository_def(),
        ) as context:
            requests = list(schedule.evaluate_tick(context).run_requests or [])
        assert len(requests) == 1, requests
        assert requests[0].partition_key is not None
        return requests[0].partition_key

    def materialize(
        self,
        first: str,
        last: str | None = None,
        *,
        streams: Sequence[str] | None = None,
        full: bool = False,
        tags: Mapping[str, str] | None = None,
        raise_on_error: bool = True,
    ) -> dg.ExecuteInProcessResult:
        """One run over partition `first` or the range `first...last` (all streams by default).

        `full` puts every chosen stream in full mode (run config); `tags` are the run's tags
        (a job's own, see `daily_run`).
        """
        assets = list(self.defs.assets or [])
        chosen = [a for a in assets if streams is None or a.op.name in _ops(streams)]
        checks = list(self.defs.asset_checks or [])  # standalone checks (`quarantine`)
        run_config: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
        if full:
            run_config["ops"] = {a.op.name: {"config": {"full": True}} for a in chosen}
        options: dict[str, Any] = {
            "resources": self.resources,
            "instance": self.instance,
            "run_config": run_config,
            "raise_on_error": raise_on_error,
        }
        options["selection"] = dg.AssetSelection.assets(*(k for a in chosen for k in a.keys))
        run_tags = dict(tags or {})
        if last is None:
            return dg.materialize([*assets, *checks], partition_key=first, tags=run_tags, **options)
        run_tags.update({RANGE_START: first, RANGE_END: last})
        return dg.materialize([*assets, *checks], tags=run_tags, **options)

    def daily_swept(self) -> list[str]:
        """The streams the daily job runs in full mode (`assets.full_mode`)."""
        return [s.name for s in STREAMS if swept_daily(s)]

    def daily_run(self, partition: str) -> dg.ExecuteInProcessResult:
        """What the daily job runs for `partition`: every stream (and its checks, in its
        step), with the job's own run tags (which put the swept streams in full mode)."""
        job = self.defs.resolve_job_def(DAILY_JOB)
        return self.materialize(partition, tags=job.run_tags)

    def warehouse(self) -> Warehouse:
        return connect(self.url, schema=self.schema)


def _ops(streams: Sequence[str]) -> set[str]:
    return {op_name(name) for name in streams}


def stream_metadata(
    result: dg.ExecuteInProcessResult, streams: Sequence[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Each stream's materialization metadata (the same on every partition of a range): its
    entity table's, with each outcome summed over the stream's tables, and `tables`: each
    table's own (`table_metadata`).

    Every stream in `streams` (all by default) must have been materialized.
    """
    found: dict[str, dict[str, Any]] = {}
    for stream in STREAMS:
        if streams is not None and stream.name not in streams:
            continue
        tables = table_metadata(result, stream.name)
        assert tables, f"no materialization for {stream.name}"
        found[stream.name] = tables[stream.name] | {
            outcome: sum(t[outcome] for t in tables.values()) for outcome in OUTCOMES
        }
        found[stream.name]["tables"] = tables
    return found


def table_metadata(result: dg.ExecuteInProcessResult, stream: str) -> dict[str, dict[str, Any]]:
    """The materialization metadata of each table a stream's step wrote, by table."""
    found: dict[str, dict[str, Any]] = {}
    for event in result.asset_materializations_for_node(op_name(stream)):
        found.setdefault(event.asset_key.path[-1], {k: v.value for k, v in event.metadata.items()})
    return found


def rows_written(metadata: dict[str, Any]) -> int:
    """Rows inserted, updated, revived or soft-deleted over the stream's tables."""
    return sum(metadata[o] for o in OUTCOMES if o != "unchanged")


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse_target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """(database URL, schema) on DuckDB and on PostgreSQL."""
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'intercom.duckdb'}", "intercom"
    return request.getfixturevalue("postgres_url"), request.getfixturevalue("postgres_schema")


def make_pipeline(
    url: str,
    schema: str,
    served: str,
    sb: Sandbox,
    instance: dg.DagsterInstance,
    api_version: str = DEFAULT_API_VERSION,
    history: str | None = None,
    events_recheck_days: int | None = None,
) -> Pipeline:
    """`history`: the warehouse's `INTERCOM_ASSETS_HISTORY` (None: no history tables);
    `events_recheck_days`: the resource's (None: its default)."""
    recheck = {} if events_recheck_days is None else {"events_recheck_days": events_recheck_days}
    resources = {
        "intercom": IntercomResource(
            access_token=sb.token, base_url=served, api_version=api_version, **recheck
        ),
        "warehouse": WarehouseResource(url=url, schema_name=schema, history=history),
    }
    defs = build_definitions(PartitionSettings(START_DATE, TIMEZONE), resources)
    return Pipeline(sb, defs, resources, instance, url, schema)


@pytest.fixture
def pipeline_with(warehouse_target: tuple[str, str]) -> Iterator[Callable[..., Pipeline]]:
    """Builds a pipeline over a served tiny sandbox; keyword arguments go to `Sandbox`."""
    with ExitStack() as stack:

        def build(**options: Any) -> Pipeline:
            settings = {"churn": E2E_CHURN} | options
            sb = Sandbox(size="tiny", seed=3, timezone=TIMEZONE, start=SANDBOX_START, **settings)
            served = stack.enter_context(sb.serve(port=0))
            instance = stack.enter_context(dg.DagsterInstance.ephemeral())
            return make_pipeline(*warehouse_target, served, sb, instance)

        yield build


@pytest.fixture
def pipeline(pipeline_with: Callable[..., Pipeline]) -> Pipeline:
    return pipeline_with()


E2E_CHURN = Churn(
    contact_update=0.5,
    contact_create=0.05,
    contact_delete=0.02,
    contact_archive=0.02,
    lead_merge=0.05,
    # Off here, on in test_exactness.py (the default churn on `demo`, every bound checked):
    # these move no `updated_at`, so the window runs of test_e2e's scenario cannot see them
    # and its assertions (exact after every run, rows written = records changed) would not
    # hold; the daily sweep brings them within a day.
    contact_tag_change=0.0,
    contact_note_add=0.0,
    company_delete=0.0,  # detaches contacts without moving their `updated_at`
    company_tag_change=0.0,
    tag_delete=0.0,  # untags contacts and conversations without moving `updated_at`
    conversation_tag_change=0.0,
    conversation_delete=0.0,
    conversation_create=0.1,
    conversation_update=0.5,
    event_contacts=0.5,
    # Every event moves its contact here; events that move nothing are found by the events
    # re-check within N days (test_exactness.py).
    event_bumps_contact=1.0,
)
"""A busy day on `tiny`: about half the contacts and conversations change a day, a contact is
deleted, one archived and a lead merged about daily. Only changes a window run can see: the
kinds that move no `updated_at` are off (each says why above) and covered by
test_exactness.py, which runs the default churn, every kind on, with the bound of each."""
