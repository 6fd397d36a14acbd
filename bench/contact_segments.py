"""Contact segment membership: the two exact-looking paths, measured on the bench workspace.

- search: `GET /segments?type=user`, then `POST /contacts/search` with `segment_id = <id>`
  per segment (150 a page); every membership, whatever moved it.
- per contact: `GET /contacts/{id}/segments` for each contact whose `updated_at` moved in the
  day (the window's contacts).

Both run against the `bench` workspace (100,000 contacts; `--quick`: `demo`) after one day of
the default churn; each path's calls are counted by the sandbox, and each path's result is
compared with the truth (pairs missed or extra). The per-contact path cannot see membership
that moves without `updated_at` (segments created or deleted, time-based rules), so it is
inexact besides its cost.

    .venv/bin/python bench/contact_segments.py [--quick]
"""

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intercom_assets.api import IntercomClient, fan_out
from intercom_assets.sandbox import Sandbox
from intercom_assets.streams.contact_segments import contact_segment_ids, members

RESULTS = Path(__file__).resolve().parent / "results" / "contact_segments.json"
DAY = 86_400


def pairs_of(truth: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c, s) for c, ids in truth["contact_segments"].items() for s in ids}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    size = "demo" if args.quick else "bench"
    started = time.perf_counter()
    sb = Sandbox(size=size, seed=1)
    client = IntercomClient(sb.token, base_url=sb.base_url, transport=sb.transport())
    before = pairs_of(sb.truth())
    day_start = sb.now
    log = sb.advance(days=1)
    truth = sb.truth()
    after = pairs_of(truth)
    generated = time.perf_counter() - started

    sb.reset_request_counts()
    t0 = time.perf_counter()
    segments, _ = contact_segment_ids(client)
    found: set[tuple[str, str]] = set()
    for result in fan_out(segments, lambda s: members(client, s), max_in_flight=4):
        ids, _ = result.unwrap()
        found.update((c, result.item) for c in ids)
    search_seconds = time.perf_counter() - t0
    search_calls = sum(sb.request_counts().values())

    sb.reset_request_counts()
    t0 = time.perf_counter()
    changed = [c["id"] for c in truth["contacts"] if c["updated_at"] >= day_start]
    per_contact = {p for p in before if p[0] in truth["contact_segments"]}

    def segments_of(contact_id: str) -> list[str]:
        return [str(s["id"]) for s in client.get(f"/contacts/{contact_id}/segments")["data"]]

    for result in fan_out(changed, segments_of, max_in_flight=4):
        per_contact = {p for p in per_contact if p[0] != result.item}
        per_contact.update((result.item, s) for s in result.unwrap())
    contact_seconds = time.perf_counter() - t0
    contact_calls = sum(sb.request_counts().values())

    out = {
        "size": size,
        "contacts": len(truth["contacts"]),
        "contact_segments": len(segments),
        "memberships": len(after),
        "churn_day": {k: v for k, v in log.counts.items() if k.startswith(("contacts", "segm"))},
        "generate_seconds": round(generated, 1),
        "search_per_segment": {
            "calls": search_calls,
            "seconds": round(search_seconds, 2),
            "missed": len(after - found),
            "extra": len(found - after),
        },
        "per_changed_contact": {
            "calls": contact_calls,
            "changed_contacts": len(changed),
            "seconds": round(contact_seconds, 2),
            "missed": len(after - per_contact),
            "extra": len(per_contact - after),
        },
    }
    print(json.dumps(out, indent=2))
    if not args.quick:
        RESULTS.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
