"""One Dagster asset per warehouse table; one multi-asset (one step) per stream.

`build_assets(partitions)` turns every stream in `STREAMS` into a multi-asset whose specs are
its tables, `intercom/<table>` (group `intercom`, lineage from the data: `table_deps`), with
the stream's checks as check specs (`intercom_assets.checks`), evaluated at the end of the
same step. Each table's materialization carries its own row count and counts. Single-run
backfills, pool `intercom_api`. Windowed streams are daily-partitioned and a run covers one
day or a whole range: the body reads `context.partition_time_window`, never a single
partition key; the first partition also covers everything before it (see
`intercom_assets.partitions`). The other streams read what Intercom holds now and are
unpartitioned. `full_mode` decides whether a step runs its stream in full mode (a sweep): run
config `full: true`, or any run of the daily job for the searched streams.

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
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from intercom_assets.api import (
    IntercomAuthError,
    IntercomBadRequest,
    IntercomPlanError,
    IntercomScrollExists,
    IntercomWindowFieldError,
)
from intercom_assets.api.errors import request_path
from intercom_assets.checks import TableCheck, evaluate_checks, stream_checks
from intercom_assets.keys import GROUP, asset_key, op_name, referenced_table, table_key
from intercom_assets.partitions import stream_window
from intercom_assets.problems import Refusal, explain, is_privilege_error
from intercom_assets.ranges import check_range
from intercom_assets.resources import IntercomResource, WarehouseResource
from intercom_assets.settings import ACCESS_TOKEN, SettingError
from intercom_assets.streams import (
    STREAMS,
    ParentsNotLoadedError,
    SearchStream,
    Stream,
    StreamContext,
    StreamReport,
    Window,
)
from intercom_assets.streams.searched import WIDENED_KEY
from intercom_assets.streams.shape import ShapeError
from intercom_assets.warehouse import (
    SchemaMismatchError,
    TableCounts,
    TableSpec,
    WarehouseInputError,
)
from intercom_assets.warehouse.spec import DELETED_AT, HASH, RAW, SYNCED_AT, type_key

POOL = "intercom_api"
STREAM_METADATA = "intercom/stream"
"""Definition metadata of every table asset: the stream that writes it."""
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
    (IntercomAuthError, f"Intercom refused the access token ({ACCESS_TOKEN.variable})"),
    (IntercomPlanError, "the workspace's Intercom plan does not include this API"),
    (IntercomBadRequest, "Intercom rejected a request as invalid"),
    (IntercomWindowFieldError, "Intercom returned a record that no window can place"),
    (ShapeError, "Intercom returned a record that does not fit its declared columns"),
    (SettingError, "bad configuration"),
    (Refusal, "refused"),
    (SchemaMismatchError, "a stored column does not match its table spec"),
    (WarehouseInputError, "a batch does not fit its table"),
    (ParentsNotLoadedError, "its parents are not loaded yet"),
)
"""Errors that a retry cannot heal, with the words that start their failure message."""


MODE_TAG = "intercom_assets/mode"
DAILY_MODE = "daily"
"""`MODE_TAG` of every run of the daily job. The job carries it as a job tag, and Dagster puts
a job's tags on each of its runs however the run is launched (the schedule, the UI's launchpad
or "Materialize", `dagster job execute`), while run config is only what the launcher sends.
deploy/dagster.yaml also limits runs with this tag to one at a time."""


class StreamRunConfig(dg.Config):
    """Run config of a stream's step."""

    full: bool = False
    """Full mode: sweep the whole resource (deletes, merges, membership drift)."""


def swept_daily(stream: Stream) -> bool:
    """Whether the daily job sweeps `stream`: the searched streams, whose window runs cannot
    see deletes, merges or changes that do not move `updated_at`."""
    return isinstance(stream, SearchStream)


def full_mode(stream: Stream, config: StreamRunConfig, run_tags: Mapping[str, str]) -> bool:
    """Whether a step runs `stream` in full mode: when its run config asks (`full: true`, any
    stream), and in every run of the daily job (`MODE_TAG` is `DAILY_MODE`) for the streams
    it sweeps. The one place that decides it."""
    return config.full or (run_tags.get(MODE_TAG) == DAILY_MODE and swept_daily(stream))


def build_assets(
    partitions: dg.DailyPartitionsDefinition,
    streams: Sequence[Stream] = STREAMS,
    *,
    retry_policy: dg.RetryPolicy = STREAM_RETRY_POLICY,
) -> list[dg.AssetsDefinition]:
    """One multi-asset per stream (one asset per table), sharing the daily partitions and the
    retry policy."""
    tables = {spec.name: spec for stream in streams for spec in stream.tables}
    partitioned = partitioned_tables(streams)
    return [
        build_asset(
            stream,
            partitions,
            retry_policy=retry_policy,
            tables=tables,
            before=loaded_before(stream, streams),
            kept=kept_without(stream, streams),
            partitioned=partitioned,
        )
        for stream in streams
    ]


def kept_without(stream: Stream, streams: Sequence[Stream]) -> tuple[str, ...]:
    """The names of `streams` left when `stream` is left out, and with it every stream that
    depends on it (directly or through another), in load order."""
    gone = {stream.name}
    for other in streams:  # load order: a stream comes after those it depends on
        if gone.intersection(other.deps):
            gone.add(other.name)
    return tuple(s.name for s in streams if s.name not in gone)


def table_deps(
    stream: Stream,
    spec: TableSpec,
    loaded_before: Mapping[str, TableSpec],
    partitioned: Collection[str] = (),
) -> list[dg.AssetKey]:
    """The tables `spec` is loaded after, as asset keys (its lineage).

    The stream's entity table follows the entity tables of the streams it depends on. Every
    other table of the stream follows the stream's entity table and each entity table one of
    its `<name>_id` columns points to (`contact_tags.tag_id` -> `tags`), among
    `loaded_before`: the tables of this stream and of the streams loaded before it.

    Except: a table of a partitioned stream follows a `partitioned` table of another stream
    only through its entity table (`conversation_contacts` follows `conversations`, which
    follows `contacts`). A Dagster backfill (the UI's "Materialize" over partitions) derives
    each partitioned table's partitions from its partitioned parents, and refuses the whole
    backfill unless every table of a multi-asset comes out identical; a table with a second
    partitioned parent gets them as a union, which Dagster 1.13 compares as different
    (`launchPartitionBackfill`: "Targeted subset must match between every key in a
    non-subsettable multi-asset").
    """
    entity = stream.tables[0]
    if spec is entity:
        return [asset_key(d) for d in stream.deps]
    own = {t.name for t in stream.tables}
    through_entity = set(partitioned) - own if entity.name in partitioned else set()
    deps = [table_key(entity.name)]
    for column in spec.column_names:
        target = loaded_before.get(referenced_table(column) or "")
        if target is None or not target.is_entity or target.name in through_entity:
            continue
        if table_key(target.name) not in deps:
            deps.append(table_key(target.name))
    return deps


def partitioned_tables(streams: Sequence[Stream]) -> frozenset[str]:
    """The tables of the windowed streams: those with daily partitions."""
    return frozenset(t.name for s in streams if s.windowed for t in s.tables)


def loaded_before(stream: Stream, streams: Sequence[Stream]) -> dict[str, TableSpec]:
    """The tables of `stream` and of the streams before it in `streams` (load order: every
    stream comes after the streams it depends on)."""
    index = next(i for i, s in enumerate(streams) if s.name == stream.name)
    return {t.name: t for s in streams[: index + 1] for t in s.tables}


def table_specs(
    stream: Stream,
    before: Mapping[str, TableSpec] | None = None,
    partitioned: Collection[str] | None = None,
) -> list[dg.AssetSpec]:
    """The asset of each of `stream`'s tables: key, lineage, column schema, description.

    `before`: the tables loaded before or with the stream (`loaded_before`); by default the
    stream's own. `partitioned`: the code location's partitioned tables
    (`partitioned_tables`); by default the stream's own if it is windowed.
    """
    known = before if before is not None else {t.name: t for t in stream.tables}
    if partitioned is None:
        partitioned = partitioned_tables([stream])
    entity = stream.tables[0].name
    return [
        dg.AssetSpec(
            key=table_key(spec.name),
            deps=table_deps(stream, spec, known, partitioned),
            description=(
                stream.description
                if spec.name == entity
                else f"Table `{spec.name}`, written with `{entity}` by the {stream.name} stream."
            ),
            group_name=GROUP,
            kinds={"intercom", "polars"},
            metadata={
                "dagster/column_schema": column_schema(spec),
                "dagster/table_name": spec.name,
                STREAM_METADATA: stream.name,
            },
            skippable=False,
        )
        for spec in stream.tables
    ]


def build_asset(
    stream: Stream,
    partitions: dg.DailyPartitionsDefinition,
    *,
    retry_policy: dg.RetryPolicy = STREAM_RETRY_POLICY,
    tables: Mapping[str, TableSpec] | None = None,
    before: Mapping[str, TableSpec] | None = None,
    kept: Sequence[str] = (),
    partitioned: Collection[str] | None = None,
) -> dg.AssetsDefinition:
    """The multi-asset that keeps `stream`'s tables up to date for its partition window: one
    asset per table, and each table's checks, all in one step (`intercom__<stream>`).

    `tables`: every table of the code location (a parent check may read another stream's);
    `before`: the tables loaded before or with this stream (lineage, `loaded_before`);
    `kept`: the code location's streams without this one (`kept_without`), named when the
    token may not read it.
    `partitioned`: the code location's partitioned tables (lineage, `table_deps`).
    """
    known = tables if tables is not None else {t.name: t for t in stream.tables}
    checks = stream_checks(stream, known)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)  # `backfill_policy` is beta in 1.13
        return dg.multi_asset(
            name=op_name(stream.name),
            specs=table_specs(stream, before, partitioned),
            check_specs=[c.spec for c in checks],
            partitions_def=partitions if stream.windowed else None,
            backfill_policy=dg.BackfillPolicy.single_run(),
            pool=POOL,
            retry_policy=retry_policy,
            can_subset=False,
            description=stream.description,
        )(_body(stream, partitions, checks, kept))


def _body(
    stream: Stream,
    partitions: dg.DailyPartitionsDefinition,
    checks: Sequence[TableCheck],
    kept: Sequence[str],
) -> Any:
    """The step function for `stream` (named after the stream's entity asset)."""

    def _step(
        context: dg.AssetExecutionContext,
        config: StreamRunConfig,
        intercom: IntercomResource,
        warehouse: WarehouseResource,
    ) -> Iterator[dg.MaterializeResult[Any] | dg.AssetCheckResult]:
        selected = context.selected_asset_check_keys
        chosen = [c for c in checks if c.key in selected]
        try:
            if stream.windowed:
                keys = context.partition_key_range
                check_range(partitions, keys.start, keys.end)
            window = run_window(context, partitions, stream)
            full = full_mode(stream, config, context.run.tags)
            run = run_stream(stream, window, intercom, warehouse, full=full, log=context.log)
            zone = intercom.workspace().timezone
            elsewhere = intercom.region_warning()
            results = _evaluate(chosen, intercom, warehouse)
        except Exception as exc:
            policy = context.op_def.retry_policy
            last_try = context.retry_number >= (policy.max_retries if policy else 0)
            failure = (
                permission_failure(exc, stream.name, kept)
                or permanent_failure(exc)
                or transient_failure(exc, last_try=last_try)
            )
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
        if elsewhere:
            context.log.warning(elsewhere)
        for spec in stream.tables:
            yield dg.MaterializeResult(
                asset_key=table_key(spec.name), metadata=table_metadata(stream, spec, run)
            )
        yield from results

    return _step


def run_window(
    context: dg.AssetExecutionContext, partitions: dg.DailyPartitionsDefinition, stream: Stream
) -> Window:
    """The window of a run: its partitions' span for a windowed stream; everything up to now
    for the others (unpartitioned: they read what Intercom holds now, whatever day a run is
    for)."""
    if not stream.windowed:
        return Window(start=None, end=datetime.now(UTC))
    span = context.partition_time_window
    return stream_window(partitions, span.start, span.end)


def _evaluate(
    checks: Sequence[TableCheck], intercom: IntercomResource, warehouse: WarehouseResource
) -> list[dg.AssetCheckResult]:
    if not checks:
        return []
    with warehouse.connect() as wh:
        return evaluate_checks(checks, wh, intercom.client)


def permission_failure(
    exc: BaseException, stream_name: str, kept: Sequence[str]
) -> dg.Failure | None:
    """A `dg.Failure` (not retried) naming the stream and the app permission it needs, when
    Intercom refused one of the stream's requests with 403, or with 401 although the token
    works for `GET /me` (every run asks `GET /me` before a stream's first request, so a
    refusal of any other path is one the token is not allowed, not a bad token); else None.
    """
    if not isinstance(exc, IntercomAuthError) or exc.status not in (401, 403):
        return None
    path = request_path(exc.path)
    if path == "/me":
        return None  # the token itself is refused: `permanent_failure` says so
    although = " although the token works for GET /me" if exc.status == 401 else ""
    permission = exc.permission
    grant = (
        f"give the app the '{permission}' permission"
        if permission is not None
        else f"give the app a permission that covers {exc.method} {path}"
    )
    streams = f"streams: [{', '.join(kept)}]" if kept else "streams: the others"
    return dg.Failure(
        description=(
            f"the access token may not read {stream_name} (Intercom answered {exc.status}"
            f" on {exc.method} {path}{although}): {grant}, or leave the stream out"
            f" ({streams}); not retried: {exc}"
        ),
        metadata={"error": type(exc).__name__, "retried": False, "permission": permission},
        allow_retries=False,
    )


def permanent_failure(exc: BaseException) -> dg.Failure | None:
    """A `dg.Failure` that is not retried for an error a retry cannot heal, else None.

    `IntercomScrollExists` (another companies scroll is open) is a 400 that passes: it is
    transient. Everything else not listed in `PERMANENT_ERRORS` is treated as transient.
    """
    if isinstance(exc, IntercomScrollExists):
        return None
    if is_privilege_error(exc):
        return dg.Failure(
            description=f"{explain(exc)}; not retried",
            metadata={"error": type(exc).__name__, "retried": False},
            allow_retries=False,
        )
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
