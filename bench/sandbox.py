"""Sandbox speed in-process: generation, cheap GETs/s, search pages of 150 contacts/s.

Run: `.venv/bin/python bench/sandbox.py [--quick]` (quick: demo size only, short runs).
Target: at least 300 search pages of 150 contacts per second on the demo size.
"""

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path

import httpx
import orjson

from intercom_assets.sandbox import Sandbox

AUTH = {"authorization": "Bearer sandbox"}
RESULTS = Path(__file__).parent / "results" / "sandbox.json"
SEARCH = {
    "query": {"field": "created_at", "operator": ">", "value": 0},
    "pagination": {"per_page": 150},
    "sort": {"field": "updated_at", "order": "ascending"},
}


def rate(fn, seconds: float) -> tuple[float, int]:
    """Units per second of `fn` (it returns how many units it did) over about `seconds`."""
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        done += fn()
    return done / elapsed, done


def bench_size(size: str, seconds: float) -> dict:
    started = time.perf_counter()
    sb = Sandbox(size=size, seed=1, rate_limit_per_minute=10**9)
    generate_s = time.perf_counter() - started
    ids = [c for c in sb.store.sorted_ids("contacts")]
    client = httpx.Client(
        transport=sb.transport(),
        base_url=sb.base_url,
        headers={"Authorization": "Bearer sandbox", "Intercom-Version": "2.14"},
    )
    position = [0]

    def get_contact() -> int:
        contact_id = ids[position[0] % len(ids)]
        position[0] += 1
        assert client.get(f"/contacts/{contact_id}").status_code == 200
        return 1

    def get_me() -> int:
        assert client.get("/me").status_code == 200
        return 1

    cursor: list[str | None] = [None]
    contacts = [0]

    def body_for_cursor() -> bytes:
        body = {**SEARCH, "pagination": {"per_page": 150}}
        if cursor[0]:
            body["pagination"]["starting_after"] = cursor[0]
        return orjson.dumps(body)

    def take_cursor(content: bytes) -> None:
        # The sandbox writes `pages` last; read it without parsing the 150 contacts.
        pages = orjson.loads(content[content.rindex(b'"pages":') + 8 : -1])
        cursor[0] = pages["next"]["starting_after"] if "next" in pages else None

    def search_page() -> int:
        response = client.post("/contacts/search", content=body_for_cursor())
        take_cursor(response.content)
        return 1

    def search_page_parsed() -> int:
        response = client.post("/contacts/search", content=body_for_cursor())
        page = orjson.loads(response.content)
        contacts[0] += len(page["data"])
        nxt = page["pages"].get("next")
        cursor[0] = nxt["starting_after"] if nxt else None
        return 1

    def core_search_page() -> int:
        reply = sb.core.handle("POST", "/contacts/search", "", AUTH, body_for_cursor(), sb.base_url)
        take_cursor(reply.body)
        return 1

    def core_get_contact() -> int:
        contact_id = ids[position[0] % len(ids)]
        position[0] += 1
        reply = sb.core.handle("GET", f"/contacts/{contact_id}", "", AUTH, b"", sb.base_url)
        assert reply.status == 200
        return 1

    search_page()  # warm the search plan and match caches
    cursor[0] = None
    gets, _ = rate(get_contact, seconds)
    core_gets, _ = rate(core_get_contact, seconds)
    me, _ = rate(get_me, seconds)
    pages, _ = rate(search_page, seconds)
    cursor[0] = None
    parsed, n_parsed = rate(search_page_parsed, seconds)
    avg = contacts[0] / max(n_parsed, 1)
    cursor[0] = None
    core_pages, _ = rate(core_search_page, seconds)
    started = time.perf_counter()
    sb.advance(days=1)
    advance_s = time.perf_counter() - started
    cursor[0] = None
    started = time.perf_counter()
    search_page()
    first_page_after_change_s = time.perf_counter() - started
    started = time.perf_counter()
    sb.truth()
    truth_s = time.perf_counter() - started
    return {
        "size": size,
        "contacts": len(ids),
        "companies": len(sb.store.companies),
        "conversations": len(sb.store.conversations),
        "generate_seconds": round(generate_s, 2),
        "get_contact_per_second": round(gets),
        "get_me_per_second": round(me),
        "get_contact_per_second_core_only": round(core_gets),
        "search_pages_per_second": round(pages),
        "search_pages_per_second_client_parsed": round(parsed),
        "search_contacts_per_page": round(avg, 1),
        "search_pages_per_second_core_only": round(core_pages),
        "search_first_page_after_a_change_seconds": round(first_page_after_change_s, 3),
        "advance_one_day_seconds": round(advance_s, 2),
        "truth_seconds": round(truth_s, 2),
    }


def versions() -> dict:
    out: dict = {"python": platform.python_version()}
    for name in ("polars", "duckdb", "psycopg", "httpx", "orjson", "starlette", "uvicorn"):
        try:
            out[name] = __import__(name).__version__
        except Exception:
            out[name] = None
    url = os.environ.get(
        "INTERCOM_ASSETS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3) as conn:
            out["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
    except Exception:
        out["postgresql"] = None
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="demo size only, 1-second runs")
    args = parser.parse_args()
    sizes = ["demo"] if args.quick else ["demo", "bench"]
    seconds = 1.0 if args.quick else 3.0
    rows = [bench_size(size, seconds) for size in sizes]
    columns = [
        ("size", "size"),
        ("contacts", "contacts"),
        ("gen s", "generate_seconds"),
        ("GET/s", "get_contact_per_second"),
        ("GET/s core", "get_contact_per_second_core_only"),
        ("search pg/s", "search_pages_per_second"),
        ("parsed pg/s", "search_pages_per_second_client_parsed"),
        ("core pg/s", "search_pages_per_second_core_only"),
        ("advance 1d s", "advance_one_day_seconds"),
    ]
    print("  ".join(f"{title:>12}" for title, _ in columns))
    for r in rows:
        print("  ".join(f"{r[key]!s:>12}" for _, key in columns))
    demo = next(r for r in rows if r["size"] == "demo")
    target_met = demo["search_pages_per_second"] >= 300
    print(f"target: >= 300 search pages/s on demo: {'met' if target_met else 'NOT met'}")
    result = {
        "benchmark": "sandbox",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "seconds_per_measure": seconds,
        "target": {"search_pages_per_second_demo": 300, "met": target_met},
        "results": rows,
        "versions": versions(),
        "machine": {"cpus": os.cpu_count(), "platform": sys.platform},
    }
    if args.quick:
        print("--quick: results not recorded")
        return
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
