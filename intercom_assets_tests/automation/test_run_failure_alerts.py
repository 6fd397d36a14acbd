"""Run-failure alerts: a failed run of the project's jobs is posted to a webhook on loopback
with its job, partitions, failing steps and one-line errors, and never a secret."""

import json
from collections.abc import Iterator

import dagster as dg
import pytest

from intercom_assets.component import IntercomAssetsComponent
from intercom_assets.definitions import build_definitions
from intercom_assets.resources import AlertWebhookResource, IntercomResource, WarehouseResource
from intercom_assets.sandbox import Sandbox
from intercom_assets.schedules import DAILY_JOB
from intercom_assets.sensors import RUN_FAILURE_SENSOR, AlertNotSent, build_run_failure_sensor
from intercom_assets.settings import SETTINGS, PartitionSettings
from intercom_assets_tests.conftest import Receiver

from .conftest import TIMEZONE

TOKEN = "tok-SECRET-7f3a9c"
PASSWORD = "pw-SECRET-41b2"
DB_URL = f"postgresql://loader:{PASSWORD}@127.0.0.1:1/analytics"
"""Nothing listens on port 1: the warehouse is unreachable and every write step fails."""
UI = "http://localhost:3000"
DAY = "2026-11-27"


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERCOM_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("INTERCOM_ASSETS_DATABASE_URL", DB_URL)


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    sb = Sandbox(size="tiny", seed=3, timezone=TIMEZONE, token=TOKEN)
    with sb.serve(port=0) as url:
        yield url


def alert_for(
    result: dg.ExecuteInProcessResult,
    instance: dg.DagsterInstance,
    webhook: AlertWebhookResource,
) -> None:
    """The run-failure sensor's evaluation for this run (what the daemon does per failed run)."""
    assert not result.success
    sensor = build_run_failure_sensor(retry_delay_seconds=0)
    context = dg.build_run_status_sensor_context(
        sensor_name=RUN_FAILURE_SENSOR,
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources={"alert_webhook": webhook},
    ).for_run_failure()
    sensor(context)


def test_a_failed_daily_run_posts_its_failing_steps_without_secrets(
    instance: dg.DagsterInstance, receiver: Receiver, secret_env: None, sandbox_url: str
) -> None:
    defs = build_definitions(
        PartitionSettings(start_date="2026-11-01", timezone=TIMEZONE),
        {
            "intercom": IntercomResource(access_token=TOKEN, base_url=sandbox_url),
            "warehouse": WarehouseResource(url=DB_URL),
        },
        retry_policy=dg.RetryPolicy(max_retries=0),
    )
    job = defs.resolve_job_def(DAILY_JOB)
    result = job.execute_in_process(
        instance=instance,
        partition_key=DAY,
        raise_on_error=False,
        tags={"dagster/schedule_name": "intercom_daily_schedule"},
    )
    alert_for(result, instance, AlertWebhookResource(url=receiver.url, ui_base_url=UI))

    (post,) = receiver.received
    (alert,) = post["alerts"]
    assert alert["kind"] == "run_failure"
    assert alert["job"] == DAILY_JOB and alert["partitions"] == DAY
    assert alert["launched_by"] == "schedule intercom_daily_schedule"
    assert alert["url"] == f"{UI}/runs/{result.run_id}"
    failed = {s["step"]: s["error"] for s in alert["failed_steps"]}
    assert failed, post
    assert alert["step"] in failed and alert["error"] == failed[alert["step"]]
    for error in failed.values():
        assert error and "\n" not in error and len(error) <= 300
    assert failed["intercom__admins"].startswith(
        "cannot connect to PostgreSQL: connection to server at"
    )
    assert str(post["text"]).startswith(
        f"Intercom run failed: {DAILY_JOB} for {DAY} (schedule intercom_daily_schedule)"
    )
    assert f"step intercom__admins: {failed['intercom__admins']}" in str(post["text"])
    everything = json.dumps(post)
    assert "SECRET" not in everything and TOKEN not in everything and PASSWORD not in everything


def test_errors_that_carry_secrets_are_cut_to_one_redacted_line(
    instance: dg.DagsterInstance, receiver: Receiver, secret_env: None
) -> None:
    """A library that prints its connection string or request headers into an error."""

    @dg.op
    def leaky() -> None:
        raise RuntimeError(
            f"could not connect to {DB_URL} with Authorization: Bearer {TOKEN}"
            f" (posting to {receiver.url})\nsecond line with {PASSWORD}"
        )

    @dg.job
    def range_job() -> None:
        leaky()

    result = range_job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        tags={
            "dagster/asset_partition_range_start": "2026-11-01",
            "dagster/asset_partition_range_end": DAY,
            "dagster/sensor_name": "intercom_change_sensor",
        },
    )
    alert_for(result, instance, AlertWebhookResource(url=receiver.url))

    (post,) = receiver.received
    (alert,) = post["alerts"]
    assert alert["partitions"] == f"2026-11-01...{DAY}"
    assert alert["launched_by"] == "sensor intercom_change_sensor"
    assert alert["step"] == "leaky" and alert["url"] is None
    assert alert["error"] == (
        "RuntimeError: could not connect to *** with Authorization: Bearer *** (posting to ***)"
    )
    everything = json.dumps(post)
    assert "SECRET" not in everything and receiver.url not in everything


def test_a_webhook_that_stays_down_fails_the_tick(
    instance: dg.DagsterInstance, receiver: Receiver
) -> None:
    @dg.op
    def broken() -> None:
        raise ValueError("boom")

    @dg.job
    def plain_job() -> None:
        broken()

    result = plain_job.execute_in_process(instance=instance, raise_on_error=False)
    receiver.fail_next = 3
    with pytest.raises(AlertNotSent, match="HTTP 500"):
        alert_for(result, instance, AlertWebhookResource(url=receiver.url))
    assert receiver.received == [] and receiver.fail_next == 0


def test_the_code_location_runs_both_alert_sensors_by_default() -> None:
    defs = build_definitions(PartitionSettings())
    for name in (RUN_FAILURE_SENSOR, "intercom_freshness_alert_sensor"):
        sensor = defs.resolve_sensor_def(name)
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_secrets_of_a_components_own_resources_under_other_names_or_literals_are_redacted(
    instance: dg.DagsterInstance, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A component whose resources read the warehouse URL and the webhook from other
    variables and hold a literal token: none of the settings' own variables is set, and the
    alert still hides every one of them as the code location resolves them."""
    for setting in SETTINGS:
        monkeypatch.delenv(setting.variable, raising=False)
    monkeypatch.setenv("WAREHOUSE_URL", DB_URL)
    monkeypatch.setenv("THEIR_HOOK", receiver.url)

    class TheirComponent(IntercomAssetsComponent):
        def build_resources(self) -> dict[str, object]:
            return {
                "intercom": IntercomResource(access_token=TOKEN),
                "warehouse": WarehouseResource(url=dg.EnvVar("WAREHOUSE_URL")),
                "alert_webhook": AlertWebhookResource(url=dg.EnvVar("THEIR_HOOK")),
            }

    component = TheirComponent(start_date="2026-11-01", timezone=TIMEZONE)
    defs = component.build_defs(None)  # type: ignore[arg-type]  # the context is not read

    @dg.op
    def leaky() -> None:
        raise RuntimeError(f"login with password {PASSWORD} and token {TOKEN} refused")

    @dg.job
    def leaky_job() -> None:
        leaky()

    result = leaky_job.execute_in_process(instance=instance, raise_on_error=False)
    sensor = defs.resolve_sensor_def(RUN_FAILURE_SENSOR)
    context = dg.build_run_status_sensor_context(
        sensor_name=RUN_FAILURE_SENSOR,
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources={"alert_webhook": AlertWebhookResource(url=receiver.url)},
    ).for_run_failure()
    sensor(context)

    (post,) = receiver.received
    (alert,) = post["alerts"]
    assert alert["error"] == "RuntimeError: login with password *** and token *** refused"
    assert "SECRET" not in json.dumps(post)
