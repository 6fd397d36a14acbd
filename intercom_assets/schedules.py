"""The daily schedule: close yesterday's partition, and sweep what no window can see.

It runs in the workspace time zone (the partitions' zone), after midnight plus a buffer for
Intercom's search index lag. It reloads all of yesterday for every stream, so records the
change sensor saw late (or never) still land in their day, and it runs the searched streams
(contacts, conversations) in full mode: a sweep of every record, which catches what a window
cannot (deletes, archives, merges, tags changed without moving `updated_at`). So every kind of
change reaches the warehouse within a day; docs/change-matrix.md lists each with its bound.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeAlias
from zoneinfo import ZoneInfo

import dagster as dg

from intercom_assets.assets import DAILY_MODE, MODE_TAG, swept_daily
from intercom_assets.keys import GROUP
from intercom_assets.streams import STREAMS, Stream

DAILY_JOB = "intercom_daily"
DAILY_SCHEDULE = "intercom_daily_schedule"

DAILY_CRON = "30 0 * * *"
"""00:30: the day is over and the search index (lag: minutes) has caught up."""

AssetJob: TypeAlias = Any
"""What `dg.define_asset_job` returns: a job resolved when the definitions load. Dagster does
not export its class, so it is typed as `Any` here."""


def build_jobs(streams: Sequence[Stream] = STREAMS) -> tuple[AssetJob, ...]:
    """The daily job: every stream for one day, the searched ones in full mode (sweeps).

    What makes its runs sweep is the job's tag (`MODE_TAG`), which every run of the job
    carries however it is launched; `assets.full_mode` reads it. Run config would not do:
    the schedule's requests resolve the job's config, but `dagster job execute` and the UI's
    "Materialize" launch with the config they are given (none).
    """
    swept = [s.name for s in streams if swept_daily(s)]
    daily = dg.define_asset_job(
        DAILY_JOB,
        selection=dg.AssetSelection.groups(GROUP),
        tags={MODE_TAG: DAILY_MODE},
        description=(
            "Every Intercom stream for one day, in load order; "
            f"{', '.join(swept)} swept in full (deletes, merges, silent tag changes)."
        ),
    )
    return (daily,)


def build_schedules(
    partitions: dg.DailyPartitionsDefinition,
    jobs: tuple[AssetJob, ...],
    *,
    default_status: dg.DefaultScheduleStatus = dg.DefaultScheduleStatus.RUNNING,
    partitioned: bool = True,
) -> list[dg.ScheduleDefinition]:
    """The daily schedule of yesterday's partition (`partitioned=False`: the selected
    streams have no windowed one, so the job is unpartitioned and its runs name no
    partition)."""
    (daily,) = jobs
    timezone = partitions.timezone or "UTC"

    @dg.schedule(
        name=DAILY_SCHEDULE,
        job=daily,
        cron_schedule=DAILY_CRON,
        execution_timezone=timezone,
        default_status=default_status,
        description="Yesterday's partition of every stream, with sweeps, after the index lag.",
    )
    def intercom_daily_schedule(
        context: dg.ScheduleEvaluationContext,
    ) -> dg.RunRequest | dg.SkipReason:
        request = _yesterday_request(partitions, context.scheduled_execution_time)
        if partitioned or not isinstance(request, dg.RunRequest):
            return request
        return dg.RunRequest(run_key=request.run_key)

    return [intercom_daily_schedule]


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
