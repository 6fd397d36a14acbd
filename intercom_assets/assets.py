"""One Dagster asset per warehouse table; one multi-asset (one step) per stream.

`build_assets(partitions)` turns every stream in `STREAMS` into a multi-asset whose specs are
its tables, `intercom/<table>` (group `intercom`, lineage from the stream's declarations:
`table_deps`), with the stream's checks as check specs (`intercom_assets.checks`), evaluated
at the end of the same step. Each table's materialization carries its own row count and
counts (`intercom_assets.runs`). Single-run backfills, pool `intercom_api`. Windowed streams
are daily-partitioned and a run covers one day or a whole range: the body reads
`context.partition_time_window`, never a single partition key; the first partition also
covers everything before it (see `intercom_assets.partitions`). The other streams read what
Intercom holds now and are unpartitioned. `full_mode` decides whether a step runs its stream
in full mode (a sweep): run config `full: true`, or any run of the daily job for the searched
streams. A failed step is retried or not as `intercom_assets.failures` decides.
"""

import warnings
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from intercom_assets.checks import TableCheck, evaluate_checks, stream_checks
from intercom_assets.failures import (
    STREAM_RETRY_POLICY,
    permanent_failure,
    permission_failure,
    transient_failure,
)
from intercom_assets.keys import GROUP, asset_key, op_name, table_key
from intercom_assets.partitions import stream_window
from intercom_assets.ranges import check_range
from intercom_assets.resources import IntercomResource, WarehouseResource
from intercom_assets.runs import run_stream, table_metadata
from intercom_assets.streams import STREAMS, Stream, Window, targets
from intercom_assets.warehouse import TableSpec
from intercom_assets.warehouse.spec import DELETED_AT, HASH, RAW, SYNCED_AT, type_key

POOL = "intercom_api"
STREAM_METADATA = "intercom/stream"
"""Definition metadata of every table asset: the stream that writes it."""
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
    return stream.searched


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
    other table of the stream follows the stream's entity table and each entity table its
    declared `references` point to (`contact_tags.tag_id` -> `tags`), among `loaded_before`:
    the tables of this stream and of the streams loaded before it.

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
    for reference in stream.references.get(spec.name, {}).values():
        for name in targets(reference):
            target = loaded_before.get(name)
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
