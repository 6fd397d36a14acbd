"""One run of a stream for a window, as a step runs it: the stream's report, the API calls
it made, and the materialization metadata of each of its tables."""

import logging
import time
from dataclasses import dataclass
from typing import Any

import dagster as dg

from intercom_assets.resources import IntercomResource, WarehouseResource
from intercom_assets.streams import Stream, StreamContext, StreamReport, Window
from intercom_assets.streams.searched import WIDENED_KEY
from intercom_assets.warehouse import TableCounts, TableSpec

OUTCOMES = ("inserted", "updated", "unchanged", "deleted", "revived")

progress_log = logging.getLogger("intercom_assets.progress")
"""Start, progress and finish lines per asset (the demo prints them)."""


@dataclass(frozen=True)
class StreamRun:
    """What one run of a stream did: its report, the client's counters, seconds, the window,
    and the rows each table holds afterwards (live rows for an entity table)."""

    report: StreamReport
    calls: dict[str, Any]
    seconds: float
    window: Window
    rows: dict[str, int]


def run_stream(
    stream: Stream,
    window: Window,
    intercom: IntercomResource,
    warehouse: WarehouseResource,
    *,
    full: bool = False,
    log: logging.Logger | None = None,
) -> StreamRun:
    """Run `stream` for `window`.

    The run's calls are the stream's own: the workspace (`GET /me`, asked once per run and
    shared by every step) is resolved before the counters are read, so it is not charged to
    whichever step happens to run first.
    """
    started = time.monotonic()
    progress_log.info("%s: started (window %s)", stream.name, describe(window))
    client = intercom.client()
    with warehouse.connect() as wh:
        wh.migrate(stream.tables)  # the run's one migration; the stream's own is a no-op
        workspace = intercom.workspace()
        before = client.snapshot()
        ctx = StreamContext(
            client=client,
            warehouse=wh,
            window=window,
            workspace=workspace,
            full=full,
            max_in_flight=intercom.max_in_flight,
            events_recheck_days=intercom.events_recheck_days,
            allow_empty_listings=intercom.allow_empty_listings,
            progress=_report_progress,
        )
        if log is not None:
            ctx.log = log
        report = stream.run(ctx)
        rows = {spec.name: wh.count_live(spec.name) for spec in stream.tables}
    calls = counter_delta(before, client.snapshot())
    seconds = time.monotonic() - started
    records = distinct_records(stream, report)
    progress_log.info(
        "%s: finished: %d records%s, %d written, %d API calls, %.1f s",
        stream.name,
        records,
        f" ({report.fetched} read)" if report.fetched != records else "",
        written(report),
        calls["requests"],
        seconds,
    )
    return StreamRun(report, calls, seconds, window, rows)


def table_metadata(stream: Stream, spec: TableSpec, run: StreamRun) -> dict[str, Any]:
    """A table's materialization metadata: its own row count and counts per outcome, the
    window; the entity table also carries the stream's fetch figures (records, API calls,
    pages, retries, duration, and the stream's extras).

    A window the stream widened to the beginning (its history was not loaded yet) shows
    `window_start: beginning` and the requested start as `window_widened_from`.
    """
    report, window = run.report, run.window
    counts = report.tables.get(spec.name, TableCounts())
    widened = WIDENED_KEY in report.extra
    metadata: dict[str, Any] = {
        "dagster/row_count": run.rows.get(spec.name, 0),
        **{outcome: getattr(counts, outcome) for outcome in OUTCOMES},
        "window_start": window.start.isoformat() if window.start and not widened else "beginning",
        "window_end": window.end.isoformat(),
    }
    if spec is not stream.tables[0]:
        return metadata
    metadata |= {
        "fetched": report.fetched,
        "api_calls": run.calls["requests"],
        "pages": report.pages,
        "retries": run.calls["retries"],
        "rate_limit_wait_seconds": round(run.calls["rate_limit_wait_seconds"], 3),
        "seconds": round(run.seconds, 3),
        "requests_by_route": dg.MetadataValue.json(run.calls["requests_by_route"]),
    }
    for key, value in report.extra.items():
        simple = isinstance(value, int | float | str | bool)
        metadata[key] = value if simple else dg.MetadataValue.json(value)
    return metadata


def counter_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What a client's counters grew by between two snapshots."""
    delta: dict[str, Any] = {}
    for key, value in after.items():
        if isinstance(value, dict):
            old = before.get(key, {})
            grown = {k: v - old.get(k, 0) for k, v in value.items()}
            delta[key] = {k: v for k, v in grown.items() if v}
        else:
            delta[key] = value - before.get(key, 0)
    return delta


def distinct_records(stream: Stream, report: StreamReport) -> int:
    """The distinct records the run read: its entity table's inserted + updated + unchanged
    + revived rows (a record read twice, e.g. by the window's search and again by the sweep,
    counts once; `report.fetched` counts every read)."""
    counts = report.tables.get(stream.tables[0].name, TableCounts())
    return counts.inserted + counts.updated + counts.unchanged + counts.revived


def written(report: StreamReport) -> int:
    """Rows written: inserted, updated, revived and soft-deleted over every table."""
    return sum(report.total(o) for o in ("inserted", "updated", "revived", "deleted"))


def describe(window: Window) -> str:
    start = window.start.isoformat() if window.start else "beginning"
    return f"{start} .. {window.end.isoformat()}"


def _report_progress(stream: str, fetched: int) -> None:
    progress_log.debug("%s: %d records fetched", stream, fetched)
