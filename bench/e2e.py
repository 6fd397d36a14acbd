"""End-to-end benchmark: every stream asset against a served sandbox, into PostgreSQL.

Measures, for the `bench` workspace (100,000 contacts; `--quick`: the `demo` size):

- initial: the whole history as one single-run partition range (all ten assets, one
  Dagster run), then daily: the sandbox moves one day and the last two partitions run
  again. Per phase: API calls, rows written, live rows, seconds and peak RSS of this
  process (the sandbox runs in its own process, so its memory is not counted).
- throughput (measured first, a CHECKPOINT before each timed run): the pipeline's own speed
  from pages to committed rows. The contact pages
  (`GET /contacts`, 150 a page) are fetched once and kept in memory as response bytes;
  then what a contacts run does with a page is timed: the client's page decoder (raw
  records), `Shape.frames` (typed frames), and `Warehouse.submit` (hash, diff, write to
  PostgreSQL while the next batch is shaped), in stream-sized batches: once into empty
  tables (all rows new) and once more (all rows unchanged), plus decoding and shaping alone.
  Goal: at least 25,000 records/s.

    .venv/bin/python bench/e2e.py [--quick]
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import httpx
import orjson
import polars as pl
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intercom_assets.api.pages import page_decoder
from intercom_assets.assets import build_assets
from intercom_assets.partitions import daily_partitions
from intercom_assets.resources import IntercomResource, WarehouseResource
from intercom_assets.runs import OUTCOMES
from intercom_assets.settings import PartitionSettings
from intercom_assets.streams import DEFAULT_BATCH_SIZE, STREAMS, contacts
from intercom_assets.warehouse import connect

PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SCHEMA = f"bench_e2e_{os.getpid()}"
TOKEN = "sandbox"
TIMEZONE = "UTC"
FIRST = "2025-12-31"
GOAL_RECORDS_PER_S = 25_000
RESULTS = Path(__file__).resolve().parent / "results" / "e2e.json"


@contextmanager
def served_sandbox(size: str) -> Iterator[str]:
    """`intercom-assets sandbox` in a child process; yields its base URL."""
    command = [str(Path(sys.executable).with_name("intercom-assets")), "sandbox"]
    command += ["--size", size, "--port", "0", "--timezone", TIMEZONE]
    command += ["--rate-limit", "10000000"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError(f"the sandbox did not start (exit code {child.poll()})")
        yield url
    finally:
        child.terminate()
        child.wait(timeout=30)


class PeakRss:
    """Samples this process's resident memory every 20 ms; `peak_mb` since the last reset."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        while not self._stop.wait(0.02):
            with open("/proc/self/statm") as f:
                self.peak = max(self.peak, int(f.read().split()[1]) * page)

    def reset(self) -> None:
        self.peak = 0

    @property
    def peak_mb(self) -> float:
        return round(self.peak / 2**20, 1)


def materialize_phase(
    url: str, first: str, last: str, rss: PeakRss, sandbox: httpx.Client
) -> dict[str, Any]:
    """One Dagster run over `first...last`: calls, rows, seconds, peak RSS."""
    resources = {
        "intercom": IntercomResource(access_token=TOKEN, base_url=url),
        "warehouse": WarehouseResource(url=PG_URL, schema_name=SCHEMA),
    }
    assets = build_assets(daily_partitions(PartitionSettings(FIRST, TIMEZONE)))
    sandbox.post("/_sandbox/requests/reset")
    rss.reset()
    started = time.perf_counter()
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            assets,
            resources=resources,
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": first,
                "dagster/asset_partition_range_end": last,
            },
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
    seconds = time.perf_counter() - started
    assert result.success
    streams: dict[str, Any] = {}
    for stream in STREAMS:
        event = result.asset_materializations_for_node(f"intercom__{stream.name}")[0]
        meta = {k: v.value for k, v in event.metadata.items()}
        streams[stream.name] = {
            "fetched": meta["fetched"],
            **{o: meta[o] for o in OUTCOMES},
            "api_calls": meta["api_calls"],
            "seconds": meta["seconds"],
            "live_rows": meta["dagster/row_count"],
        }
    calls = sum(sandbox.get("/_sandbox/requests").json().values())
    written = sum(s[o] for s in streams.values() for o in OUTCOMES if o != "unchanged")
    return {
        "partitions": f"{first}...{last}",
        "seconds": round(seconds, 2),
        "api_calls": calls,
        "records_fetched": sum(s["fetched"] for s in streams.values()),
        "rows_written": written,
        "peak_rss_mb": rss.peak_mb,
        "streams": streams,
    }


def throughput(url: str, rss: PeakRss) -> dict[str, Any]:
    """Pages to committed rows for contacts, pages served from memory."""
    pages: list[bytes] = []
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
    ) as http:
        params: dict[str, Any] = {"per_page": 150}
        while True:
            body = http.get("/contacts", params=params).raise_for_status().content
            pages.append(body)
            after = (orjson.loads(body).get("pages") or {}).get("next")
            if not after:
                break
            params["starting_after"] = after["starting_after"]
    schema = f"{SCHEMA}_tp"
    results: dict[str, Any] = {"pages": len(pages), "page_bytes": sum(map(len, pages))}
    decode = page_decoder("data")
    rss.reset()
    started = time.perf_counter()
    records = 0
    for raws in raw_batches(pages, decode):
        contacts.SHAPE.frames(raws)
        records += len(raws)
    seconds = time.perf_counter() - started
    results["decode_and_shape_only"] = {
        "records": records,
        "seconds": round(seconds, 3),
        "records_per_s": round(records / seconds),
        "peak_rss_mb": rss.peak_mb,
    }
    try:
        with connect(PG_URL, schema=schema) as wh:
            wh.migrate(contacts.SHAPE.specs())
            for label in ("all_new", "all_unchanged"):
                checkpoint()
                rss.reset()
                written = [0]

                def count(result: Any, written: list[int] = written) -> None:
                    written[0] += sum(c.written for c in result.tables.values())

                started = time.perf_counter()
                records = 0
                for raws in raw_batches(pages, decode):
                    frames, parents = contacts.SHAPE.frames(raws)
                    wh.submit(frames, parents=parents, on_written=count)
                    records += len(raws)
                wh.wait()
                seconds = time.perf_counter() - started
                results[label] = {
                    "records": records,
                    "rows_written": written[0],
                    "seconds": round(seconds, 3),
                    "records_per_s": round(records / seconds),
                    "peak_rss_mb": rss.peak_mb,
                }
    finally:
        drop_schema(schema)
    results["goal_records_per_s"] = GOAL_RECORDS_PER_S
    results["goal_met"] = results["all_new"]["records_per_s"] >= GOAL_RECORDS_PER_S
    return results


def raw_batches(pages: list[bytes], decode: Any) -> Iterator[list[bytes]]:
    """The pages' raw records (the API client's page decoder) in stream-sized batches."""
    batch: list[bytes] = []
    for body in pages:
        batch.extend(decode(body).raw_items)
        if len(batch) >= DEFAULT_BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def checkpoint() -> None:
    """Write out dirty pages now, so a timed run does not pay for an earlier one's."""
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def drop_schema(schema: str) -> None:
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def versions() -> dict[str, str]:
    with psycopg.connect(PG_URL) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return {
        "python": platform.python_version(),
        "dagster": dg.__version__,
        "polars": pl.__version__,
        "duckdb": duckdb.__version__,
        "psycopg": psycopg.__version__,
        "postgresql": str(row[0]) if row else "?",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the demo size instead of bench")
    parser.add_argument(
        "--throughput-only", action="store_true", help="measure the throughput only (not recorded)"
    )
    args = parser.parse_args()
    size = "demo" if args.quick else "bench"
    rss = PeakRss()
    load_before = os.getloadavg()
    record: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "size": size,
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "versions": versions(),
        "sandbox": "served by `intercom-assets sandbox` in a child process on a loopback port",
    }
    print(f"sandbox size {size!r}: starting (generation takes a while for bench)...", flush=True)
    try:
        with served_sandbox(size) as url, httpx.Client(base_url=url, timeout=600) as sandbox:
            # first, while the database has no other writes to checkpoint
            record["throughput"] = throughput(url, rss)
            print_throughput(record["throughput"])
            if not args.throughput_only:
                record["initial"] = materialize_phase(url, FIRST, "2026-01-01", rss, sandbox)
                print_phase("initial", record["initial"])
                changes = sandbox.post("/_sandbox/advance", json={"days": 1}).json()
                ids = changes.get("ids", {})
                record["day_changes"] = {k: len(v) for k, v in ids.items() if v}
                record["daily"] = materialize_phase(url, "2026-01-01", "2026-01-02", rss, sandbox)
                print_phase("daily", record["daily"])
    finally:
        drop_schema(SCHEMA)
    record["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    if not args.quick and not args.throughput_only:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(record, indent=2) + "\n")
        print(f"written {RESULTS}")


def print_throughput(tp: dict[str, Any]) -> None:
    for label in ("decode_and_shape_only", "all_new", "all_unchanged"):
        t = tp[label]
        print(
            f"throughput {label:22} {t['records']:>8} records  {t['seconds']:>7.2f} s"
            f"  {t['records_per_s']:>7} records/s  peak {t['peak_rss_mb']} MB"
        )
    met = "met" if tp["goal_met"] else "MISSED"
    print(f"goal >= {GOAL_RECORDS_PER_S} records/s (all new): {met}", flush=True)


def print_phase(name: str, phase: dict[str, Any]) -> None:
    print(
        f"{name:8} {phase['partitions']:24} {phase['api_calls']:>7} calls"
        f"  {phase['records_fetched']:>8} records  {phase['rows_written']:>8} rows written"
        f"  {phase['seconds']:>8.1f} s  peak {phase['peak_rss_mb']} MB",
        flush=True,
    )


if __name__ == "__main__":
    main()
