"""The code location: every stream asset, its checks, jobs, schedules, sensors and resources.

Nothing is read when this module imports. Dagster calls `defs` (a `@dg.definitions`
function) when it loads the code location (`dagster dev`, `dagster-daemon`,
`dagster asset materialize -m intercom_assets.definitions`, `workspace.yaml`); that call loads
the defs folder, whose `defs.yaml` renders the component's attributes from the environment,
and wires each resource field to its variable (`dg.EnvVar`, resolved when a run or tick
starts). See `intercom_assets.settings`.
"""

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import dagster as dg

from intercom_assets.assets import build_assets
from intercom_assets.failures import STREAM_RETRY_POLICY
from intercom_assets.partitions import daily_partitions
from intercom_assets.quarantine import build_quarantine_checks
from intercom_assets.resources import AlertWebhookResource, resolved_secrets, resources_from_env
from intercom_assets.schedules import build_jobs, build_schedules
from intercom_assets.sensors import (
    build_change_sensor,
    build_freshness_alert_sensor,
    build_run_failure_sensor,
    freshness_policy,
)
from intercom_assets.settings import AutomationSettings, PartitionSettings, SettingError
from intercom_assets.streams import STREAMS, Stream
from intercom_assets.switches import RANGE_RUN_ENVIRONMENT as RANGE_RUN_ENVIRONMENT
from intercom_assets.switches import range_run_environment as range_run_environment


def build_definitions(
    settings: PartitionSettings,
    resources: Mapping[str, object] | None = None,
    *,
    automation: AutomationSettings | None = None,
    retry_policy: dg.RetryPolicy = STREAM_RETRY_POLICY,
    streams: Sequence[Stream] = STREAMS,
    translate: Callable[[dg.AssetSpec], dg.AssetSpec] = lambda spec: spec,
) -> dg.Definitions:
    """The definitions of these streams (all of Intercom's by default) for these settings.

    `resources` default to `resources_from_env()`; given ones without `alert_webhook` get a
    webhook without URL (alerts are logged only). `translate` changes each table's asset spec
    (the component's translation). Reads and writes no environment variable of
    Dagster's: the switches for range runs belong in the environment of the processes that
    create and execute runs (`RANGE_RUN_ENVIRONMENT`).
    """
    automation = automation or AutomationSettings()
    partitions = daily_partitions(settings)
    policy = freshness_policy(automation.freshness_warn_hours, automation.freshness_fail_hours)
    assets = dg.map_asset_specs(
        lambda spec: translate(spec.replace_attributes(freshness_policy=policy)),
        build_assets(partitions, streams, retry_policy=retry_policy),
    )
    jobs = build_jobs(streams)
    if resources is None:
        resources = resources_from_env()
    every = {"alert_webhook": AlertWebhookResource(), **resources}

    def secrets() -> list[str]:
        # the values these resources resolve to at the tick (a literal, or any variable)
        return resolved_secrets(every)

    return dg.Definitions(
        assets=assets,
        asset_checks=build_quarantine_checks(streams),
        jobs=jobs,
        schedules=build_schedules(partitions, jobs, partitioned=any(s.windowed for s in streams)),
        sensors=[
            build_change_sensor(
                partitions,
                streams,
                interval_seconds=automation.change_interval_seconds,
                secrets=secrets,
            ),
            build_freshness_alert_sensor(
                [key for a in assets for key in a.keys],
                warn_hours=automation.freshness_warn_hours,
                fail_hours=automation.freshness_fail_hours,
                grace_hours=automation.never_loaded_grace_hours,
            ),
            build_run_failure_sensor(secrets=secrets),
        ],
        resources=every,
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The code location: the project's defs folder (`intercom_assets/defs/`), whose
    `defs.yaml` configures `IntercomAssetsComponent` from the environment (read here, once
    per load)."""
    try:
        return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    except Exception as exc:
        # Dagster reports a component's error inside a tree of where it happened; a wrong
        # setting says everything in its one line, which names the variable.
        cause: BaseException | None = exc
        while cause is not None and not isinstance(cause, SettingError):
            cause = cause.__cause__ or cause.__context__
        if cause is None:
            raise
        raise cause from None
