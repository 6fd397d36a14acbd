"""The code location: every stream asset, its checks and the resources, in one `Definitions`.

The partition start date and time zone are read from the environment here, when the
definitions load (see `intercom_assets.settings`); everything else is read when a run starts.
"""

import dagster as dg

from intercom_assets.assets import build_assets
from intercom_assets.checks import build_checks
from intercom_assets.partitions import daily_partitions
from intercom_assets.resources import IntercomResource, WarehouseResource
from intercom_assets.schedules import build_jobs, build_schedules
from intercom_assets.sensors import (
    build_change_sensor,
    build_freshness_alert_sensor,
    freshness_policy,
)
from intercom_assets.settings import TOKEN_ENV, PartitionSettings


def build_definitions(
    settings: PartitionSettings, resources: dict[str, object] | None = None
) -> dg.Definitions:
    """The definitions for these partition settings (and resources, default from env)."""
    partitions = daily_partitions(settings)
    policy = freshness_policy()
    assets = dg.map_asset_specs(
        lambda spec: spec.replace_attributes(freshness_policy=policy), build_assets(partitions)
    )
    jobs = build_jobs()
    return dg.Definitions(
        assets=assets,
        asset_checks=build_checks(),
        jobs=jobs,
        schedules=build_schedules(partitions, jobs),
        sensors=[
            build_change_sensor(partitions),
            build_freshness_alert_sensor([a.key for a in assets]),
        ],
        resources=resources
        or {
            "intercom": IntercomResource(access_token=dg.EnvVar(TOKEN_ENV)),
            "warehouse": WarehouseResource(),
        },
    )


defs = build_definitions(PartitionSettings.from_env())
