"""What the companies scroll costs under faults, against a clean run.

Each workspace is scrolled by `CompanyScroll` over the sandbox's in-process transport: once
clean, then under connection resets (`reset_rate` 0.05) and under server errors
(`error_rate` 0.1: 500, 502, 503, 504), each with three fault seeds. Every run must yield
exactly the truth's companies, each once. Recorded per run: scroll requests (the API calls
it cost), retries, restarts (new passes), pages skipped by a restarted pass, seconds.

Workspaces: demo (150 companies, 4 a page: 38 pages and the empty one), bench (5,000
companies, 50 a page: 100 pages) and bench at 4 a page (1,250 pages). `clean_pass_chance` is
the chance that a walk of that many requests sees no fault at all, which is what a scroll
that starts over from the beginning after any failure needs.

Run: .venv/bin/python bench/scroll_faults.py [--quick]   (--quick: demo only, nothing written)
"""

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intercom_assets.api import CompanyScroll, IntercomClient, RateLimiter, RetryPolicy
from intercom_assets.sandbox import FaultConfig, Sandbox

RESULTS = Path(__file__).parent / "results" / "scroll_faults.json"
ROUTE = "GET /companies/scroll"
RETRY = RetryPolicy(max_attempts=8, max_total_seconds=120, base_delay=0.01, max_delay=0.2)
SEEDS = (1, 2, 3)
FAULTS = {
    "clean": lambda seed: FaultConfig(seed=seed),
    "reset 0.05": lambda seed: FaultConfig(seed=seed, reset_rate=0.05),
    "error 0.1": lambda seed: FaultConfig(seed=seed, error_rate=0.1),
}
FAULT_RATE = {"clean": 0.0, "reset 0.05": 0.05, "error 0.1": 0.1}


def scroll_once(sb: Sandbox, truth: list[dict], faults: FaultConfig, lock_dir: Path) -> dict:
    """One complete walk under `faults`; checks it against the truth."""
    sb.set_faults(faults)
    with IntercomClient(
        sb.token, base_url=sb.base_url, transport=sb.transport(), retry=RETRY, limiter=RateLimiter()
    ) as client:
        scroll = CompanyScroll(client, lock_dir=lock_dir, restart_delay=0.05)
        started = time.perf_counter()
        companies = [c for page in scroll for c in page.items]
        seconds = time.perf_counter() - started
        counters = client.snapshot()
    sb.set_faults(FaultConfig())
    ids = [c["id"] for c in companies]
    if len(ids) != len(set(ids)) or sorted(companies, key=lambda c: c["id"]) != truth:
        raise AssertionError(f"the scroll under {faults} did not yield exactly the truth")
    return {
        "requests": counters["requests_by_route"][ROUTE],
        "retries": counters["retries"],
        "restarts": scroll.restarts,
        "pages_skipped": scroll.pages_skipped,
        "seconds": round(seconds, 3),
    }


def workspace_rows(name: str, sb: Sandbox, truth: list[dict], page_size: int, seeds) -> list:
    rows = []
    lock_dir = Path(tempfile.mkdtemp(prefix="scroll-faults-"))
    clean_requests = -(-len(truth) // page_size) + 1
    for label, make in FAULTS.items():
        runs = [scroll_once(sb, truth, make(seed), lock_dir) for seed in seeds]
        requests = [r["requests"] for r in runs]
        rows.append(
            {
                "workspace": name,
                "companies": len(truth),
                "page_size": page_size,
                "faults": label,
                "seeds": list(seeds),
                "clean_requests": clean_requests,
                "requests": requests,
                "requests_vs_clean": round(statistics.mean(requests) / clean_requests, 3),
                "retries": [r["retries"] for r in runs],
                "restarts": [r["restarts"] for r in runs],
                "pages_skipped": [r["pages_skipped"] for r in runs],
                "seconds": [r["seconds"] for r in runs],
                "clean_pass_chance": float(f"{(1 - FAULT_RATE[label]) ** clean_requests:.3g}"),
            }
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="demo only, one seed, not recorded")
    args = parser.parse_args()
    seeds = SEEDS[:1] if args.quick else SEEDS
    rows = []
    demo = Sandbox(size="demo", seed=1, scroll_page_size=4)
    rows += workspace_rows("demo", demo, demo.truth()["companies"], 4, seeds)
    if not args.quick:
        bench = Sandbox(size="bench", seed=1)  # 50 a page, the sandbox's default
        truth = bench.truth()["companies"]
        rows += workspace_rows("bench", bench, truth, 50, seeds)
        del bench  # one bench workspace in memory at a time
        small_pages = Sandbox(size="bench", seed=1, scroll_page_size=4)  # same workspace
        rows += workspace_rows("bench", small_pages, truth, 4, seeds)
    print(
        f"{'workspace':<9} {'companies':>9} {'page':>4} {'faults':<11} {'clean':>6} "
        f"{'requests (per seed)':<22} {'x clean':>7} {'restarts':<9} {'clean pass':>10}"
    )
    for r in rows:
        print(
            f"{r['workspace']:<9} {r['companies']:>9} {r['page_size']:>4} {r['faults']:<11} "
            f"{r['clean_requests']:>6} {r['requests']!s:<22} {r['requests_vs_clean']:>7} "
            f"{r['restarts']!s:<9} {r['clean_pass_chance']:>10}"
        )
    load = os.getloadavg()
    print(f"load average (1 min) after the run: {load[0]:.2f} on {os.cpu_count()} CPUs")
    result = {
        "benchmark": "scroll_faults",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "python": platform.python_version(),
        "retry": {"max_attempts": RETRY.max_attempts, "base_delay": RETRY.base_delay},
        "results": rows,
        "load_average_after": [round(x, 2) for x in load],
    }
    if args.quick:
        print("--quick: results not recorded")
    else:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
