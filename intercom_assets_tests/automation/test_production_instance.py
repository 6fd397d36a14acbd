"""End to end on the production instance:
dagster-daemon and dagster-webserver on deploy/dagster.yaml (PostgreSQL), with
the change sensor running by default against `intercom-assets sandbox` on a loopback port.
A failing probe makes a failed tick (its message in the instance, its cursor unchanged).

The sandbox's clock is moved to the start of today in its workspace zone (a zone where it is
early afternoon now, so the test never straddles a partition's midnight), the sensor records
its marks, the clock moves on until contacts or conversations change, and the sensor's run of
today's partition must succeed and write those records. Every process started here runs in its
own process group and is stopped at the end.
"""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest

from intercom_assets.sensors import CHANGE_SENSOR
from intercom_assets.settings import CHANGE_SENSOR_INTERVAL

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WAIT_SECONDS = 150
T = TypeVar("T")
RUN_STATUS = "query($runId: ID!) { runOrError(runId: $runId) { ... on Run { status } } }"


def afternoon_zone(now: datetime) -> str:
    """An `Etc/GMT±N` zone where it is about 14:00 at `now` (far from both midnights)."""
    offset = max(-12, min(14, 14 - now.astimezone(UTC).hour))
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, probe: Callable[[], T | None], procs: list[subprocess.Popen]) -> T:
    """Polls `probe` until it returns something; fails early when a process died."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        for proc in procs:
            if proc.poll() is not None:
                pytest.fail(f"{proc.args[0]} exited with {proc.returncode} waiting for {what}")
        time.sleep(1)
    pytest.fail(f"gave up after {WAIT_SECONDS} s waiting for {what}")


def stop(proc: subprocess.Popen, grace: float) -> None:
    """One SIGINT to the leader, `grace` seconds, then SIGKILL for the whole group."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.fixture
def instance_db(postgres_url: str) -> Iterator[str]:
    """A fresh database for the Dagster instance on the test server, dropped afterwards."""
    name = f"dagster_it_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = urlsplit(postgres_url)._replace(path=f"/{name}").geturl()
    yield url
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen]]:
    started: list[subprocess.Popen] = []
    yield started
    for proc in reversed(started):
        stop(proc, grace=10)


def query(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


def test_sensor_run_on_the_postgres_instance_loads_the_changes(
    postgres_url: str,
    postgres_schema: str,
    instance_db: str,
    processes: list[subprocess.Popen],
    tmp_path: Path,
) -> None:
    zone = afternoon_zone(datetime.now(UTC))
    sandbox = subprocess.Popen(
        [BIN / "intercom-assets", "sandbox", "--size", "tiny", "--port", "0", "--timezone", zone],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    processes.append(sandbox)
    assert sandbox.stdout is not None
    api = sandbox.stdout.readline().strip()
    assert api.startswith("http://127.0.0.1:"), api
    control = httpx.Client(base_url=f"{api}/_sandbox", timeout=30)

    # Bring the simulated clock to 00:05 today in the workspace zone.
    midnight = datetime.now(ZoneInfo(zone)).replace(hour=0, minute=0, second=0, microsecond=0)
    target = int((midnight + timedelta(minutes=5)).timestamp())
    now = control.get("/clock").json()["now"]
    control.post("/advance", json={"seconds": target - now}).raise_for_status()

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    db = urlsplit(instance_db)
    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_USER": db.username or "postgres",
        "DAGSTER_PG_PASSWORD": db.password or "",
        "DAGSTER_PG_HOST": db.hostname or "127.0.0.1",
        "DAGSTER_PG_PORT": str(db.port or 5432),
        "DAGSTER_PG_DB": db.path.lstrip("/"),
        "INTERCOM_ACCESS_TOKEN": "sandbox",
        "INTERCOM_BASE_URL": api,
        "INTERCOM_ASSETS_TIMEZONE": zone,
        "INTERCOM_ASSETS_DATABASE_URL": postgres_url,
        "INTERCOM_ASSETS_SCHEMA": postgres_schema,
        CHANGE_SENSOR_INTERVAL.variable: "5",
    }
    log = open(tmp_path / "dagster.log", "w")  # noqa: SIM115 - closed at the end
    for command in (
        ["dagster-daemon", "run", "-m", "intercom_assets.definitions"],
        ["dagster-webserver", "-m", "intercom_assets.definitions", "-p", str(port)],
    ):
        proc = subprocess.Popen(
            [BIN / command[0], *command[1:]],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        processes.append(proc)

    def cursor() -> str | None:
        try:
            rows = query(instance_db, "SELECT instigator_body FROM instigators")
        except psycopg.Error:
            return None  # the instance has not created its tables yet
        for (body,) in rows:
            state = json.loads(body)
            if state["origin"].get("job_name") == CHANGE_SENSOR:
                return state["job_specific_data"].get("cursor")
        return None

    recorded = wait_for("the change sensor's first tick", cursor, processes)
    marks = json.loads(recorded)
    assert set(marks) == {"contacts", "conversations", "tickets"}

    # Intercom's contact search fails: the daemon records a failed tick with the probe's
    # one-line message, and the cursor stays as it was.
    control.put(
        "/faults", json={"error_rate_by_route": {"POST /contacts/search": 1.0}}
    ).raise_for_status()

    def failed_tick() -> str | None:
        rows = query(
            instance_db,
            "SELECT t.tick_body FROM job_ticks t JOIN instigators i"
            " ON i.selector_id = t.selector_id WHERE t.status = 'FAILURE'"
            " AND i.instigator_body::json->'origin'->>'job_name' = %s",
            CHANGE_SENSOR,
        )
        return rows[0][0] if rows else None

    tick = json.loads(wait_for("a failed change-sensor tick", failed_tick, processes))
    # Dagster wraps the sensor's exception (SensorExecutionError); the UI shows both, ours as
    # the cause.
    messages, error = [], tick["error"]
    while error:
        messages.append(error["message"])
        error = error.get("cause")
    ours = [m for m in messages if "change probe failed, cursor kept:" in m]
    assert ours and "contacts: IntercomServerError" in ours[0], messages
    assert cursor() == recorded
    control.put("/faults", json={}).raise_for_status()

    # Move the clock an hour at a time until a windowed stream changed (deterministic churn).
    changed: dict[str, list[str]] = {}
    for _ in range(12):
        ids = control.post("/advance", json={"seconds": 3600}).json()["ids"]
        for kind in ("contacts_updated", "contacts_created", "conversations_updated"):
            changed.setdefault(kind, []).extend(ids.get(kind, []))
        if any(changed.values()):
            break
    assert any(changed.values()), "twelve hours of churn changed no contact or conversation"

    def finished_sensor_run() -> tuple[str, str] | None:
        rows = query(
            instance_db,
            "SELECT r.run_id, r.status FROM runs r JOIN run_tags t ON t.run_id = r.run_id"
            " WHERE t.key = 'dagster/sensor_name' AND t.value = %s",
            CHANGE_SENSOR,
        )
        done = [(run_id, status) for run_id, status in rows if status in ("SUCCESS", "FAILURE")]
        return done[0] if done else None

    run_id, status = wait_for("the sensor's run to finish", finished_sensor_run, processes)
    log.flush()
    assert status == "SUCCESS", (tmp_path / "dagster.log").read_text()[-3000:]

    # The webserver reads the same instance.
    graphql = httpx.post(
        f"http://127.0.0.1:{port}/graphql",
        json={"query": RUN_STATUS, "variables": {"runId": run_id}},
        timeout=60,
    )
    assert graphql.json()["data"]["runOrError"]["status"] == "SUCCESS"

    # The run and its events are in PostgreSQL; it loaded today's partition.
    tags = dict(query(instance_db, "SELECT key, value FROM run_tags WHERE run_id = %s", run_id))
    assert tags["dagster/partition"] == midnight.date().isoformat()
    events = {
        kind
        for (kind,) in query(
            instance_db,
            "SELECT DISTINCT dagster_event_type FROM event_logs WHERE run_id = %s",
            run_id,
        )
    }
    assert {"ASSET_MATERIALIZATION", "PIPELINE_SUCCESS"} <= events

    # The changed records are in the warehouse as the sandbox has them now.
    # A stream with no change is not in the sensor's run (its table may not exist yet).
    truth = control.get("/truth").json()
    checked = []
    for resource, ids in (
        ("contacts", changed["contacts_updated"] + changed["contacts_created"]),
        ("conversations", changed["conversations_updated"]),
    ):
        wanted = {r["id"]: r["updated_at"] for r in truth[resource] if r["id"] in set(ids)}
        if not wanted:
            continue
        checked.append(resource)
        stored = dict(
            query(
                postgres_url,
                f"SELECT id, (_raw->>'updated_at')::bigint FROM \"{postgres_schema}\".{resource}"
                " WHERE id = ANY(%s)",
                list(wanted),
            )
        )
        assert stored == wanted, resource
    assert checked, "no changed record to look for in the warehouse"
    control.close()
    log.close()
