"""The change sensor: intraday loads of the windowed streams that changed.

It keeps one high-water mark per windowed stream (the newest `updated_at` it has seen) in its
cursor as JSON, e.g. `{"contacts": 1764374400, "conversations": 1764374100}`. Each tick asks
Intercom one cheap question per stream: the newest record updated since the mark (a search
with `per_page=1`, sorted by `updated_at` descending). When a mark moved, one run of today's
partition loads the changed streams and every stream downstream of them, so load order holds
inside the run. A record that the search index shows only after the mark has moved past its
`updated_at` is still loaded by the next run of its day (every run re-reads its whole day) or
at the latest by the daily schedule that closes yesterday after the index lag.
A probe retries as runs do (`PROBE_RETRY`); a tick whose probe still fails is posted to the
`alert_webhook` (the run-failure alerts' channel) and fails, keeping its cursor.
"""

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import dagster as dg
import msgspec

from intercom_assets.alerts import (
    SensorFailure,
    one_line,
    redact,
    secrets_of,
    sensor_failure_message,
)
from intercom_assets.api import IntercomError, RetryPolicy
from intercom_assets.keys import table_key
from intercom_assets.resources import AlertWebhookResource, IntercomResource, resolved_secrets
from intercom_assets.sensors.webhook import post_alert
from intercom_assets.settings import DEFAULT_CHANGE_INTERVAL_SECONDS
from intercom_assets.streams import STREAMS, Stream

CHANGE_SENSOR = "intercom_change_sensor"
PROBE_ERROR_CHARS = 500
PROBE_RETRY = replace(RetryPolicy(), max_total_seconds=15.0, max_delay=5.0)
"""The runs' retry policy (as many attempts, the same backoff from 0.5 s; a 429 that spent the
window waits for its reset), bounded in time: a tick whose three probes all retry to the end
still finishes inside the daemon's 60 s sensor timeout. A probe that still fails fails the
tick, which the change sensor posts to the alert webhook."""

log = logging.getLogger("intercom_assets.sensors")


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
    windowed = [s for s in streams if s.searched]
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
