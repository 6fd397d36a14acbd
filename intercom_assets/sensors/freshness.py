"""Freshness, judged once: by Dagster.

Every stream asset carries `FreshnessPolicy.time_window` (WARN and FAIL windows). The
FreshnessDaemon in `dagster-daemon` evaluates it and records each asset's state (PASS, WARN,
FAIL; UNKNOWN while it was never materialized): the UI shows that record on the asset, and
the alert sensor here reads the same record (`DagsterInstance.get_freshness_state_records`)
and posts its transitions. The alert never judges an asset itself, so it cannot disagree
with the UI; all it adds is when to speak: into WARN or FAIL, back to PASS, and an asset
still UNKNOWN (never materialized) a grace period after the daemon first recorded it.
"""

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import dagster as dg
import msgspec
from dagster._time import get_current_datetime

from intercom_assets.alerts import (
    ALERT_STATES,
    PASS,
    Freshness,
    FreshnessAlert,
    Thresholds,
    freshness_message,
    is_transition,
    overdue,
)
from intercom_assets.resources import AlertWebhookResource
from intercom_assets.settings import (
    DEFAULT_FRESHNESS_FAIL_HOURS,
    DEFAULT_FRESHNESS_WARN_HOURS,
    DEFAULT_NEVER_LOADED_GRACE_HOURS,
    FRESHNESS_FAIL_HOURS,
    FRESHNESS_WARN_HOURS,
    SettingError,
)

FRESHNESS_ALERT_SENSOR = "intercom_freshness_alert_sensor"
FRESHNESS_ALERT_INTERVAL_SECONDS = 60


def freshness_policy(
    warn_hours: float = DEFAULT_FRESHNESS_WARN_HOURS,
    fail_hours: float = DEFAULT_FRESHNESS_FAIL_HOURS,
) -> dg.FreshnessPolicy:
    """The freshness policy of every stream asset: WARN `warn_hours` after its latest
    materialization, FAIL after `fail_hours`.

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


def read_announced(cursor: str | None) -> dict[str, str]:
    """The state last announced per asset, from the sensor's cursor
    `{"announced": {"intercom/tags": "WARN", ...}}`; anything unreadable starts over."""
    try:
        data = msgspec.json.decode(cursor) if cursor else {}
    except msgspec.DecodeError:
        return {}
    announced = data.get("announced") if isinstance(data, dict) else None
    if not isinstance(announced, dict):
        return {}
    return {k: v for k, v in announced.items() if isinstance(v, str)}


def encode_announced(announced: dict[str, str]) -> str:
    return msgspec.json.encode({"announced": announced}, order="sorted").decode()


def explain(
    instance: dg.DagsterInstance, key: dg.AssetKey, freshness: Freshness, now: datetime
) -> Freshness:
    """`freshness` with the latest materialization its state was judged from (the one
    Dagster's time-window policy counts: the newest of any partition)."""
    event = instance.get_latest_materialization_event(key)
    if event is None:
        return freshness
    at = datetime.fromtimestamp(event.timestamp, UTC)
    materialization = event.asset_materialization
    return replace(
        freshness,
        materialized_at=at,
        partition=materialization.partition if materialization else None,
        age_hours=max(0.0, (now - at).total_seconds() / 3600),
    )


def asset_path(key: dg.AssetKey) -> str:
    """The asset's page in the UI, relative to its base URL."""
    return "assets/" + "/".join(quote(part, safe="") for part in key.path)


def build_freshness_alert_sensor(
    asset_keys: Sequence[dg.AssetKey],
    *,
    warn_hours: float = DEFAULT_FRESHNESS_WARN_HOURS,
    fail_hours: float = DEFAULT_FRESHNESS_FAIL_HOURS,
    grace_hours: float = DEFAULT_NEVER_LOADED_GRACE_HOURS,
    interval_seconds: int = FRESHNESS_ALERT_INTERVAL_SECONDS,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
) -> dg.SensorDefinition:
    """The sensor that posts one digest per tick of the freshness transitions of
    `asset_keys`, as the FreshnessDaemon recorded them.

    `warn_hours` and `fail_hours` are those of the assets' policy (`freshness_policy`); the
    alert only quotes them. Its cursor holds the state last announced per asset. All of a
    tick's transitions go out in one post through the `alert_webhook` resource (and to the
    log); a post that fails records none of them, so they are posted again next tick (as
    they then stand). The grace period is counted on Dagster's clock, the daemon's.
    """
    keys = list(asset_keys)
    thresholds = Thresholds(warn_hours, fail_hours, grace_hours)

    @dg.sensor(
        name=FRESHNESS_ALERT_SENSOR,
        description=(
            "Posts one message per tick (alert_webhook: INTERCOM_ASSETS_ALERT_WEBHOOK_URL) listing"
            " every Intercom asset whose Dagster freshness state (the asset page's) turned WARN"
            f" ({warn_hours:g} h) or FAIL ({fail_hours:g} h) or back to PASS; an asset never"
            f" materialized alerts once it has been UNKNOWN for {grace_hours:g} h."
        ),
        minimum_interval_seconds=interval_seconds,
        default_status=default_status,
    )
    def intercom_freshness_alert_sensor(
        context: dg.SensorEvaluationContext, alert_webhook: AlertWebhookResource
    ) -> dg.SensorResult:
        now = get_current_datetime()
        announced = read_announced(context.cursor)
        records = context.instance.get_freshness_state_records(keys)
        alerts, unevaluated = [], 0
        for key in keys:
            name, record = key.to_user_string(), records.get(key)
            if record is None:
                unevaluated += 1
                continue
            state, since = record.freshness_state.value, record.updated_at
            old = announced.get(name)
            if is_transition(old, state, overdue=overdue(state, since, now, grace_hours)):
                freshness = explain(context.instance, key, Freshness(name, state, since), now)
                url = alert_webhook.link(asset_path(key))
                alerts.append(FreshnessAlert(freshness, old, thresholds, url))
            elif state in (PASS, *ALERT_STATES):
                announced[name] = state
        waiting = f"; {unevaluated} not evaluated by the FreshnessDaemon yet" if unevaluated else ""
        if not alerts:
            reason = f"no freshness transitions{waiting}"
            return dg.SensorResult(skip_reason=reason, cursor=encode_announced(announced))
        body = freshness_message(alerts)
        context.log.warning(body["text"])
        listed = ", ".join(f"{a.freshness.asset}={a.freshness.state}" for a in alerts)
        error = alert_webhook.post(body)
        if error is not None:
            context.log.error(f"alert webhook failed, will retry next tick: {error}")
            reason = f"webhook failed for {listed} (retried next tick): {error}"
            return dg.SensorResult(skip_reason=reason, cursor=encode_announced(announced))
        for alert in alerts:
            announced[alert.freshness.asset] = alert.freshness.state
        sent = "alerted" if alert_webhook.enabled else "logged (no webhook URL)"
        reason = f"{sent}: {listed}{waiting}"
        return dg.SensorResult(skip_reason=reason, cursor=encode_announced(announced))

    return intercom_freshness_alert_sensor
