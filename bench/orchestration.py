"""Orchestration benchmark: what Dagster adds around the stream assets' own work.

Everything runs through the real Dagster CLI, as a user would, in a child process with the
project's defaults: the code location `-m intercom_assets.definitions` configured by the
environment, the default executor, and a fresh DAGSTER_HOME whose dagster.yaml holds the
production instance's storage and pools (deploy/dagster.yaml: PostgreSQL, here a throwaway
database per run; one Intercom step at a time). The sandbox
is served by `intercom-assets sandbox` in its own process, with 50 ms of latency on every
request; the warehouse is PostgreSQL.

Three runs:

- initial: the `demo` workspace's whole history, as one single-run partition range
  (`dagster asset materialize --select group:intercom --partition-range`);
- daily: the sandbox moves one day, then the daily job runs that day's partition as the
  daily schedule does (`dagster job execute -j intercom_daily`, its own run config);
- range_731: a `tiny` workspace, partitions 2024-01-01...2025-12-31 (the default start
  date, 731 daily partitions) in one single-run range.

Per run: wall time of the CLI command, the steps' own seconds (STEP_START to the step's end,
summed over every step, from the run's event log), the asset steps' share of it, events
written to the event log, log lines printed, processes that wrote events (distinct pids),
step workers started, API calls and `GET /me` calls (the sandbox's request counter), and the
partitions the instance then counts as materialized per partitioned asset (the least and the
most: every partition of the range, whatever way Dagster wrote the events).
Nothing here names asset keys or step keys: the assets are the group `intercom`, steps are
counted as the event log reports them.

    .venv/bin/python bench/orchestration.py            # records bench/results/orchestration.json
    .venv/bin/python bench/orchestration.py --baseline # ... and keeps it as the "baseline"
    .venv/bin/python bench/orchestration.py --quick    # tiny workspace, 31-day range; prints only

`--quick` never writes the results file. A normal run keeps the recorded "baseline".
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import psycopg
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from intercom_assets.definitions import RANGE_RUN_ENVIRONMENT  # noqa: E402
from intercom_assets.schedules import DAILY_JOB  # noqa: E402

PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SCHEMA = f"bench_orch_{os.getpid()}"
TOKEN = "sandbox"
LATENCY_SECONDS = 0.05
GROUP = "intercom"
RESULTS = REPO / "bench" / "results" / "orchestration.json"
BIN = Path(sys.executable).parent

# (name, sandbox size, start date, first partition, last partition or None for one day)
RUNS = {
    "initial": ("demo", "2025-12-31", "2025-12-31", "2026-01-01"),
    "range_731": ("tiny", "2024-01-01", "2024-01-01", "2025-12-31"),
}
DAILY_PARTITION = "2026-01-01"
"""The day the sandbox's clock moves through after the initial run (it starts at
2026-01-01 00:00 UTC): the daily schedule's partition on 2026-01-02."""
QUICK_RANGE = ("2025-12-01", "2025-12-31")

GOALS = {
    "daily": "wall <= 1.5 x steps' own seconds + 5 s",
    "initial": "wall <= 1.3 x steps' own seconds + 10 s",
    "range_731": "wall < 30 s",
    "get_me": "one GET /me per run",
}


@contextmanager
def served_sandbox(size: str) -> Iterator[httpx.Client]:
    """`intercom-assets sandbox` in a child process with 50 ms latency; a client on its
    control endpoints (base URL: the API)."""
    command = [str(BIN / "intercom-assets"), "sandbox", "--size", size, "--port", "0"]
    command += ["--timezone", "UTC", "--rate-limit", "10000000", "--token", TOKEN]
    command += ["--latency", str(LATENCY_SECONDS)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError(f"the sandbox did not start (exit code {child.poll()})")
        with httpx.Client(base_url=url, timeout=600) as control:
            yield control
    finally:
        child.terminate()
        child.wait(timeout=30)


@contextmanager
def instance_home(root: Path) -> Iterator[Path]:
    """A fresh DAGSTER_HOME with the production instance's storage (PostgreSQL through
    psycopg2, as deploy/dagster.yaml says, in a throwaway database dropped afterwards) and
    pools."""
    home = root / "dagster_home"
    home.mkdir()
    production = yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())
    scheme = production["storage"]["postgres"]["postgres_db"]["scheme"]
    database = f"bench_orch_dagster_{os.getpid()}"
    server = PG_URL.rsplit("/", 1)[0].removeprefix("postgresql")
    storage_url = f"{scheme}{server}/{database}"
    config = {
        "storage": {"postgres": {"postgres_url": storage_url}},
        "concurrency": {"pools": production["concurrency"]["pools"]},
        "telemetry": {"enabled": False},
    }
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    try:
        yield home
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def cli_env(home: Path, api: str, start_date: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTERCOM_", "DAGSTER_"))}
    env |= {
        "DAGSTER_HOME": str(home),
        "PYTHONPATH": os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "INTERCOM_ACCESS_TOKEN": TOKEN,
        "INTERCOM_BASE_URL": api,
        "INTERCOM_ASSETS_DATABASE_URL": PG_URL,
        "INTERCOM_ASSETS_SCHEMA": SCHEMA,
        "INTERCOM_ASSETS_START_DATE": start_date,
        "INTERCOM_ASSETS_TIMEZONE": "UTC",
        **RANGE_RUN_ENVIRONMENT,  # as a deployment sets them (docs/operations.md, Range runs)
    }
    return env


def run_cli(args: list[str], env: dict[str, str], control: httpx.Client) -> dict[str, Any]:
    """One Dagster CLI command; its wall time, output lines and the API calls it made."""
    control.post("/_sandbox/requests/reset").raise_for_status()
    started = time.monotonic()
    done = subprocess.run(args, env=env, cwd=REPO, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    calls = control.get("/_sandbox/requests").json()
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
        raise RuntimeError(f"{' '.join(args[:4])} failed ({done.returncode}):\n{tail}")
    return {
        "wall_seconds": round(wall, 2),
        "log_lines": len(done.stdout.splitlines()) + len(done.stderr.splitlines()),
        "api_calls": sum(calls.values()),
        "get_me_calls": calls.get("GET /me", 0),
    }


def run_stats(home: Path, run_id: str | None = None) -> dict[str, Any]:
    """From the instance's newest run (or `run_id`): events, steps and their own seconds,
    processes."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        if run_id is None:
            (run,) = instance.get_runs(limit=1)
        else:
            run = instance.get_run_by_id(run_id)
            assert run is not None, run_id
        records = instance.all_logs(run.run_id)
        partitioned = {
            r.dagster_event.asset_key
            for r in records
            if r.dagster_event is not None
            and r.dagster_event.event_type_value == "ASSET_MATERIALIZATION"
            and r.dagster_event.partition is not None
        }
        counts = [len(instance.get_materialized_partitions(key)) for key in partitioned]
    started: dict[str, float] = {}
    step_seconds: dict[str, float] = {}
    materializing: set[str] = set()
    pids: set[int] = set()
    workers = 0
    by_type: dict[str, int] = {}
    for record in records:
        event = record.dagster_event
        if event is None:
            by_type["log message"] = by_type.get("log message", 0) + 1
            continue
        by_type[event.event_type_value] = by_type.get(event.event_type_value, 0) + 1
        if event.pid is not None:
            pids.add(event.pid)
        step = event.step_key
        kind = event.event_type_value
        if kind == "STEP_WORKER_STARTED":
            workers += 1
        elif step is not None and kind == "STEP_START":
            started[step] = record.timestamp
        elif step is not None and kind in ("STEP_SUCCESS", "STEP_FAILURE") and step in started:
            step_seconds[step] = record.timestamp - started[step]
        elif step is not None and kind == "ASSET_MATERIALIZATION":
            materializing.add(step)
    return {
        "status": run.status.value,
        "events": len(records),
        "events_by_type": dict(sorted(by_type.items(), key=lambda kv: -kv[1])),
        "steps": len(step_seconds),
        "asset_steps": len(materializing),
        "steps_own_seconds": round(sum(step_seconds.values()), 2),
        "asset_steps_own_seconds": round(
            sum(s for k, s in step_seconds.items() if k in materializing), 2
        ),
        "processes": len(pids),
        "step_workers_started": workers,
        "materialized_partitions": {
            "partitioned_assets": len(counts),
            "least": min(counts, default=0),
            "most": max(counts, default=0),
        },
    }


def measure(
    out: dict[str, dict[str, Any]],
    save: Callable[[], None],
    name: str,
    size: str,
    start_date: str,
    first: str,
    last: str | None,
    daily: bool = False,
) -> None:
    """Serve a fresh `size` sandbox; run `first...last` (and, `daily`, then the daily job for
    DAILY_PARTITION) through the CLI; the stats of each run go into `out`, then `save()`."""
    drop_schema()  # each measurement loads a fresh workspace into an empty schema
    with (
        tempfile.TemporaryDirectory() as tmp,
        instance_home(Path(tmp)) as home,
        served_sandbox(size) as control,
    ):
        env = cli_env(home, str(control.base_url), start_date)
        materialize = [str(BIN / "dagster"), "asset", "materialize"]
        materialize += ["-m", "intercom_assets.definitions", "--select", f"group:{GROUP}"]
        partitions = f"{first}...{last}" if last else first
        option = "--partition-range" if last else "--partition"
        print(f"{name}: {size} workspace, partitions {partitions}", flush=True)
        cli = run_cli([*materialize, option, partitions], env, control)
        out[name] = {"size": size, "partitions": partitions, **cli, **run_stats(home)}
        report(name, out[name])
        save()
        if daily:
            changes = control.post("/_sandbox/advance", json={"days": 1}).json()
            execute = [str(BIN / "dagster"), "job", "execute", "-m"]
            execute += ["intercom_assets.definitions", "-j", DAILY_JOB]
            execute += ["--tags", json.dumps({"dagster/partition": DAILY_PARTITION})]
            print(f"daily: job {DAILY_JOB}, partition {DAILY_PARTITION}", flush=True)
            cli = run_cli(execute, env, control)
            out["daily"] = {
                "size": size,
                "partitions": DAILY_PARTITION,
                "day_changes": {k: len(v) for k, v in changes.get("ids", {}).items() if v},
                **cli,
                **run_stats(home),
            }
            report("daily", out["daily"])
            save()


def report(name: str, r: dict[str, Any]) -> None:
    print(
        f"  {name:9} wall {r['wall_seconds']:7.1f} s  steps' own {r['steps_own_seconds']:7.1f} s"
        f" ({r['steps']} steps, assets {r['asset_steps_own_seconds']:.1f} s)  events"
        f" {r['events']}  log lines {r['log_lines']}  processes {r['processes']}"
        f"  API calls {r['api_calls']}  GET /me {r['get_me_calls']}  {r['status']}\n"
        f"            events by type: {r['events_by_type']}",
        flush=True,
    )


def goals(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each goal that the recorded runs can judge, met or not."""
    out: dict[str, Any] = {}
    for name, factor, extra in (("daily", 1.5, 5), ("initial", 1.3, 10)):
        if name in runs:
            limit = factor * runs[name]["steps_own_seconds"] + extra
            out[name] = {
                "goal": GOALS[name],
                "limit_seconds": round(limit, 2),
                "met": runs[name]["wall_seconds"] <= limit,
            }
    if "range_731" in runs:
        out["range_731"] = {
            "goal": GOALS["range_731"],
            "met": runs["range_731"]["wall_seconds"] < 30,
        }
    if runs:
        out["get_me"] = {
            "goal": GOALS["get_me"],
            "met": all(r["get_me_calls"] == 1 for r in runs.values()),
        }
    return out


def drop_schema() -> None:
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')


def commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "intercom_assets"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() + ("+uncommitted" if dirty.stdout.strip() else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="tiny workspace, 31-day range; prints only"
    )
    parser.add_argument(
        "--baseline", action="store_true", help="also keep this measurement as the baseline"
    )
    parser.add_argument(
        "--only",
        choices=["initial", "range_731"],
        help="measure only these runs (initial: with the daily run) and keep the others",
    )
    args = parser.parse_args()
    record: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit(),
        "quick": args.quick,
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "versions": {"python": platform.python_version(), "dagster": dg.__version__},
        "latency_seconds": LATENCY_SECONDS,
        "how": "Dagster CLI in a child process, the project's defaults (default executor),"
        " a fresh DAGSTER_HOME with deploy/dagster.yaml's storage (PostgreSQL) and pools;"
        " sandbox in its own process; PostgreSQL warehouse",
    }
    runs: dict[str, dict[str, Any]] = {}

    def save(complete: bool) -> None:
        """The results so far (written after each run, so a long one loses nothing); with
        `--only`, the other runs as recorded."""
        previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        if args.only:
            kept_runs = {k: v for k, v in previous.get("runs", {}).items() if k not in runs}
            runs.update(kept_runs)
        record["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        record["runs"] = {k: runs[k] for k in ("initial", "daily", "range_731") if k in runs}
        record["complete"] = complete and len(record["runs"]) == 3
        record["goals"] = goals(record["runs"])
        if args.quick:
            return
        kept = {k: v for k, v in record.items() if k != "baseline"}
        if args.baseline:
            kept["baseline"] = dict(kept)
        elif "baseline" in previous:
            kept["baseline"] = previous["baseline"]
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(kept, indent=2) + "\n")

    def partial() -> None:
        save(complete=False)

    try:
        if args.quick:
            first, last = QUICK_RANGE
            measure(
                runs, partial, "initial", "tiny", "2025-12-31", "2025-12-31", "2026-01-01", True
            )
            measure(runs, partial, "range_731", "tiny", first, first, last)
            runs["range_731"]["note"] = f"--quick: {first}...{last}, not 731 partitions"
        else:
            if args.only in (None, "initial"):
                size, start, first, last = RUNS["initial"]
                measure(runs, partial, "initial", size, start, first, last, daily=True)
            if args.only in (None, "range_731"):
                size, start, first, last = RUNS["range_731"]
                days = (date.fromisoformat(last) - date.fromisoformat(first)).days + 1
                assert days == 731, days
                measure(runs, partial, "range_731", size, start, first, last)
    finally:
        drop_schema()
    save(complete=True)
    for name, goal in record.get("goals", {}).items():
        print(f"goal {name:9} {goal['goal']}: {'met' if goal['met'] else 'NOT met'}")
    print("--quick: nothing written" if args.quick else f"written {RESULTS}")


if __name__ == "__main__":
    main()
