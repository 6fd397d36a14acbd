"""Exactness benchmark: the daily cost of each bounded path, in the issue 10 scenario.

Runs `intercom_assets_tests/dagster/exactness.py`'s scenario headless (the `demo` workspace,
the sandbox's default churn, production's rhythm: a change-sensor run at 16:00, the
daily job's run at 00:30 with contacts and conversations swept) on one backend, with every
check of the test (a difference outside its bound fails the run), and records per day:

- the daily sweeps: contacts (`GET /contacts` pages, sub-lists, 2.16 GETs of vanished
  contacts) and conversations (`POST /conversations/search` over all time), in the daily run;
- intraday contact sweeps (when Intercom's count differs from the stored one): runs and calls;
- the events re-check: contacts due (one call each), next to contacts checked because their
  activity moved;
- the day's calls, the scenario's minimum and their ratio.

    .venv/bin/python bench/exactness.py [--quick] [--database URL] [--api-version 2.16]

`--quick` runs 2 days and only prints: it never overwrites `bench/results/exactness.json`.
`--api-version 2.16` reads with 2.16 (the deleted-conversations feed, company notes, merge
history: merged leads need no GET) and records `bench/results/exactness-2.16.json` (the test
suite runs the same scenario under both versions on both backends).
"""

import argparse
import json
import platform
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intercom_assets.sandbox.sizes import SIZES
from intercom_assets_tests.dagster.exactness import Day, Scenario, Step
from intercom_assets_tests.dagster.test_exactness import SIZE, build_pipeline

RESULTS = Path(__file__).resolve().parent / "results" / "exactness.json"
DAYS = 8
"""Production's events re-check (the resource's default, 7 days), and the day after it: the
silent events of day 1 are due by the last day. The test suite runs the same scenario with a
3-day re-check over 4 days (`test_exactness.RECHECK_DAYS`)."""
SEED = 1
"""A seed under which every kind issue 10 names happens in the eight days."""
QUICK_DAYS = 2


def sweep_calls(step: Step) -> dict[str, int]:
    """Calls of the step's sweeps (the daily run: all of its contact and conversation calls;
    an intraday run: the contact sweep's, when it ran)."""
    calls = step.calls
    sublists = calls.get("GET /contacts/{id}/tags", 0) + calls.get(
        "GET /contacts/{id}/companies", 0
    )
    vanished = calls.get("GET /contacts/{id}", 0)
    if step.name == "daily":
        return {
            "contact_pages": calls.get("GET /contacts", 0),
            "contact_sublists": sublists,
            "vanished_gets": vanished,
            "conversation_pages": calls.get("POST /conversations/search", 0),
        }
    swept = "contacts_swept" in step.extra.get("contacts", {})
    return {
        "contact_pages": calls.get("GET /contacts", 0) - 1 if swept else 0,  # less the probe
        "vanished_gets": vanished,
    }


def day_row(day: Day) -> dict[str, Any]:
    daily = [s for s in day.steps if s.name == "daily"]
    intraday = [s for s in day.steps if s.name != "daily"]
    row: dict[str, Any] = {"day": day.day, "calls": day.calls, "minimum": day.least}
    row["ratio"] = round(day.ratio, 3)
    row["daily_sweeps"] = sweep_calls(daily[0]) if daily else {}
    row["daily_sweep_calls"] = sum(row["daily_sweeps"].values())
    swept = [s for s in intraday if "contacts_swept" in s.extra.get("contacts", {})]
    row["intraday_sweeps"] = len(swept)
    row["intraday_sweep_calls"] = sum(sum(sweep_calls(s).values()) for s in swept)
    events = [s.extra.get("events", {}) for s in day.steps]
    row["events_recheck_calls"] = sum(e.get("contacts_due", 0) for e in events)
    row["events_recheck_minimum"] = day.recheck_least
    row["events_moved_contacts"] = sum(e.get("contacts_moved", 0) for e in events)
    row["events_new_contacts"] = sum(e.get("contacts_new", 0) for e in events)
    row["seconds"] = round(sum(s.seconds + s.compare_seconds for s in day.steps), 1)
    return row


def print_table(rows: list[dict[str, Any]]) -> None:
    head = (
        f"{'day':<11}{'calls':>7}{'min':>6}{'ratio':>7}{'sweep':>7}{'intra':>7}"
        f"{'recheck':>9}{'re.min':>8}{'moved':>7}{'s':>7}"
    )
    print(head)
    for r in rows:
        print(
            f"{r['day']:<11}{r['calls']:>7}{r['minimum']:>6}{r['ratio']:>7.3f}"
            f"{r['daily_sweep_calls']:>7}{r['intraday_sweep_calls']:>7}"
            f"{r['events_recheck_calls']:>9}{r['events_recheck_minimum']:>8}"
            f"{r['events_moved_contacts']:>7}{r['seconds']:>7.1f}"
        )
    print(
        "sweep: the daily run's contact and conversation sweep calls; intra: intraday contact"
        " sweeps' calls; recheck: contacts due for the events re-check (one call each)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_DAYS} days, print only")
    parser.add_argument("--database", help="a postgresql:// URL (default: a DuckDB file)")
    parser.add_argument("--api-version", default="2.14", help="Intercom-Version (2.14, 2.16)")
    args = parser.parse_args()
    days = QUICK_DAYS if args.quick else DAYS
    began = time.perf_counter()
    with ExitStack() as stack:
        if args.database:
            url, schema = args.database, f"bench_exactness_{int(time.time())}"
        else:
            folder = stack.enter_context(tempfile.TemporaryDirectory())
            url, schema = f"duckdb:///{folder}/intercom.duckdb", "intercom"
        p = build_pipeline(
            stack, url, schema, api_version=args.api_version, recheck_days=None, seed=SEED
        )
        recheck_days = p.resources["intercom"].events_recheck_days
        scenario = Scenario(p, days, recheck_days, report=lambda _: None)
        failure = None
        try:
            scenario.run()
        except AssertionError as exc:  # report what was measured, then the failure
            failure = str(exc).splitlines()[0]
        if args.database:
            import psycopg

            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    rows = [day_row(d) for d in scenario.log]
    print_table(rows)
    over = [r["day"] for r in rows if r["ratio"] > 1.1]
    total = time.perf_counter() - began
    print(f"history {scenario.history_seconds:.1f} s, total {total:.1f} s; over 1.1: {over}")
    if failure:
        print(f"scenario failed: {failure}")
    if args.quick:
        return
    size = SIZES[SIZE]
    record = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": {
            "python": platform.python_version(),
            **{name: version(name) for name in ("dagster", "polars", "duckdb", "psycopg")},
        },
        "machine": {"cpus": __import__("os").cpu_count(), "platform": platform.platform()},
        "backend": "postgresql" if args.database else "duckdb",
        "api_version": args.api_version,
        "workspace": {
            "size": SIZE,
            "seed": SEED,
            "contacts": size.contacts,
            "conversations": size.conversations,
            "companies": size.companies,
        },
        "days": days,
        "events_recheck_days": recheck_days,
        "history_seconds": round(scenario.history_seconds, 1),
        "total_seconds": round(total, 1),
        "silent_events": scenario.silent_events,
        "changes": dict(scenario.changes),
        "scenario_failure": failure,
        "per_day": rows,
    }
    results = RESULTS
    if args.api_version != "2.14":
        results = RESULTS.with_name(f"exactness-{args.api_version}.json")
    results.parent.mkdir(exist_ok=True)
    results.write_text(json.dumps(record, indent=2) + "\n")
    print(f"recorded {results}")


if __name__ == "__main__":
    main()
