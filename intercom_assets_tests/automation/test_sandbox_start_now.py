"""`intercom-assets sandbox --start now`: the served clock follows the wall clock, so the
change sensor's run of today's partition loads the changes `POST /_sandbox/advance` makes."""

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
import httpx
import pytest

from intercom_assets.definitions import build_definitions
from intercom_assets.resources import AlertWebhookResource, IntercomResource, WarehouseResource
from intercom_assets.sandbox import DEFAULT_START, start_time
from intercom_assets.sensors import CHANGE_SENSOR
from intercom_assets.settings import PartitionSettings
from intercom_assets.warehouse import connect
from intercom_assets_tests.oracle import differences, format_differences
from intercom_assets_tests.processes import stop

CLI = str(Path(sys.executable).with_name("intercom-assets"))
TOKEN = "t0k"
HOUR = 3600
MORNING = 4
"""Local hour the test's time zone is picked for: the day has 20 hours left to advance in."""
LAST_HOUR = 23
"""The advances stop here, so every change falls in today's partition."""
CHANGES = ("contacts_updated", "contacts_created", "conversations_updated", "conversations_created")


def morning_zone(now: datetime) -> str:
    """A fixed-offset zone in which `now` falls between 04:00 and 05:00."""
    offset = (MORNING - now.astimezone(UTC).hour) % 24
    offset = offset - 24 if offset > 14 else offset
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # Etc/GMT-3 is UTC+3


@pytest.fixture
def zone() -> str:
    return morning_zone(datetime.now(UTC))


@pytest.fixture
def served(zone: str) -> Iterator[str]:
    """`intercom-assets sandbox --start now` on a loopback port; yields its base URL."""
    command = [CLI, "sandbox", "--size", "tiny", "--port", "0", "--token", TOKEN]
    command += ["--timezone", zone, "--start", "now"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        yield url
    finally:
        stop(proc)


def control(http: httpx.Client, method: str, path: str, **body: Any) -> Any:
    answer = http.request(method, f"/_sandbox/{path}", json=body or None)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_start_now_serves_the_wall_clock_and_the_sensor_run_loads_an_advance(
    zone: str, served: str, tmp_path: Path
) -> None:
    with httpx.Client(base_url=served, timeout=30) as http:
        clock = control(http, "GET", "clock")
        assert abs(clock["now"] - time.time()) < 60, clock
        assert clock["timezone"] == zone

        local = datetime.fromtimestamp(clock["now"], ZoneInfo(zone))
        today = local.strftime("%Y-%m-%d")
        first = (local - timedelta(days=3)).strftime("%Y-%m-%d")
        resources = {
            "intercom": IntercomResource(access_token=TOKEN, base_url=served),
            "warehouse": WarehouseResource(url=f"duckdb:///{tmp_path / 'w.duckdb'}"),
        }
        defs = build_definitions(PartitionSettings(first, zone), resources)
        with dg.instance_for_test() as instance:
            history = dg.materialize(
                list(defs.assets or []),
                resources=resources,
                instance=instance,
                tags={
                    "dagster/asset_partition_range_start": first,
                    "dagster/asset_partition_range_end": today,
                },
            )
            assert history.success
            sensor = defs.resolve_sensor_def(CHANGE_SENSOR)
            cursor = tick(sensor, instance, resources, None).cursor  # records the marks

            changed = advance_until_a_change(http, zone, today)
            result = tick(sensor, instance, resources, cursor)
            (request,) = result.run_requests or []
            assert request.partition_key == today
            selected = [key.path[-1] for key in request.asset_selection or []]
            assert {"contacts", "conversations"} & set(selected), selected
            run = dg.materialize(
                list(defs.assets or []),
                partition_key=request.partition_key,
                selection=request.asset_selection,
                resources=resources,
                instance=instance,
                tags=request.tags,
            )
            assert run.success
        truth = control(http, "GET", "truth")
    # Default churn also makes changes only the daily sweep sees (notes, silent tags): the
    # records the advance updated or created are compared, in full, with the truth.
    ids = {i for kind in changed.values() for i in kind}
    with connect(tmp_path / "w.duckdb", schema="intercom") as wh:
        found = differences(wh, truth, ["contacts", "conversations"])
    wrong = [d for d in found if d.table in ("contacts", "conversations") and d.id in ids]
    assert not wrong, format_differences(wrong)
    for kind, changed_ids in changed.items():
        table = kind.split("_")[0]
        live = {r["id"] for r in truth[table]}
        assert written(run, table) >= len(set(changed_ids) & live) > 0, (kind, changed_ids)


def tick(
    sensor: dg.SensorDefinition,
    instance: dg.DagsterInstance,
    resources: dict[str, Any],
    cursor: str | None,
) -> dg.SensorResult:
    with dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"intercom": resources["intercom"], "alert_webhook": AlertWebhookResource()},
    ) as context:
        result = sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def advance_until_a_change(http: httpx.Client, zone: str, today: str) -> dict[str, list[str]]:
    """Advance the served clock to 22:00 local time, then an hour at a time within today,
    until contacts or conversations changed; return the changed ids by kind.

    `tiny` changes about one contact and one conversation a simulated day."""
    now = datetime.fromtimestamp(control(http, "GET", "clock")["now"], ZoneInfo(zone))
    evening = now.replace(hour=LAST_HOUR - 1, minute=0, second=0)
    steps = [int((evening - now).total_seconds()), HOUR]
    for seconds in steps:
        log = control(http, "POST", "advance", seconds=seconds)
        assert datetime.fromtimestamp(log["end"], ZoneInfo(zone)).strftime("%Y-%m-%d") == today
        changed = {kind: log["ids"][kind] for kind in CHANGES if log["ids"].get(kind)}
        if changed:
            return changed
    raise AssertionError("the sandbox changed no contact or conversation until 23:00")


def written(run: dg.ExecuteInProcessResult, table: str) -> int:
    """Rows of entity table `table` the run inserted or updated."""
    events = [
        e
        for e in run.asset_materializations_for_node(f"intercom__{table}")
        if e.asset_key == dg.AssetKey(["intercom", table])
    ]
    assert events, table
    counts = events[0].metadata
    return int(counts["inserted"].value + counts["updated"].value)  # type: ignore[operator]


def test_start_takes_now_a_local_date_or_nothing_else() -> None:
    assert start_time("now", "UTC", now=lambda: 1_800_000_000.7) == 1_800_000_000
    midnight = datetime(2026, 3, 2, tzinfo=ZoneInfo("America/New_York"))
    assert start_time("2026-03-02", "America/New_York") == int(midnight.timestamp())
    assert start_time("2026-01-01", "UTC") == DEFAULT_START
    with pytest.raises(ValueError, match="start must be 'now' or a date YYYY-MM-DD, got 'soon'"):
        start_time("soon", "UTC")
