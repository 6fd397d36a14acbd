"""Sensors: the change sensor (intraday loads) and the alert sensors (freshness, run failures).

The change sensor keeps one high-water mark per windowed stream (the newest `updated_at` it has
seen) in its cursor as JSON, e.g. `{"contacts": 1764374400, "conversations": 1764374100}`. Each
tick asks Intercom one cheap question per stream: the newest record updated since the mark (a
search with `per_page=1`, sorted by `updated_at` descending). When a mark moved, one run of
today's partition loads the changed streams and every stream downstream of them, so load order
holds inside the run. A record that the search index shows only after the mark has moved past
its `updated_at` is still loaded by the next run of its day (every run re-reads its whole day)
or at the latest by the daily schedule that closes yesterday after the index lag.
A probe retries as runs do (`PROBE_RETRY`); a tick whose probe still fails is posted to the
`alert_webhook` (the run-failure alerts' channel) and fails, keeping its cursor.

The freshness alert sensor judges every stream asset by the newest data loaded (the newest
materialized partition's latest materialization, capped at that partition's end: a backfill
of old days is not fresh data) and posts one digest per tick through the `alert_webhook`
resource listing every transition into WARN or FAIL, every recovery to PASS, and every asset
still never materialized after a grace period. The run-failure sensor posts each failed run
of the code location: job, partitions, failing steps and one-line errors without secrets.
Message formats: `intercom_assets.alerts`.
"""

import logging
import re
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Optional, Protocol
from urllib.parse import quote

import dagster as dg
import msgspec

from intercom_assets.alerts import (
    ERROR_CHARS,
    FreshnessAlert,
    RunFailure,
    SensorFailure,
    StepFailure,
    Thresholds,
    freshness_message,
    is_transition,
    judge,
    launched_by,
    one_line,
    partitions_of,
    redact,
    run_failure_message,
    secrets_of,
    sensor_failure_message,
)
from intercom_assets.api import IntercomError, RetryPolicy
from intercom_assets.keys import table_key
from intercom_assets.resources import AlertWebhookResource, IntercomResource, resolved_secrets
from intercom_assets.settings import (
    DEFAULT_CHANGE_INTERVAL_SECONDS,
    DEFAULT_FRESHNESS_FAIL_HOURS,
    DEFAULT_FRESHNESS_WARN_HOURS,
    DEFAULT_NEVER_LOADED_GRACE_HOURS,
    FRESHNESS_FAIL_HOURS,
    FRESHNESS_WARN_HOURS,
    SettingError,
)
from intercom_assets.streams import STREAMS, SearchStream, Stream

CHANGE_SENSOR = "intercom_change_sensor"
FRESHNESS_ALERT_SENSOR = "intercom_freshness_alert_sensor"
RUN_FAILURE_SENSOR = "intercom_run_failure_sensor"

FRESHNESS_ALERT_INTERVAL_SECONDS = 60
PROBE_ERROR_CHARS = 500
PROBE_RETRY = replace(RetryPolicy(), max_total_seconds=15.0, max_delay=5.0)
"""The runs' retry policy (as many attempts, the same backoff from 0.5 s; a 429 that spent the
window waits for its reset), bounded in time: a tick whose three probes all retry to the end
still finishes inside the daemon's 60 s sensor timeout. A probe that still fails fails the
tick, which the change sensor posts to the alert webhook."""

log = logging.getLogger("intercom_assets.sensors")


# --- freshness policy -------------------------------------------------------------------


def freshness_policy(
    warn_hours: float = DEFAULT_FRESHNESS_WARN_HOURS,
    fail_hours: float = DEFAULT_FRESHNESS_FAIL_HOURS,
) -> dg.FreshnessPolicy:
    """The freshness policy of every stream asset: WARN after `warn_hours`, FAIL after `fail_hours`.

    The code location passes `AutomationSettings` (`INTERCOM_ASSETS_FRESHNESS_WARN_HOURS`,
    `INTERCOM_ASSETS_FRESHNESS_FAIL_HOURS`), checked when it was built.
    """
    if not 0 < warn_hours < fail_hours:
        raise SettingError(
            f"freshness windows need 0 < warn < fail hours, got warn={warn_hours:g}"
            f" fail={fail_hours:g}"
            f" ({FRESHNESS_WARN_HOURS.variable}, {FRESHNESS_FAIL_HOURS.variable})"
        )
    return dg.FreshnessPolicy.time_window(
        fail_window=timedelta(hours=fail_hours), warn_window=timedelta(hours=warn_hours)
    )


# --- change sensor ------------------------------------------------------------------------


class ProbeFailed(Exception):
    """A change probe could not ask Intercom: the tick fails (its cursor is kept)."""


def stream_keys(name: str, streams: Sequence[Stream] = STREAMS) -> list[dg.AssetKey]:
    """The asset keys of a stream's tables (all of them run in the stream's one step)."""
    stream = next(s for s in streams if s.name == name)
    return [table_key(t.name) for t in stream.tables]


@dataclass(frozen=True)
class Probe:
    """One stream's answer in a tick: the newest `updated_at` (None: no records), or an error."""

    stream: str
    newest: int | None = None
    error: str | None = None


def descendants(names: Sequence[str], streams: Sequence[Stream] = STREAMS) -> list[str]:
    """`names` and every stream downstream of them, in load order."""
    wanted = set(names)
    for stream in streams:  # STREAMS is in load order: parents come first
        if wanted.intersection(stream.deps):
            wanted.add(stream.name)
    return [s.name for s in streams if s.name in wanted]


def read_marks(cursor: str | None) -> dict[str, int]:
    """The high-water marks in a change-sensor cursor (empty for no or unreadable cursor)."""
    if not cursor:
        return {}
    try:
        data = msgspec.json.decode(cursor)
    except msgspec.DecodeError:
        log.warning("change sensor cursor is not JSON; starting over: %.80s", cursor)
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: int(v) for k, v in data.items() if isinstance(v, int | float)}


def evaluate_changes(
    probes: Sequence[Probe],
    marks: Mapping[str, int],
    today: str | None,
    streams: Sequence[Stream],
) -> dg.SensorResult:
    """The tick's result from its probes: new cursor, and one run request or a skip reason.

    Raises `ProbeFailed` (one line naming every failed probe) when any probe failed: the tick
    is shown as failed, Dagster keeps the cursor it had, and no run is requested; the next
    tick asks again (marks that did not move still see the same changes then).
    """
    failed = [f"{p.stream}: {p.error}" for p in probes if p.error is not None]
    if failed:
        raise ProbeFailed(
            one_line("change probe failed, cursor kept: " + "; ".join(failed), PROBE_ERROR_CHARS)
        )
    new_marks = dict(marks)
    changed, recorded = [], []
    for probe in probes:
        old = marks.get(probe.stream)
        newest = probe.newest if probe.newest is not None else 0
        if old is None:
            recorded.append(f"{probe.stream}={newest}")
            new_marks[probe.stream] = newest
        elif newest > old:
            changed.append(probe.stream)
            new_marks[probe.stream] = newest
    cursor = msgspec.json.encode(new_marks, order="sorted").decode()
    if not changed:
        if recorded:
            reason = f"first look: recorded high-water marks {', '.join(recorded)}"
        else:
            reason = "no change since " + _describe_marks(marks)
        return dg.SensorResult(skip_reason=reason, cursor=cursor)
    selected = descendants(changed, streams)
    run_key = "changes:" + ",".join(f"{n}={new_marks[n]}" for n in sorted(changed))
    request = dg.RunRequest(
        run_key=run_key,
        partition_key=today,
        asset_selection=[k for n in selected for k in stream_keys(n, streams)],
        tags={"intercom_assets/changed": ",".join(changed)},
    )
    return dg.SensorResult(run_requests=[request], cursor=cursor)


def _describe_marks(marks: Mapping[str, int]) -> str:
    return ", ".join(
        f"{name} {datetime.fromtimestamp(mark, UTC).isoformat()}" for name, mark in marks.items()
    )


def build_change_sensor(
    partitions: dg.DailyPartitionsDefinition,
    streams: Sequence[Stream] = STREAMS,
    *,
    interval_seconds: int = DEFAULT_CHANGE_INTERVAL_SECONDS,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
    secrets: Callable[[], Sequence[str]] = resolved_secrets,
    probe_retry: RetryPolicy = PROBE_RETRY,
    retry_delay_seconds: float = 1.0,
) -> dg.SensorDefinition:
    """The sensor that loads today's partition of the windowed streams that changed.

    `interval_seconds` is the minimum time between ticks (the code location passes
    `INTERCOM_ASSETS_CHANGE_SENSOR_INTERVAL_SECONDS`). Each probe retries as runs do
    (`probe_retry`); a tick whose probe still fails is posted to the `alert_webhook` (without
    `secrets`, as run failures are; `retry_delay_seconds` between the webhook's attempts)
    and fails.

    The first tick only records the high-water marks: it cannot tell what changed before it
    looked, and loading history is a backfill's job, not a sensor's.
    """
    windowed = [s for s in streams if isinstance(s, SearchStream)]
    timezone = partitions.timezone or "UTC"

    @dg.sensor(
        name=CHANGE_SENSOR,
        description=(
            f"Probes {', '.join(s.name for s in windowed)} for records updated since the last"
            " tick and loads today's partition of what changed plus everything downstream,"
            " in one run."
        ),
        minimum_interval_seconds=interval_seconds,
        target=dg.AssetSelection.assets(
            *(k for s in streams for k in stream_keys(s.name, streams))
        ),
        default_status=default_status,
    )
    def intercom_change_sensor(
        context: dg.SensorEvaluationContext,
        intercom: IntercomResource,
        alert_webhook: AlertWebhookResource,
    ) -> dg.SensorResult:
        marks = read_marks(context.cursor)
        probes = []
        client = intercom.new_client(retry=probe_retry)
        try:
            for stream in windowed:
                name = stream.name
                try:
                    newest = stream.newest_change(client, marks.get(name), timezone)
                    probes.append(Probe(name, newest=newest))
                except IntercomError as exc:
                    probes.append(Probe(name, error=f"{type(exc).__name__}: {exc}"))
        finally:
            client.close()
        try:
            result = evaluate_changes(probes, marks, partitions.get_last_partition_key(), streams)
        except ProbeFailed as exc:
            hidden = secrets_of([*secrets(), alert_webhook.url])
            message = redact(str(exc), hidden)
            failure = SensorFailure(CHANGE_SENSOR, message, alert_webhook.link("automation"))
            body = sensor_failure_message(failure)
            context.log.error(body["text"])
            error = post_alert(alert_webhook, body, retry_delay_seconds)
            if error is not None:
                message += f" (alert not sent: {error})"
            raise ProbeFailed(message) from None
        for request in result.run_requests or []:
            context.log.info(
                f"changes seen; requesting {request.run_key} for {request.partition_key}"
            )
        return result

    return intercom_change_sensor


# --- freshness alerts ---------------------------------------------------------------------

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AlertCursor:
    """The freshness alert sensor's cursor: the state last announced per asset, and when the
    sensor first saw each asset (the start of a never-loaded asset's grace period)."""

    announced: dict[str, str] = field(default_factory=dict)
    first_seen: dict[str, float] = field(default_factory=dict)

    @classmethod
    def read(cls, cursor: str | None) -> "AlertCursor":
        """The cursor's content; an unreadable one starts over. The older flat form
        (`{"intercom/tags": "WARN"}`, only announced states) is read as such."""
        if not cursor:
            return cls()
        try:
            data = msgspec.json.decode(cursor)
        except msgspec.DecodeError:
            log.warning("freshness alert cursor is not JSON; starting over: %.80s", cursor)
            return cls()
        if not isinstance(data, dict):
            return cls()
        if "announced" not in data and "first_seen" not in data:
            return cls(announced={k: v for k, v in data.items() if isinstance(v, str)})
        announced, first_seen = data.get("announced", {}), data.get("first_seen", {})
        return cls(
            announced={k: v for k, v in announced.items() if isinstance(v, str)},
            first_seen={k: float(v) for k, v in first_seen.items() if isinstance(v, int | float)},
        )

    def encode(self) -> str:
        return msgspec.json.encode(
            {"announced": self.announced, "first_seen": self.first_seen}, order="sorted"
        ).decode()


def newest_load(
    instance: dg.DagsterInstance,
    key: dg.AssetKey,
    partitions: dg.TimeWindowPartitionsDefinition | None,
) -> tuple[str | None, datetime | None, datetime | None]:
    """The asset's newest materialized partition, that partition's latest materialization
    time and the partition's end; all None when it was never materialized.

    Unpartitioned: (None, the latest materialization's time, None).
    """
    if partitions is None:
        event = instance.get_latest_materialization_event(key)
        if event is None:
            return None, None, None
        return None, datetime.fromtimestamp(event.timestamp, UTC), None
    windows = {}
    for partition in instance.get_materialized_partitions(key):
        try:
            windows[partition] = partitions.time_window_for_partition_key(partition)
        except ValueError:  # a key of an earlier partitioning: not this asset's data any more
            continue
    if not windows:
        return None, None, None
    newest = max(windows, key=lambda k: windows[k].start)
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[newest]), limit=1
    ).records
    if not records:
        return None, None, None
    return newest, datetime.fromtimestamp(records[0].timestamp, UTC), windows[newest].end


def asset_path(key: dg.AssetKey) -> str:
    """The asset's page in the UI, relative to its base URL."""
    return "assets/" + "/".join(quote(part, safe="") for part in key.path)


def build_freshness_alert_sensor(
    asset_keys: Sequence[dg.AssetKey],
    partitions: dg.TimeWindowPartitionsDefinition | None,
    *,
    warn_hours: float = DEFAULT_FRESHNESS_WARN_HOURS,
    fail_hours: float = DEFAULT_FRESHNESS_FAIL_HOURS,
    grace_hours: float = DEFAULT_NEVER_LOADED_GRACE_HOURS,
    interval_seconds: int = FRESHNESS_ALERT_INTERVAL_SECONDS,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
    clock: Clock = utc_now,
    unpartitioned: Collection[dg.AssetKey] = (),
) -> dg.SensorDefinition:
    """The sensor that posts one digest per tick of the freshness transitions of `asset_keys`.

    `partitions` are those of every key but the `unpartitioned` ones (judged by their latest
    materialization).

    It judges freshness itself, from the newest data loaded (see `alerts.judge`), not from
    Dagster's freshness states (those count a backfill of an old day as fresh). Its cursor
    holds the last state announced per asset and when it first saw each asset. All of a
    tick's transitions go out in one post through the `alert_webhook` resource (and to the
    log); a post that fails records none of them, so they are posted again next tick (as
    they then stand).
    """
    keys = list(asset_keys)
    thresholds = Thresholds(warn_hours, fail_hours, grace_hours)

    @dg.sensor(
        name=FRESHNESS_ALERT_SENSOR,
        description=(
            "Posts one message per tick (alert_webhook: INTERCOM_ASSETS_ALERT_WEBHOOK_URL) listing"
            f" every Intercom asset that turned WARN ({warn_hours:g} h) or FAIL"
            f" ({fail_hours:g} h) or recovered, judged by its newest partition's data; an asset"
            f" never materialized alerts {grace_hours:g} h after this sensor first saw it."
        ),
        minimum_interval_seconds=interval_seconds,
        default_status=default_status,
    )
    def intercom_freshness_alert_sensor(
        context: dg.SensorEvaluationContext, alert_webhook: AlertWebhookResource
    ) -> dg.SensorResult:
        now = clock()
        cursor = AlertCursor.read(context.cursor)
        alerts = []
        for key in keys:
            name = key.to_user_string()
            first_seen = cursor.first_seen.setdefault(name, now.timestamp())
            partition, materialized_at, end = newest_load(
                context.instance, key, None if key in unpartitioned else partitions
            )
            freshness = judge(
                name,
                now,
                thresholds,
                partition=partition,
                materialized_at=materialized_at,
                partition_end=end,
                first_seen=datetime.fromtimestamp(first_seen, UTC),
            )
            old = cursor.announced.get(name)
            if is_transition(old, freshness.state):
                url = alert_webhook.link(asset_path(key))
                alerts.append(FreshnessAlert(freshness, old, thresholds, url))
            else:
                cursor.announced[name] = freshness.state
        if not alerts:
            return dg.SensorResult(skip_reason="no freshness transitions", cursor=cursor.encode())
        body = freshness_message(alerts)
        context.log.warning(body["text"])
        listed = ", ".join(f"{a.freshness.asset}={a.freshness.state}" for a in alerts)
        error = alert_webhook.post(body)
        if error is not None:
            context.log.error(f"alert webhook failed, will retry next tick: {error}")
            reason = f"webhook failed for {listed} (retried next tick): {error}"
            return dg.SensorResult(skip_reason=reason, cursor=cursor.encode())
        for alert in alerts:
            cursor.announced[alert.freshness.asset] = alert.freshness.state
        sent = "alerted" if alert_webhook.enabled else "logged (no webhook URL)"
        return dg.SensorResult(skip_reason=f"{sent}: {listed}", cursor=cursor.encode())

    return intercom_freshness_alert_sensor


# --- run failure alerts -------------------------------------------------------------------

WEBHOOK_ATTEMPTS = 3
"""A run-failure alert is tried this many times in its tick (1 s, then 2 s apart): Dagster
moves a run-failure sensor past a run whether or not its alert got through."""


def post_alert(
    webhook: AlertWebhookResource, body: Mapping[str, Any], retry_delay_seconds: float
) -> str | None:
    """Posts `body`, up to `WEBHOOK_ATTEMPTS` times; the last error, or None once sent."""
    error: str | None = None
    for attempt in range(WEBHOOK_ATTEMPTS):
        if attempt:
            time.sleep(retry_delay_seconds * attempt)
        error = webhook.post(body)
        if error is None:
            return None
    return error


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

    `secrets` gives the values to keep out of the post (by default those of the resources the
    environment configures, at the tick; the code location passes the values its resources
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
