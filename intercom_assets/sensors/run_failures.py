"""The run-failure sensor: one post per failed run of the code location (the daily job, the
change sensor's runs, backfills, runs launched by hand) with its job, partitions, failing
steps and one-line errors without secrets. Message format: `intercom_assets.alerts`.
"""

import re
from collections.abc import Callable, Sequence
from typing import Optional, Protocol

import dagster as dg

from intercom_assets.alerts import (
    ERROR_CHARS,
    RunFailure,
    StepFailure,
    launched_by,
    one_line,
    partitions_of,
    redact,
    run_failure_message,
    secrets_of,
)
from intercom_assets.resources import AlertWebhookResource, resolved_secrets
from intercom_assets.sensors.webhook import post_alert

RUN_FAILURE_SENSOR = "intercom_run_failure_sensor"


class AlertNotSent(Exception):
    """The webhook refused a run-failure alert after every attempt (the tick shows this)."""


class ErrorInfo(Protocol):
    """What an error recorded by Dagster carries (its `SerializableErrorInfo`)."""

    @property
    def message(self) -> str: ...
    @property
    def cls_name(self) -> str | None: ...
    @property
    def cause(self) -> Optional["ErrorInfo"]: ...


WRAPPERS = frozenset(
    {
        "DagsterExecutionStepExecutionError",
        "DagsterResourceFunctionError",
        "DagsterUserCodeProcessError",
        "RetryRequestedFromPolicy",
    }
)
"""Dagster's errors around the user's: the alert names the one inside."""
RETRIES = re.compile(r"Exceeded max_retries of (\d+)")


def error_line(error: ErrorInfo | None, secrets: Sequence[str]) -> str:
    """An error as one redacted line: the user's exception rather than Dagster's wrapper
    (and how often it was retried, when a retry policy gave up)."""
    note = ""
    while error is not None and error.cause is not None and error.cls_name in WRAPPERS:
        retries = RETRIES.match(error.message)
        if retries and int(retries.group(1)):
            note = f" (after {retries.group(1)} retries)"
        error = error.cause
    if error is None:
        return "no error recorded"
    message = error.message
    head, colon, rest = message.partition(": ")
    if error.cls_name == "Failure" and colon and head.endswith("Failure"):
        message = rest  # the project's own short message, without Dagster's class name
    return one_line(redact(message, secrets), ERROR_CHARS - len(note)) + note


def describe_failure(
    context: dg.RunFailureSensorContext, secrets: Sequence[str], url: str | None
) -> RunFailure:
    """The failed run as the alert tells it: job, partitions, launcher, failed steps, error."""
    run = context.dagster_run
    steps: list[StepFailure] = []
    for event in context.get_step_failure_events():
        data = event.step_failure_data
        steps.append(
            StepFailure(event.step_key or "?", error_line(data.error if data else None, secrets))
        )
    run_error = context.failure_event.event_specific_data
    error = getattr(run_error, "error", None)
    message = (
        error_line(error, secrets)
        if error is not None
        else one_line(redact(context.failure_event.message or "the run failed", secrets))
    )
    return RunFailure(
        run_id=run.run_id,
        job=run.job_name,
        partitions=partitions_of(run.tags),
        launched_by=launched_by(run.tags),
        steps=steps,
        error=message,
        url=url,
    )


def build_run_failure_sensor(
    *,
    secrets: Callable[[], Sequence[str]] = resolved_secrets,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
    retry_delay_seconds: float = 1.0,
) -> dg.SensorDefinition:
    """The sensor that posts every failed run of this code location (the daily job, the
    change sensor's runs, backfills, runs launched by hand) to the `alert_webhook`.

    `secrets` gives the values to keep out of the post (by default the secret settings as
    set in the environment at the tick; the code location passes the values its resources
    resolve to, `resources.resolved_secrets`); the webhook URL is always added.
    """

    @dg.run_failure_sensor(
        name=RUN_FAILURE_SENSOR,
        description=(
            "Posts each failed run of this code location (alert_webhook:"
            " INTERCOM_ASSETS_ALERT_WEBHOOK_URL): job, partitions, failing steps, one-line"
            " errors without secrets."
        ),
        default_status=default_status,
    )
    def intercom_run_failure_sensor(
        context: dg.RunFailureSensorContext, alert_webhook: AlertWebhookResource
    ) -> None:
        hidden = secrets_of([*secrets(), alert_webhook.url])
        url = alert_webhook.link(f"runs/{context.dagster_run.run_id}")
        body = run_failure_message(describe_failure(context, hidden, url))
        context.log.error(body["text"])
        error = post_alert(alert_webhook, body, retry_delay_seconds)
        if error is not None:
            run_id = context.dagster_run.run_id
            raise AlertNotSent(f"run-failure alert for {run_id} not sent: {error}")

    return intercom_run_failure_sensor
