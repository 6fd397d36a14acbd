"""Fan-out throughput of the API client against the sandbox.

Two scenarios, each over a real loopback port and in-process (`Sandbox.transport()`). Over
the port the sandbox is served with `Sandbox.serve(port=0)` in a child process, so the client
is measured without the server competing for its interpreter lock; the same-process port
(`loopback-shared`) is recorded too, for comparison only.

latency  N conversation GETs, 50 ms injected latency, 16 in flight, no binding rate limit.
         floor = N x 0.05 s / 16 (perfect overlap of the latency); goal: elapsed <= 1.3 x floor.
budget   M conversation GETs, 16 in flight, no latency, sandbox budget 600/min (100 per
         10-second window, windows aligned to multiples of 10 s of real time). The run starts
         at a window boundary, so the last of ceil(M/100) batches cannot start before
         floor = (ceil(M/100) - 1) x 10 s; goal: elapsed <= 1.2 x floor, and no 429 reaching
         the caller.

capacity the latency scenario's GETs with no latency: the serial cost per request of the
         setup (client + sandbox on a shared 2-CPU machine). When N x that cost nears the
         latency floor, the floor cannot be reached on this machine.

Run: .venv/bin/python bench/fanout.py [--quick]
"""

import argparse
import contextlib
import datetime as dt
import itertools
import json
import math
import multiprocessing
import os
import platform
import sys
import time
from collections.abc import Iterator
from importlib import metadata
from multiprocessing.connection import Connection
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intercom_assets.api import IntercomClient, RateLimiter, RetryPolicy, get_many
from intercom_assets.sandbox import FaultConfig, Sandbox

RESULTS = Path(__file__).parent / "results" / "fanout.json"
WINDOW = 10
LATENCY = 0.05
IN_FLIGHT = 16
PER_MINUTE_BUDGET = 600


def conversation_paths(sb: Sandbox, n: int) -> list[str]:
    ids = [c["id"] for c in sb.truth()["conversations"]]
    return [f"/conversations/{i}" for i in itertools.islice(itertools.cycle(ids), n)]


def _serve_in_child(conn: Connection, options: dict, faults: FaultConfig) -> None:
    """Child process: serve a sandbox on a loopback port until the parent says stop."""
    sb = Sandbox(**options)
    sb.set_faults(faults)
    with sb.serve(port=0) as url:
        conn.send(url)
        conn.recv()


@contextlib.contextmanager
def served_in_child(options: dict, faults: FaultConfig) -> Iterator[str]:
    parent, child = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_serve_in_child, args=(child, options, faults), daemon=True
    )
    process.start()
    try:
        yield parent.recv()
    finally:
        parent.send("stop")
        process.join(10)


@contextlib.contextmanager
def client_for(options: dict, faults: FaultConfig, mode: str) -> Iterator[IntercomClient]:
    """A fresh client (and a fresh limiter) on a sandbox built from `options`."""
    retry = RetryPolicy(max_attempts=5, base_delay=0.05)
    limits = {"retry": retry, "limiter": RateLimiter(), "max_connections": 64}
    if mode == "loopback":
        with (
            served_in_child(options, faults) as url,
            IntercomClient("sandbox", base_url=url, **limits) as client,
        ):
            yield client
        return
    sb = Sandbox(**options)
    sb.set_faults(faults)
    if mode == "loopback-shared":
        with sb.serve(port=0) as url, IntercomClient("sandbox", base_url=url, **limits) as client:
            yield client
        return
    with IntercomClient(
        "sandbox", base_url=sb.base_url, transport=sb.transport(), **limits
    ) as client:
        yield client


def run(client: IntercomClient, paths: list[str]) -> tuple[float, int]:
    """Elapsed seconds and the number of failed items for one fan-out."""
    started = time.perf_counter()
    failures = sum(1 for r in get_many(client, paths, max_in_flight=IN_FLIGHT) if not r.ok)
    return time.perf_counter() - started, failures


def latency_scenario(mode: str, n: int) -> dict:
    options = {"size": "tiny", "seed": 1, "token": "sandbox", "rate_limit_per_minute": 10**7}
    paths = conversation_paths(Sandbox(**options), n)
    with client_for(options, FaultConfig(latency_seconds=LATENCY), mode) as client:
        elapsed, failures = run(client, paths)
        counters = client.snapshot()
    floor = n * LATENCY / IN_FLIGHT
    return {
        "scenario": "latency",
        "mode": mode,
        "requests": n,
        "in_flight": IN_FLIGHT,
        "latency_s": LATENCY,
        "floor_s": round(floor, 3),
        "elapsed_s": round(elapsed, 3),
        "ratio": round(elapsed / floor, 3),
        "goal_ratio": 1.3,
        "failures": failures,
        "retries": counters["retries"],
        "rate_limited_429": counters["rate_limited_429"],
    }


def capacity_scenario(mode: str, n: int) -> dict:
    """The same GETs with no injected latency: how many the setup serves per second at best."""
    options = {"size": "tiny", "seed": 1, "token": "sandbox", "rate_limit_per_minute": 10**7}
    paths = conversation_paths(Sandbox(**options), n)
    with client_for(options, FaultConfig(), mode) as client:
        elapsed, failures = run(client, paths)
    return {
        "scenario": "capacity",
        "mode": mode,
        "requests": n,
        "in_flight": IN_FLIGHT,
        "elapsed_s": round(elapsed, 3),
        "ms_per_request": round(elapsed / n * 1000, 3),
        "failures": failures,
    }


def budget_scenario(mode: str, n: int) -> dict:
    options = {"size": "tiny", "seed": 1, "token": "sandbox"}
    options["rate_limit_per_minute"] = PER_MINUTE_BUDGET
    paths = conversation_paths(Sandbox(**options), n)
    per_window = math.ceil(PER_MINUTE_BUDGET / 6)
    with client_for(options, FaultConfig(), mode) as client:
        time.sleep(WINDOW - time.time() % WINDOW + 0.05)  # start at a window boundary
        elapsed, failures = run(client, paths)
        counters = client.snapshot()
    floor = (math.ceil(n / per_window) - 1) * WINDOW
    return {
        "scenario": "budget",
        "mode": mode,
        "requests": n,
        "in_flight": IN_FLIGHT,
        "budget_per_window": per_window,
        "floor_s": floor,
        "elapsed_s": round(elapsed, 3),
        "ratio": round(elapsed / floor, 3),
        "goal_ratio": 1.2,
        "failures": failures,
        "retries": counters["retries"],
        "rate_limited_429": counters["rate_limited_429"],
        "rate_limit_wait_s": counters["rate_limit_wait_seconds"],
    }


def versions() -> dict:
    out = {"python": platform.python_version(), "httpx": httpx.__version__}
    for name in ("polars", "duckdb", "psycopg", "orjson", "uvicorn", "starlette"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    try:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", connect_timeout=3) as c:
            out["postgresql"] = c.execute("show server_version").fetchone()[0]
    except Exception:  # the bench does not need PostgreSQL; record that it was absent
        out["postgresql"] = None
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs while iterating")
    args = parser.parse_args()
    n_latency, n_budget = (400, 200) if args.quick else (2000, 300)
    rows = []
    for mode in ("loopback", "in-process"):
        rows.append(latency_scenario(mode, n_latency))
        rows.append(budget_scenario(mode, n_budget))
    rows.append(latency_scenario("loopback-shared", n_latency))
    capacity = [capacity_scenario(mode, n_latency // 2) for mode in ("loopback", "in-process")]
    print(
        f"{'scenario':<9} {'mode':<15} {'requests':>8} {'floor s':>8} {'elapsed s':>9} "
        f"{'ratio':>6} {'goal':>5} {'429s':>5} {'fail':>5}"
    )
    for r in rows:
        print(
            f"{r['scenario']:<9} {r['mode']:<15} {r['requests']:>8} {r['floor_s']:>8} "
            f"{r['elapsed_s']:>9} {r['ratio']:>6} {r['goal_ratio']:>5} "
            f"{r['rate_limited_429']:>5} {r['failures']:>5}"
        )
    for c in capacity:
        print(
            f"capacity  {c['mode']:<15} {c['requests']:>8} requests with no latency: "
            f"{c['ms_per_request']} ms per request"
        )
    load = os.getloadavg()
    print(f"load average (1 min) after the run: {load[0]:.2f} on {os.cpu_count()} CPUs")
    result = {
        "benchmark": "fanout",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "versions": versions(),
        "results": rows,
        "capacity": capacity,
        "load_average_after": [round(x, 2) for x in load],
        "goals_met": all(
            r["ratio"] <= r["goal_ratio"] and r["failures"] == 0
            for r in rows
            if r["mode"] != "loopback-shared"
        ),
    }
    if not args.quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
