"""Schedules: close yesterday's partition daily, and sweep contacts and companies weekly.

Both run in the workspace time zone (the partitions' zone). The daily run starts after
midnight plus a buffer for Intercom's search index lag, and reloads all of yesterday for
every stream, so records the change sensor saw late (or never) still land in their day.
The weekly run loads contacts and companies in full mode, which catches what a window
cannot: deletes, merges and tag changes that do not move `updated_at`.
"""

from datetime import datetime, timedelta
from typing import Any, TypeAlias
from zoneinfo import ZoneInfo

import dagster as dg

from intercom_assets.assets import GROUP, asset_key

DAILY_JOB = "intercom_daily"
FULL_SWEEP_JOB = "intercom_full_sweep"
DAILY_SCHEDULE = "intercom_daily_schedule"
FULL_SWEEP_SCHEDULE = "intercom_weekly_full_sweep_schedule"

DAILY_CRON = "30 0 * * *"
"""00:30: the day is over and the search index (lag: minutes) has caught up."""
WEEKLY_CRON = "0 3 * * 0"
"""Sunday 03:00, after the daily run: the quietest hour for a long sweep."""
FULL_SWEEP_STREAMS = ("companies", "contacts")
MODE_TAG = "intercom_assets/mode"

AssetJob: TypeAlias = Any
"""What `dg.define_asset_job` returns: a job resolved when the definitions load. Dagster does
not export its class, so it is typed as `Any` here."""


def build_jobs() -> tuple[AssetJob, ...]:
    """The daily job (every stream) and the full-sweep job (contacts and companies, `full`)."""
    daily = dg.define_asset_job(
        DAILY_JOB,
        selection=dg.AssetSelection.groups(GROUP),
        tags={MODE_TAG: "window"},
        description="Every Intercom stream for one day, in load order.",
    )
    sweep = dg.define_asset_job(
        FULL_SWEEP_JOB,
        selection=dg.AssetSelection.assets(*(asset_key(n) for n in FULL_SWEEP_STREAMS)),
        config={"ops": {_op_name(n): {"config": {"full": True}} for n in FULL_SWEEP_STREAMS}},
        tags={MODE_TAG: "full"},
        description="Contacts and companies in full mode: deletes, merges, tag drift.",
    )
    return daily, sweep


def build_schedules(
    partitions: dg.DailyPartitionsDefinition,
    jobs: tuple[AssetJob, ...],
    *,
    default_status: dg.DefaultScheduleStatus = dg.DefaultScheduleStatus.RUNNING,
) -> list[dg.ScheduleDefinition]:
    """The daily schedule of yesterday's partition and the weekly full sweep."""
    daily, sweep = jobs
    timezone = partitions.timezone or "UTC"

    @dg.schedule(
        name=DAILY_SCHEDULE,
        job=daily,
        cron_schedule=DAILY_CRON,
        execution_timezone=timezone,
        default_status=default_status,
        description="Reloads yesterday's partition for every stream after the index lag.",
    )
    def intercom_daily_schedule(
        context: dg.ScheduleEvaluationContext,
    ) -> dg.RunRequest | dg.SkipReason:
        return _yesterday_request(partitions, context.scheduled_execution_time)

    @dg.schedule(
        name=FULL_SWEEP_SCHEDULE,
        job=sweep,
        cron_schedule=WEEKLY_CRON,
        execution_timezone=timezone,
        default_status=default_status,
        description="Weekly full-mode sweep of contacts and companies.",
    )
    def intercom_weekly_full_sweep_schedule(
        context: dg.ScheduleEvaluationContext,
    ) -> dg.RunRequest | dg.SkipReason:
        return _yesterday_request(partitions, context.scheduled_execution_time)

    return [intercom_daily_schedule, intercom_weekly_full_sweep_schedule]


def yesterday_key(partitions: dg.DailyPartitionsDefinition, at: datetime) -> str:
    """The key of the day before `at`'s day in the partitions' time zone."""
    local = at.astimezone(ZoneInfo(partitions.timezone or "UTC"))
    return (local.date() - timedelta(days=1)).strftime(partitions.fmt)


def _yesterday_request(
    partitions: dg.DailyPartitionsDefinition, at: datetime | None
) -> dg.RunRequest | dg.SkipReason:
    if at is None:
        raise ValueError("a schedule evaluation needs its scheduled execution time")
    key = yesterday_key(partitions, at)
    if key < partitions.start.strftime(partitions.fmt):
        return dg.SkipReason(f"yesterday ({key}) is before the first partition")
    return dg.RunRequest(run_key=key, partition_key=key)


def _op_name(stream_name: str) -> str:
    """The op name Dagster gives the asset `intercom/<name>`."""
    return asset_key(stream_name).to_python_identifier()
