"""Freshness alerts end to end: the alert sensor judges every stream asset from its newest
partition's data and posts one digest per tick to a webhook on loopback.

Materializations are real events in a test instance; the sensor's clock is moved forward
instead of waiting a day. Only the recovery step needs an event dated in the future: it uses
`dagster._core.test_utils.freeze_time` (Dagster has no public hook for an event's time).
"""

import json
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from dagster._core.test_utils import freeze_time

from intercom_assets.assets import asset_key
from intercom_assets.partitions import daily_partitions
from intercom_assets.resources import AlertWebhookResource
from intercom_assets.sensors import build_freshness_alert_sensor
from intercom_assets.settings import (
    DEFAULT_FRESHNESS_FAIL_HOURS,
    DEFAULT_FRESHNESS_WARN_HOURS,
    DEFAULT_NEVER_LOADED_GRACE_HOURS,
    PartitionSettings,
)
from intercom_assets.streams import STREAMS
from intercom_assets_tests.conftest import Receiver

from .conftest import TIMEZONE

KEYS = [asset_key(s.name) for s in STREAMS]
FRESH = ["admins", "tags", "segments"]
BACKFILLED = "companies"
UI = "http://dagster.example.test:3000"
TOKEN = "tok-SECRET-7f3a9c"
DB_URL = "postgresql://loader:pw-SECRET-41b2@db.internal:5432/analytics"
PARTITIONS = daily_partitions(PartitionSettings(start_date="2024-01-01", timezone=TIMEZONE))


def key_at(at: datetime, days_before: int = 0) -> str:
    with dg.partition_loading_context(effective_dt=at):
        keys = PARTITIONS.get_partition_keys()
    return keys[-1 - days_before]


def materialize(instance: dg.DagsterInstance, name: str, partitions: list[str]) -> None:
    for partition in partitions:
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=asset_key(name), partition=partition)
        )


class Ticker:
    """The alert sensor ticked at chosen times, its cursor carried from tick to tick."""

    def __init__(self, instance: dg.DagsterInstance, webhook: AlertWebhookResource) -> None:
        self.instance, self.webhook = instance, webhook
        self.now = datetime.now(UTC)
        self.cursor: str | None = None
        self.sensor = build_freshness_alert_sensor(
            KEYS,
            PARTITIONS,
            warn_hours=DEFAULT_FRESHNESS_WARN_HOURS,
            fail_hours=DEFAULT_FRESHNESS_FAIL_HOURS,
            grace_hours=DEFAULT_NEVER_LOADED_GRACE_HOURS,
            clock=lambda: self.now,
        )

    def tick(self, at: datetime) -> str:
        self.now = at
        with dg.build_sensor_context(
            instance=self.instance, cursor=self.cursor, resources={"alert_webhook": self.webhook}
        ) as context:
            result = self.sensor(context)
        assert isinstance(result, dg.SensorResult)
        self.cursor = result.cursor
        reason = result.skip_reason
        return reason.skip_message or "" if reason else ""


def by_asset(post: dict[str, object]) -> dict[str, dict[str, object]]:
    alerts = post["alerts"]
    assert isinstance(alerts, list)
    return {a["asset"]: a for a in alerts}


def test_one_digest_per_tick_lists_every_transition(
    instance: dg.DagsterInstance, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTERCOM_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("INTERCOM_ASSETS_DATABASE_URL", DB_URL)
    webhook = AlertWebhookResource(url=receiver.url, ui_base_url=UI)
    ticker = Ticker(instance, webhook)
    t0 = ticker.now
    today = key_at(t0)

    # Three streams load today's partition; companies only gets a backfill of old days (the
    # newest event of all, so Dagster's own freshness would call it fresh); the rest nothing.
    for name in FRESH:
        materialize(instance, name, [today])
    old_days = [key_at(t0, days) for days in (12, 11, 10)]
    materialize(instance, BACKFILLED, old_days)
    latest = instance.get_latest_materialization_event(asset_key(BACKFILLED))
    assert latest is not None and latest.timestamp >= t0.timestamp() - 60

    # First tick: companies is FAIL (its newest data ends 10 days ago): one post, one alert.
    ticker.tick(t0 + timedelta(minutes=1))
    assert len(receiver.received) == 1
    (companies,) = receiver.received[0]["alerts"]
    assert companies["asset"] == "intercom/companies"
    assert companies["state"] == "FAIL" and companies["reason"] == "stale"
    assert companies["partition"] == old_days[-1]
    assert companies["age_hours"] > 9 * 24
    assert companies["url"] == f"{UI}/assets/intercom/companies"

    # Same time again: nothing new, nothing posted.
    assert ticker.tick(t0 + timedelta(minutes=2)) == "no freshness transitions"
    assert len(receiver.received) == 1

    # A day and three hours later, with the webhook down once: nothing recorded, so the
    # next tick posts the same digest. Three streams are WARN, the never-loaded ones FAIL
    # (past the grace period since the first tick), all in ONE post.
    later = t0 + timedelta(hours=27)
    receiver.fail_next = 1
    assert "retried next tick" in ticker.tick(later)
    assert len(receiver.received) == 1
    ticker.tick(later + timedelta(minutes=1))
    assert len(receiver.received) == 2
    digest = receiver.received[1]
    alerts = by_asset(digest)
    never = {k.to_user_string() for k in KEYS} - {f"intercom/{n}" for n in [*FRESH, BACKFILLED]}
    assert set(alerts) == {f"intercom/{n}" for n in FRESH} | never
    for name in FRESH:
        alert = alerts[f"intercom/{name}"]
        assert alert["state"] == "WARN" and alert["previous"] == "PASS"
        assert alert["partition"] == today
        materialized = datetime.fromisoformat(str(alert["last_materialization"]))
        assert abs((materialized - t0).total_seconds()) < 60
        assert 26.9 < float(str(alert["age_hours"])) < 27.1
        assert alert["warn_hours"] == DEFAULT_FRESHNESS_WARN_HOURS
        assert alert["fail_hours"] == DEFAULT_FRESHNESS_FAIL_HOURS
        assert alert["url"] == f"{UI}/assets/intercom/{name}"
        assert f"<{UI}/assets/intercom/{name}|intercom/{name}>" in json.dumps(digest["blocks"])
        assert f"intercom/{name} is WARN (stale; was PASS)" in str(digest["text"])
    for name in never:
        alert = alerts[name]
        assert alert["state"] == "FAIL" and alert["reason"] == "never materialized"
        assert alert["last_materialization"] is None and alert["age_hours"] is None
        assert alert["grace_hours"] == DEFAULT_NEVER_LOADED_GRACE_HOURS
        assert abs(datetime.fromisoformat(str(alert["first_seen"])) - t0) < timedelta(minutes=2)
    assert str(digest["text"]).startswith(f"Intercom freshness: {len(never)} FAIL, 3 WARN")
    assert ticker.tick(later + timedelta(minutes=2)) == "no freshness transitions"

    # Another backfill of old days does not make companies look fresh.
    materialize(instance, BACKFILLED, [key_at(t0, 20)])
    ticker.tick(later + timedelta(minutes=3))
    assert len(receiver.received) == 2

    # Tags loads the partition of the (new) day: one post saying it recovered.
    with freeze_time(later + timedelta(minutes=4)):
        materialize(instance, "tags", [key_at(later)])
    ticker.tick(later + timedelta(minutes=5))
    assert len(receiver.received) == 3
    (tags,) = receiver.received[2]["alerts"]
    assert (tags["asset"], tags["state"], tags["previous"]) == ("intercom/tags", "PASS", "WARN")
    assert tags["reason"] == "recovered" and float(tags["age_hours"]) < 0.1

    everything = json.dumps(receiver.received)
    assert "SECRET" not in everything and "pw-" not in everything


def test_without_a_ui_base_url_alerts_have_no_link(
    instance: dg.DagsterInstance, receiver: Receiver
) -> None:
    ticker = Ticker(instance, AlertWebhookResource(url=receiver.url))
    ticker.tick(ticker.now)
    ticker.tick(ticker.now + timedelta(hours=DEFAULT_NEVER_LOADED_GRACE_HOURS, minutes=1))
    (digest,) = receiver.received
    assert len(digest["alerts"]) == len(KEYS)
    assert {a["url"] for a in digest["alerts"]} == {None}
    assert "<http" not in json.dumps(digest["blocks"])


def test_a_cursor_of_the_older_form_keeps_its_announced_states(
    instance: dg.DagsterInstance, receiver: Receiver
) -> None:
    """Before the digest, the cursor was `{"intercom/tags": "WARN"}`: no second WARN alert."""
    ticker = Ticker(instance, AlertWebhookResource(url=receiver.url))
    materialize(instance, "tags", [key_at(ticker.now)])
    ticker.cursor = json.dumps({"intercom/tags": "WARN"})
    ticker.tick(ticker.now + timedelta(hours=27))
    assert receiver.received == []
    assert json.loads(ticker.cursor or "{}")["announced"]["intercom/tags"] == "WARN"
