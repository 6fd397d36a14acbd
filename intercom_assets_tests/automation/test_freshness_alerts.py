"""Staleness end to end: the FreshnessDaemon turns an asset WARN then FAIL, and the alert sensor
posts exactly one alert per transition to a webhook on loopback.

Dagster has no public hook to drive its FreshnessDaemon; like Dagster's own tests, this uses
`dagster._core.test_utils` (pinned to the Dagster version in pyproject.toml).
"""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.freshness import FreshnessState
from dagster._core.test_utils import create_test_daemon_workspace_context, freeze_time
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.freshness import FreshnessDaemon

from intercom_assets.assets import asset_key
from intercom_assets.resources import AlertWebhookResource
from intercom_assets.sensors import build_freshness_alert_sensor
from intercom_assets.settings import DEFAULT_FRESHNESS_FAIL_HOURS, DEFAULT_FRESHNESS_WARN_HOURS
from intercom_assets.streams import STREAMS

from .conftest import Receiver

KEYS = [asset_key(s.name) for s in STREAMS]
STALE = asset_key("tags")


@pytest.fixture
def workspace(instance: dg.DagsterInstance) -> Iterator[object]:
    target = ModuleTarget(
        module_name="intercom_assets.definitions",
        attribute=None,
        working_directory=str(Path(__file__).resolve().parents[2]),
        location_name="intercom_assets",
    )
    with create_test_daemon_workspace_context(target, instance) as context:
        yield context


def materialize(instance: dg.DagsterInstance, keys: list[dg.AssetKey]) -> None:
    for key in keys:
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key))


def test_stale_asset_alerts_once_per_transition(
    instance: dg.DagsterInstance,
    workspace: object,
    receiver: Receiver,
) -> None:
    webhook = AlertWebhookResource(url=receiver.url)
    daemon = FreshnessDaemon()
    sensor = build_freshness_alert_sensor(KEYS)
    cursor: str | None = None
    t0 = datetime.now(UTC)
    others = [k for k in KEYS if k != STALE]

    def step(at: datetime) -> dict[str, str]:
        """Freshness daemon, then two sensor ticks (the second must stay quiet), at `at`."""
        nonlocal cursor
        with freeze_time(at):
            list(daemon.run_iteration(workspace))
            for _ in range(2):
                with dg.build_sensor_context(
                    instance=instance, cursor=cursor, resources={"alert_webhook": webhook}
                ) as context:
                    cursor = sensor(context).cursor
        records = instance.get_freshness_state_records(KEYS)
        return {k.path[-1]: r.freshness_state.value for k, r in records.items()}

    with freeze_time(t0):
        materialize(instance, KEYS)
    states = step(t0 + timedelta(minutes=1))
    assert set(states.values()) == {FreshnessState.PASS.value}
    assert receiver.received == []

    # Every stream but tags is loaded again 20 hours later; tags is not.
    with freeze_time(t0 + timedelta(hours=20)):
        materialize(instance, others)

    warn_at = t0 + timedelta(hours=DEFAULT_FRESHNESS_WARN_HOURS, minutes=1)
    states = step(warn_at)
    assert states["tags"] == "WARN"
    assert {s for name, s in states.items() if name != "tags"} == {"PASS"}
    assert [m["text"] for m in receiver.received] == [
        "Intercom asset intercom/tags is WARN (stale; was PASS)"
    ]

    # The webhook fails once at the FAIL transition: the alert is retried on the next tick.
    receiver.fail_next = 1
    fail_at = t0 + timedelta(hours=DEFAULT_FRESHNESS_FAIL_HOURS, minutes=1)
    states = step(fail_at)
    assert states["tags"] == "FAIL"
    assert len(receiver.received) == 2
    assert receiver.received[1]["text"].startswith("Intercom asset intercom/tags is FAIL")

    with freeze_time(fail_at + timedelta(minutes=5)):
        materialize(instance, [STALE])
    states = step(fail_at + timedelta(minutes=6))
    assert states["tags"] == "PASS"
    assert [m["text"] for m in receiver.received[2:]] == [
        "Intercom asset intercom/tags recovered: PASS (was FAIL)"
    ]
    assert json.loads(cursor or "{}")["intercom/tags"] == "PASS"
