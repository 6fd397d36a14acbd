"""One Dagster asset per stream: runs the stream for the partition window, reports counts.

`build_assets(partitions)` turns every stream in `STREAMS` into an asset `intercom/<name>`
(group `intercom`, deps from the stream, single-run backfills, pool `intercom_api`). A run
covers one day or a whole range: the body reads `context.partition_time_window`, never a
single partition key. The first partition also covers everything before it (see
`intercom_assets.partitions`). Run config `full: true` selects the stream's full mode.

Failures: every stream asset carries `STREAM_RETRY_POLICY`, so a transient failure (the
database or Intercom unreachable, 5xx or 429 after the client's own retries, a locked DuckDB
file) is retried by Dagster with exponential backoff. A permanent one (Intercom refuses the
token or the plan, a request Intercom calls invalid, bad configuration, a partition range
outside the partitions or reversed, a stored column of another type, a batch that does not
fit its table) is raised as `dg.Failure(allow_retries=False)` with a short message: retrying
cannot help. A transient one a person may have to fix (the database or Intercom unreachable)
is retried as a `dg.Failure` carrying the short message of `intercom_assets.problems`.
"""

import logging
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import dagster as dg

from intercom_assets.api import (
    IntercomAuthError,
    IntercomBadRequest,
    IntercomPlanError,
    IntercomScrollExists,
    IntercomWindowFieldError,
)
from intercom_assets.partitions import stream_window
from intercom_assets.problems import Refusal, explain
from intercom_assets.ranges import check_range
from intercom_assets.resources import IntercomResource, WarehouseResource
from intercom_assets.settings import EVENTS_RECHECK_DAYS, TOKEN_ENV, SettingError
from intercom_assets.streams import STREAMS, Stream, StreamContext, StreamReport, Window
from intercom_assets.streams.searched import WIDENED_KEY
from intercom_assets.streams.shape import ShapeError
from intercom_assets.warehouse import SchemaMismatchError, TableSpec, WarehouseInputError
from intercom_assets.warehouse.spec import DELETED_AT, HASH, RAW, SYNCED_AT, type_key

POOL = "intercom_api"
GROUP = "intercom"
OUTCOMES = ("inserted", "updated", "unchanged", "deleted", "revived")

progress_log = logging.getLogger("intercom_assets.progress")
"""Start, progress and finish lines per asset (the demo prints them)."""

STREAM_RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
"""Transient failures: retried after about 30 s, 60 s and 120 s (each +-jitter), so a database
restart or a network blip of a few minutes heals without a person. Writes are idempotent (a
batch is committed with its progress in one transaction), so a retry redoes at most one batch.
"""

PERMANENT_ERRORS: tuple[tuple[type[Exception], str], ...] = (
    (IntercomAuthError, f"Intercom refused the access token ({TOKEN_ENV})"),
    (IntercomPlanError, "the workspace's Intercom plan does not include this API"),
    (IntercomBadRequest, "Intercom rejected a request as invalid"),
    (IntercomWindowFieldError, "Intercom returned a record that no window can place"),
    (ShapeError, "Intercom returned a record that does not fit its declared columns"),
    (SettingError, "bad configuration"),
    (Refusal, "refused"),
    (SchemaMismatchError, "a stored column does not match its table spec"),
    (WarehouseInputError, "a batch does not fit its table"),
)
"""Errors that a retry cannot heal, with the words that start their failure message."""


class StreamRunConfig(dg.Config):
    """Run config of a stream asset."""

    full: bool = False
    """Full mode: sweep the whole resource (deletes, merges, membership drift)."""


def asset_key(stream_name: str) -> dg.AssetKey:
    """The asset key of a stream: `intercom/<name>`."""
    return dg.AssetKey([GROUP, stream_name])


def build_assets(
    partitions: dg.DailyPartitionsDefinition,
    streams: Sequence[Stream] = STREAMS,
    *,
    retry_policy: dg.RetryPolicy = STREAM_RETRY_POLICY,
) -> list[dg.AssetsDefinition]:
    """One asset per stream, sharing the daily partitions and the retry policy."""
    return [build_asset(stream, partitions, retry_policy=retry_policy) for stream in streams]


def build_asset(
    stream: Stream,
    partitions: dg.DailyPartitionsDefinition,
    *,
    retry_policy: dg.RetryPolicy = STREAM_RETRY_POLICY,
) -> dg.AssetsDefinition:
    """The asset that keeps `stream`'s tables up to date for its partition window."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)  # `backfill_policy` is beta in 1.13
        return dg.asset(
            key=asset_key(stream.name),
            group_name=GROUP,
            deps=[asset_key(d) for d in stream.deps],
            partitions_def=partitions,
            backfill_policy=dg.BackfillPolicy.single_run(),
            pool=POOL,
            retry_policy=retry_policy,
            kinds={"intercom", "polars"},
            description=stream.description,
            metadata={"dagster/column_schema": column_schema(stream.tables[0])},
        )(_body(stream, partitions))


def _body(stream: Stream, partitions: dg.DailyPartitionsDefinition) -> Any:
    """The asset function for `stream` (its name becomes the op name)."""

    def _asset(
        context: dg.AssetExecutionContext,
        config: StreamRunConfig,
        intercom: IntercomResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult[Any]:
        try:
            keys = context.partition_key_range
            check_range(partitions, keys.start, keys.end)
            span = context.partition_time_window
            window = stream_window(partitions, span.start, span.end)
            report, calls, seconds, live = run_stream(
                stream, window, intercom, warehouse, full=config.full, log=context.log
            )
            zone = intercom.workspace().timezone
        except Exception as exc:
            policy = context.op_def.retry_policy
            last_try = context.retry_number >= (policy.max_retries if policy else 0)
            failure = permanent_failure(exc) or transient_failure(exc, last_try=last_try)
            if failure is None:
                raise  # transient: the retry policy runs the step again after a backoff
            raise failure from exc
        if zone and zone != partitions.timezone:
            context.log.warning(
                "the workspace's time zone is %s but partition days start in %s"
                " (set INTERCOM_ASSETS_TIMEZONE=%s)",
                zone,
                partitions.timezone,
                zone,
            )
        return dg.MaterializeResult(metadata=run_metadata(report, calls, window, seconds, live))

    return _asset


def permanent_failure(exc: BaseException) -> dg.Failure | None:
    """A `dg.Failure` that is not retried for an error a retry cannot heal, else None.

    `IntercomScrollExists` (another companies scroll is open) is a 400 that passes: it is
    transient. Everything else not listed in `PERMANENT_ERRORS` is treated as transient.
    """
    if isinstance(exc, IntercomScrollExists):
        return None
    for kind, what in PERMANENT_ERRORS:
        if isinstance(exc, kind):
            return dg.Failure(
                description=f"{what}; not retried: {exc}",
                metadata={"error": type(exc).__name__, "retried": False},
                allow_retries=False,
            )
    return None


def transient_failure(exc: BaseException, *, last_try: bool = False) -> dg.Failure | None:
    """A `dg.Failure` whose description is the short message for an error a person may have
    to fix (an unreachable database or Intercom), else None; the traceback stays in the
    step's log. It is retried unless this was the `last_try` (then the step's failure shows
    the message rather than "Exceeded max_retries")."""
    message = explain(exc)
    if message is None:
        return None
    return dg.Failure(
        description=message,
        metadata={"error": type(exc).__name__, "retried": not last_try},
        allow_retries=not last_try,
    )


def run_stream(
    stream: Stream,
    window: Window,
    intercom: IntercomResource,
    warehouse: WarehouseResource,
    *,
    full: bool = False,
    log: logging.Logger | None = None,
) -> tuple[StreamReport, dict[str, Any], float, int]:
    """Run `stream` for `window`: (report, client counters, seconds, live rows after)."""
    started = time.monotonic()
    progress_log.info("%s: started (window %s)", stream.name, describe(window))
    client = intercom.client()
    before = client.snapshot()
    with warehouse.connect() as wh:
        wh.migrate(stream.tables)  # the run's one migration; the stream's own is a no-op
        ctx = StreamContext(
            client=client,
            warehouse=wh,
            window=window,
            workspace=intercom.workspace(),
            full=full,
            max_in_flight=intercom.max_in_flight,
            events_recheck_days=EVENTS_RECHECK_DAYS.check(str(intercom.events_recheck_days)),
            allow_empty_listings=intercom.allow_empty_listings,
            progress=_report_progress,
        )
        if log is not None:
            ctx.log = log
        report = stream.run(ctx)
        live = wh.count_live(stream.tables[0].name)
    calls = counter_delta(before, client.snapshot())
    seconds = time.monotonic() - started
    progress_log.info(
        "%s: finished: %d records, %d written, %d API calls, %.1f s",
        stream.name,
        report.fetched,
        written(report),
        calls["requests"],
        seconds,
    )
    return report, calls, seconds, live


def run_metadata(
    report: StreamReport, calls: dict[str, Any], window: Window, seconds: float, live: int
) -> dict[str, Any]:
    """The materialization's metadata: counts, API use, window, duration, live rows.

    A window the stream widened to the beginning (its history was not loaded yet) shows
    `window_start: beginning` and the requested start as `window_widened_from`.
    """
    widened = WIDENED_KEY in report.extra
    metadata: dict[str, Any] = {
        "fetched": report.fetched,
        **{outcome: report.total(outcome) for outcome in OUTCOMES},
        "api_calls": calls["requests"],
        "pages": report.pages,
        "retries": calls["retries"],
        "rate_limit_wait_seconds": round(calls["rate_limit_wait_seconds"], 3),
        "window_start": window.start.isoformat() if window.start and not widened else "beginning",
        "window_end": window.end.isoformat(),
        "seconds": round(seconds, 3),
        "dagster/row_count": live,
        "tables": dg.MetadataValue.json(
            {name: asdict(counts) for name, counts in report.tables.items()}
        ),
        "requests_by_route": dg.MetadataValue.json(calls["requests_by_route"]),
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


def written(report: StreamReport) -> int:
    """Rows written: inserted, updated, revived and soft-deleted over every table."""
    return sum(report.total(o) for o in ("inserted", "updated", "revived", "deleted"))


def describe(window: Window) -> str:
    start = window.start.isoformat() if window.start else "beginning"
    return f"{start} .. {window.end.isoformat()}"


def column_schema(spec: TableSpec) -> dg.TableSchema:
    """The entity table's columns, primary key and meta columns, for the asset page."""
    columns = [
        dg.TableColumn(
            c.name,
            type_key(c.dtype),
            constraints=dg.TableColumnConstraints(
                nullable=c.nullable and c.name not in spec.primary_key,
                unique=spec.primary_key == (c.name,),
            ),
        )
        for c in spec.columns
    ]
    meta = {RAW: "json", HASH: "int64", SYNCED_AT: "timestamp", DELETED_AT: "timestamp"}
    columns += [dg.TableColumn(name, meta[name]) for name in spec.meta_columns()]
    return dg.TableSchema(columns=columns)


def _report_progress(stream: str, fetched: int) -> None:
    progress_log.debug("%s: %d records fetched", stream, fetched)
