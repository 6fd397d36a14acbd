"""Sensors: the change sensor (intraday loads) and the freshness alert sensor.

The change sensor keeps one high-water mark per windowed stream (the newest `updated_at` it has
seen) in its cursor as JSON, e.g. `{"contacts": 1764374400, "conversations": 1764374100}`. Each
tick asks Intercom one cheap question per stream: the newest record updated since the mark (a
search with `per_page=1`, sorted by `updated_at` descending). When a mark moved, one run of
today's partition loads the changed streams and every stream downstream of them, so load order
holds inside the run. A record that the search index shows only after the mark has moved past
its `updated_at` is still loaded by the next run of its day (every run re-reads its whole day)
or at the latest by the daily schedule that closes yesterday after the index lag.

The freshness alert sensor turns the freshness states that Dagster's FreshnessDaemon records
into alerts: one per transition into WARN or FAIL and one on recovery to PASS, logged and
posted as `{"text": ...}` through the `alert_webhook` resource (a Slack-compatible webhook)
when it has a URL.
"""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import msgspec

from intercom_assets.api import IntercomError, RetryPolicy
from intercom_assets.assets import asset_key
from intercom_assets.resources import AlertWebhookResource, IntercomResource
from intercom_assets.settings import (
    DEFAULT_CHANGE_INTERVAL_SECONDS,
    DEFAULT_FRESHNESS_FAIL_HOURS,
    DEFAULT_FRESHNESS_WARN_HOURS,
    FRESHNESS_FAIL_ENV,
    FRESHNESS_WARN_ENV,
    SettingError,
)
from intercom_assets.streams import STREAMS, SearchStream, Stream

CHANGE_SENSOR = "intercom_change_sensor"
FRESHNESS_ALERT_SENSOR = "intercom_freshness_alert_sensor"

FRESHNESS_ALERT_INTERVAL_SECONDS = 60
IN_PROCESS: dict[str, Any] = {"execution": {"config": {"in_process": {}}}}
"""Run config of the sensor's runs: a day's changes are small, so all steps run in the run's
own process (no process per step); the `intercom_api` pool is still honoured."""
PROBE_RETRY = RetryPolicy(max_attempts=3, max_total_seconds=20.0, base_delay=0.5, max_delay=5.0)
"""A tick must finish well inside the daemon's sensor timeout; a failed probe waits a tick."""

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
            f" fail={fail_hours:g} ({FRESHNESS_WARN_ENV}, {FRESHNESS_FAIL_ENV})"
        )
    return dg.FreshnessPolicy.time_window(
        fail_window=timedelta(hours=fail_hours), warn_window=timedelta(hours=warn_hours)
    )


# --- change sensor ------------------------------------------------------------------------


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
    """The tick's result from its probes: new cursor, and one run request or a skip reason."""
    new_marks = dict(marks)
    changed, recorded, failed = [], [], []
    for probe in probes:
        if probe.error is not None:
            failed.append(f"{probe.stream}: {probe.error}")
            continue
        old = marks.get(probe.stream)
        newest = probe.newest if probe.newest is not None else 0
        if old is None:
            recorded.append(f"{probe.stream}={newest}")
            new_marks[probe.stream] = newest
        elif newest > old:
            changed.append(probe.stream)
            new_marks[probe.stream] = newest
    cursor = msgspec.json.encode(new_marks, order="sorted").decode()
    problems = f"; probe failed, cursor kept: {'; '.join(failed)}" if failed else ""
    if not changed:
        if recorded:
            reason = f"first look: recorded high-water marks {', '.join(recorded)}"
        elif failed:
            reason = "no change seen"
        else:
            reason = "no change since " + _describe_marks(marks)
        return dg.SensorResult(skip_reason=reason + problems, cursor=cursor)
    selected = descendants(changed, streams)
    run_key = "changes:" + ",".join(f"{n}={new_marks[n]}" for n in sorted(changed))
    request = dg.RunRequest(
        run_key=run_key,
        partition_key=today,
        asset_selection=[asset_key(n) for n in selected],
        run_config=IN_PROCESS,
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
) -> dg.SensorDefinition:
    """The sensor that loads today's partition of the windowed streams that changed.

    `interval_seconds` is the minimum time between ticks (the code location passes
    `INTERCOM_ASSETS_CHANGE_SENSOR_INTERVAL_SECONDS`).

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
        target=dg.AssetSelection.assets(*(asset_key(s.name) for s in streams)),
        default_status=default_status,
    )
    def intercom_change_sensor(
        context: dg.SensorEvaluationContext, intercom: IntercomResource
    ) -> dg.SensorResult:
        marks = read_marks(context.cursor)
        probes = []
        client = intercom.new_client(retry=PROBE_RETRY)
        try:
            for stream in windowed:
                name = stream.name
                try:
                    newest = stream.newest_change(client, marks.get(name), timezone)
                    probes.append(Probe(name, newest=newest))
                except IntercomError as exc:
                    context.log.warning(f"{name} probe failed; its cursor is kept: {exc}")
                    probes.append(Probe(name, error=f"{type(exc).__name__}: {exc}"))
        finally:
            client.close()
        result = evaluate_changes(probes, marks, partitions.get_last_partition_key(), streams)
        for request in result.run_requests or []:
            context.log.info(
                f"changes seen; requesting {request.run_key} for {request.partition_key}"
            )
        return result

    return intercom_change_sensor


# --- freshness alerts ---------------------------------------------------------------------

ALERT_STATES = frozenset({"WARN", "FAIL"})


def alert_text(key: str, old: str | None, new: str) -> str | None:
    """The alert for a state change, or None when the change is not worth one."""
    if new in ALERT_STATES and new != old:
        return f"Intercom asset {key} is {new} (stale; was {old or 'not evaluated'})"
    if new == "PASS" and old in ALERT_STATES:
        return f"Intercom asset {key} recovered: PASS (was {old})"
    return None


def build_freshness_alert_sensor(
    asset_keys: Sequence[dg.AssetKey],
    *,
    interval_seconds: int = FRESHNESS_ALERT_INTERVAL_SECONDS,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
) -> dg.SensorDefinition:
    """The sensor that alerts once per freshness transition of `asset_keys`.

    Its cursor holds the last state announced per asset. Each alert is logged and posted
    through the `alert_webhook` resource when it has a URL; a post that fails is logged and
    not recorded, so the same transition is posted again on the next tick (while it holds).
    """
    keys = list(asset_keys)

    @dg.sensor(
        name=FRESHNESS_ALERT_SENSOR,
        description=(
            "Alerts (log, and the alert_webhook resource: INTERCOM_ASSETS_ALERT_WEBHOOK_URL) "
            "once when an Intercom asset turns WARN or FAIL, and once when it recovers."
        ),
        minimum_interval_seconds=interval_seconds,
        default_status=default_status,
    )
    def intercom_freshness_alert_sensor(
        context: dg.SensorEvaluationContext, alert_webhook: AlertWebhookResource
    ) -> dg.SensorResult:
        announced: dict[str, str] = msgspec.json.decode(context.cursor) if context.cursor else {}
        records = context.instance.get_freshness_state_records(keys)
        sent, failed = [], []
        for key, record in records.items():
            name, state = key.to_user_string(), record.freshness_state.value
            text = alert_text(name, announced.get(name), state)
            if text is None:
                announced[name] = state
                continue
            context.log.warning(text)
            error = alert_webhook.post(text)
            if error is None:
                announced[name] = state
                sent.append(f"{name}={state}")
            else:
                context.log.error(f"alert webhook failed, will retry next tick: {error}")
                failed.append(f"{name}={state}")
        reason = f"alerted: {', '.join(sent)}" if sent else "no freshness transitions"
        if failed:
            reason += f"; webhook failed for {', '.join(failed)} (retried next tick)"
        return dg.SensorResult(
            skip_reason=reason, cursor=msgspec.json.encode(announced, order="sorted").decode()
        )

    return intercom_freshness_alert_sensor
