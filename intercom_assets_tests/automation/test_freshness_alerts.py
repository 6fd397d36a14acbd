"""Freshness alerts end to end: the FreshnessDaemon evaluates the code location's freshness
policies on a real instance, the UI's GraphQL reads the asset's freshness, and the alert
sensor posts to a webhook on loopback; the alert and the UI say the same at every step.

Time moves with `dagster._core.test_utils.freeze_time` (Dagster has no public hook for the
daemon's clock or an event's time); the daemon is driven the way Dagster's own tests drive
it (`FreshnessDaemon.run_iteration` on a workspace of the code location).
"""

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import dagster as dg
import psycopg
import pytest
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.test_utils import freeze_time
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._daemon.freshness import FreshnessDaemon
from dagster_graphql.test.utils import execute_dagster_graphql

from intercom_assets.resources import AlertWebhookResource
from intercom_assets.sensors import FRESHNESS_ALERT_SENSOR
from intercom_assets.settings import (
    DEFAULT_FRESHNESS_FAIL_HOURS,
    DEFAULT_FRESHNESS_WARN_HOURS,
    DEFAULT_NEVER_LOADED_GRACE_HOURS,
)
from intercom_assets_tests.conftest import Receiver

from . import freshness_location
from .conftest import TIMEZONE

LOCATION = freshness_location.__name__
UI = "http://dagster.example.test:3000"
UI_FRESHNESS = """
query { assetNodes { assetKey { path } freshnessStatusInfo { freshnessStatus } } }
"""
UI_WORDS = {"HEALTHY": "PASS", "WARNING": "WARN", "DEGRADED": "FAIL", "UNKNOWN": "UNKNOWN"}
"""The UI's word for each freshness state (Dagster's `AssetFreshnessHealthState`)."""
ALERTED = {"WARN", "FAIL"}


@dataclass
class Deployment:
    """The code location on a test instance: its FreshnessDaemon, the UI's GraphQL and the
    alert sensor, all at a time the test chooses."""

    instance: dg.DagsterInstance
    workspace: WorkspaceProcessContext
    receiver: Receiver
    ui_base_url: str | None = UI
    cursor: str | None = None

    def materialize(self, at: datetime, name: str, partition: str | None = None) -> None:
        with freeze_time(at):
            self.instance.report_runless_asset_event(
                dg.AssetMaterialization(
                    asset_key=dg.AssetKey(["intercom", name]), partition=partition
                )
            )

    def ui(self) -> dict[str, str]:
        """Every stream asset's freshness as the UI shows it."""
        result = execute_dagster_graphql(self.workspace.create_request_context(), UI_FRESHNESS)
        assert result.errors is None, result.errors
        nodes = result.data["assetNodes"]
        return {
            "/".join(n["assetKey"]["path"]): UI_WORDS[n["freshnessStatusInfo"]["freshnessStatus"]]
            for n in nodes
        }

    def tick(self, at: datetime) -> tuple[dict[str, str], dict[str, Any] | None]:
        """The daemon's iteration and the alert sensor's tick at `at`: what the UI then shows
        and the post the tick made (None: none)."""
        sensor = freshness_location.defs.resolve_sensor_def(FRESHNESS_ALERT_SENSOR)
        posted = len(self.receiver.received)
        webhook = AlertWebhookResource(url=self.receiver.url, ui_base_url=self.ui_base_url)
        with freeze_time(at):
            list(FreshnessDaemon().run_iteration(self.workspace))
            with dg.build_sensor_context(
                instance=self.instance,
                cursor=self.cursor,
                resources={"alert_webhook": webhook},
            ) as context:
                result = sensor(context)
        assert isinstance(result, dg.SensorResult)
        self.cursor = result.cursor
        received = self.receiver.received
        assert len(received) <= posted + 1, "one post per tick at most"
        return self.ui(), received[-1] if len(received) > posted else None


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def instance(request: pytest.FixtureRequest) -> Iterator[dg.DagsterInstance]:
    """A test instance on SQLite, or on a database of its own on the test PostgreSQL server
    (the production instance's storage, through psycopg2 as deploy/dagster.yaml says)."""
    if request.param == "sqlite":
        with dg.instance_for_test() as inst:
            yield inst
        return
    server: str = request.getfixturevalue("postgres_url")
    name = f"dagster_fresh_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = urlsplit(server)._replace(scheme="postgresql+psycopg2", path=f"/{name}").geturl()
    try:
        with dg.instance_for_test(
            overrides={"storage": {"postgres": {"postgres_url": url}}}
        ) as inst:
            yield inst
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def deployment(instance: dg.DagsterInstance, receiver: Receiver) -> Iterator[Deployment]:
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(module_name=LOCATION, attribute="defs"), location_name="intercom"
    )
    with WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget(origin)) as workspace:
        yield Deployment(instance, workspace, receiver)


def alerted(post: dict[str, Any] | None) -> dict[str, str]:
    return {} if post is None else {a["asset"]: a["state"] for a in post["alerts"]}


def agree(ui: dict[str, str], post: dict[str, Any] | None) -> None:
    """Every alert names the state the UI shows for its asset."""
    for asset, state in alerted(post).items():
        assert ui[asset] == state, f"{asset}: alert {state}, UI {ui[asset]}"


# Dagster's own snapshot of a schedule (as a workspace loads it) reads a property it deprecated.
@pytest.mark.filterwarnings("ignore:Property `ScheduleDefinition.environment_vars`")
def test_the_alerts_post_the_freshness_the_ui_shows(deployment: Deployment) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0)
    hour = timedelta(hours=1)
    today = t0.astimezone(ZoneInfo(TIMEZONE)).strftime("%Y-%m-%d")
    deployment.materialize(t0, "tags")
    deployment.materialize(t0, "contacts", today)

    # Loaded now: PASS on both sides; never loaded: UNKNOWN, inside the grace period: no post.
    ui, post = deployment.tick(t0 + timedelta(minutes=1))
    assert ui["intercom/tags"] == ui["intercom/contacts"] == "PASS"
    never = {a for a, s in ui.items() if s == "UNKNOWN"}
    assert "intercom/events" in never and "intercom/tags" not in never
    assert post is None

    # Past the WARN window, and the never-loaded past the grace period: one digest.
    ui, post = deployment.tick(t0 + (DEFAULT_FRESHNESS_WARN_HOURS + 1) * hour)
    agree(ui, post)
    assert alerted(post) == {"intercom/tags": "WARN", "intercom/contacts": "WARN"} | {
        a: "UNKNOWN" for a in never
    }
    assert post is not None
    tags = next(a for a in post["alerts"] if a["asset"] == "intercom/tags")
    assert (tags["previous"], tags["reason"]) == ("PASS", "stale")
    assert tags["url"] == f"{UI}/assets/intercom/tags"
    contacts = next(a for a in post["alerts"] if a["asset"] == "intercom/contacts")
    assert contacts["partition"] == today
    events = next(a for a in post["alerts"] if a["asset"] == "intercom/events")
    assert events["reason"] == "never materialized"
    assert events["grace_hours"] == DEFAULT_NEVER_LOADED_GRACE_HOURS

    # States that hold are not posted again.
    ui, post = deployment.tick(t0 + (DEFAULT_FRESHNESS_WARN_HOURS + 1.5) * hour)
    assert post is None

    # Past the FAIL window.
    fail_at = t0 + (DEFAULT_FRESHNESS_FAIL_HOURS + 1) * hour
    ui, post = deployment.tick(fail_at)
    agree(ui, post)
    assert alerted(post) == {"intercom/tags": "FAIL", "intercom/contacts": "FAIL"}

    # Loaded again (events for the first time): back to PASS on both sides.
    deployment.materialize(fail_at + timedelta(minutes=1), "tags")
    deployment.materialize(fail_at + timedelta(minutes=1), "events")
    ui, post = deployment.tick(fail_at + timedelta(minutes=2))
    agree(ui, post)
    assert alerted(post) == {"intercom/tags": "PASS", "intercom/events": "PASS"}
    assert post is not None and "recovered" in post["text"]

    # A backfill of an old day is a materialization: Dagster's policy calls contacts fresh,
    # and so does the alert.
    deployment.materialize(fail_at + timedelta(minutes=3), "contacts", "2024-03-01")
    ui, post = deployment.tick(fail_at + timedelta(minutes=4))
    agree(ui, post)
    assert alerted(post) == {"intercom/contacts": "PASS"}

    # At every step, what the sensor last announced is what the UI shows.
    announced = json.loads(deployment.cursor or "{}")["announced"]
    assert {a: s for a, s in announced.items() if s in ALERTED | {"PASS"}} == {
        a: s for a, s in ui.items() if a in announced and s in ALERTED | {"PASS"}
    }


@pytest.mark.filterwarnings("ignore:Property `ScheduleDefinition.environment_vars`")
def test_a_failed_post_is_posted_again_next_tick_without_links_when_no_ui_url(
    deployment: Deployment,
) -> None:
    deployment.ui_base_url = None
    t0 = datetime.now(UTC).replace(microsecond=0)
    _, post = deployment.tick(t0)
    assert post is None
    late = t0 + timedelta(hours=DEFAULT_NEVER_LOADED_GRACE_HOURS, minutes=1)
    deployment.receiver.fail_next = 1
    _, post = deployment.tick(late)
    assert post is None
    ui, post = deployment.tick(late + timedelta(minutes=1))
    agree(ui, post)
    assert post is not None and set(alerted(post)) == set(ui)
    assert {a["url"] for a in post["alerts"]} == {None}
    assert "<http" not in json.dumps(post["blocks"])
    _, post = deployment.tick(late + timedelta(minutes=2))
    assert post is None
