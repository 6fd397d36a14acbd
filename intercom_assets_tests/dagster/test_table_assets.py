"""Through the code location's Definitions: every warehouse table is an asset with its column
schema; after a run each has its own row count and counts; every check is attached to a table
asset and runs in its stream's step; the run asks `GET /me` once."""

import uuid
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import dagster as dg
import psycopg
import pytest
import yaml

from intercom_assets.definitions import RANGE_RUN_ENVIRONMENT, build_definitions
from intercom_assets.keys import op_name, table_key
from intercom_assets.resources import IntercomResource, WarehouseResource
from intercom_assets.sandbox import Sandbox
from intercom_assets.settings import PartitionSettings
from intercom_assets.streams import STREAMS
from intercom_assets.warehouse.spec import DELETED_AT
from intercom_assets_tests.dagster.conftest import (
    RANGE_END,
    RANGE_START,
    SANDBOX_START,
    START_DATE,
    TIMEZONE,
    Pipeline,
)

OUTCOMES = ("inserted", "updated", "unchanged", "deleted", "revived")


def stored_rows(p: Pipeline, table: str, entity: bool) -> int:
    """The table's rows by a plain SQL count (live rows of an entity table)."""
    where = f' WHERE "{DELETED_AT}" IS NULL' if entity else ""
    schema = f'"{p.schema}"'
    if p.url.startswith("duckdb:"):  # the file's catalog is named like the schema
        schema = f'"{Path(p.url.removeprefix("duckdb:///")).stem}".{schema}'
    with p.warehouse() as wh:
        return int(wh.query(f'SELECT COUNT(*) AS n FROM {schema}."{table}"{where}')["n"][0])


def test_every_table_is_an_asset_with_its_counts_and_its_checks_in_its_step(
    pipeline: Pipeline,
) -> None:
    p = pipeline
    graph = p.defs.resolve_asset_graph()
    tables = {t.name: (stream, t) for stream in STREAMS for t in stream.tables}

    # Every table is an asset, with its own column schema, before any run.
    assert {key.path[-1] for key in graph.get_all_asset_keys()} == set(tables)
    for name, (_, spec) in tables.items():
        schema = graph.get(table_key(name)).metadata["dagster/column_schema"]
        assert isinstance(schema, dg.TableSchema)
        assert [c.name for c in schema.columns][: len(spec.columns)] == list(spec.column_names)

    # Every check is attached to a table asset; only the `quarantine` checks are definitions
    # of their own (one step after the streams', which no stream waits for).
    own = {k for c in p.defs.asset_checks or [] for k in c.check_keys}
    assert {k.name for k in own} == {"quarantine"}
    assert {k.asset_key for k in own} == {table_key(s.tables[0].name) for s in STREAMS}
    check_keys = graph.asset_check_keys
    assert check_keys and {k.asset_key for k in check_keys} <= {table_key(n) for n in tables}

    job = p.defs.resolve_implicit_global_asset_job_def()
    assert job.executor_def.name == "in_process"
    p.sb.reset_request_counts()
    result = job.execute_in_process(
        instance=p.instance, tags={RANGE_START: START_DATE, RANGE_END: p.day()}
    )
    assert result.success
    assert p.sb.request_counts()["GET /me"] == 1

    # After the run every table has its own row count and counts: a first load inserts
    # exactly the rows each table holds, whatever the stream's other tables hold.
    steps: dict[dg.AssetKey, str] = {}
    seen: dict[str, dict[str, object]] = {}
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.event_specific_data.materialization  # type: ignore[union-attr]
            steps[materialization.asset_key] = event.step_key or ""
            seen[materialization.asset_key.path[-1]] = {
                k: v.value for k, v in materialization.metadata.items()
            }
    assert set(seen) == set(tables)
    nonempty = 0
    for name, metadata in seen.items():
        stream, spec = tables[name]
        rows = stored_rows(p, name, spec.is_entity)
        assert metadata["dagster/row_count"] == rows, name
        assert {o: metadata[o] for o in OUTCOMES} == {
            "inserted": rows,
            "updated": 0,
            "unchanged": 0,
            "deleted": 0,
            "revived": 0,
        }, name
        assert steps[table_key(name)] == op_name(stream.name), name
        nonempty += rows > 0
    # the tiny workspace fills (almost) every table; on 2.14 company_notes and
    # deleted_conversations have no source (2.16 lists them)
    assert nonempty >= len(tables) - 3
    assert seen["contacts"]["inserted"] != seen["contact_tags"]["inserted"]

    # Each check ran once, in the step of the stream that writes its table.
    evaluations = [
        e for e in result.all_events if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ]
    ran = Counter(
        (e.event_specific_data.asset_key, e.event_specific_data.check_name)  # type: ignore[union-attr]
        for e in evaluations
    )
    assert set(ran) == {(k.asset_key, k.name) for k in check_keys}
    assert set(ran.values()) == {1}
    for event in evaluations:
        key = event.event_specific_data.asset_key  # type: ignore[union-attr]
        name = event.event_specific_data.check_name  # type: ignore[union-attr]
        step = "intercom__quarantine" if name == "quarantine" else steps[key]
        assert event.step_key == step, (key, name)
    by_step: defaultdict[str, set[str]] = defaultdict(set)
    for event in result.all_events:
        if event.step_key:
            by_step[event.step_key].add(event.event_type_value)
    streams = {op_name(s.name) for s in STREAMS}
    assert set(by_step) == streams | {"intercom__quarantine"}


RANGE_FIRST = "2025-12-01"
"""A 32-partition range (to the sandbox's first day, 2026-01-01)."""


@pytest.mark.postgres
def test_a_range_run_on_postgres_storage_marks_every_partition_of_every_partitioned_table(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the production instance's storage, with the range-run switches in the environment
    as a deployment sets them (event batching writes a range's per-partition materializations
    many at a time), every partitioned table counts every partition of the range as
    materialized, and the unpartitioned ones one each."""
    for name, value in RANGE_RUN_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    server = urlsplit(postgres_url)
    database = f"ia_dagster_{uuid.uuid4().hex[:10]}"
    storage = server._replace(scheme="postgresql+psycopg2", path=f"/{database}").geturl()
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        yaml.safe_dump({"storage": {"postgres": {"postgres_url": storage}}})
    )
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    try:
        sb = Sandbox(size="tiny", seed=3, timezone=TIMEZONE, start=SANDBOX_START)
        with sb.serve(port=0) as served, dg.DagsterInstance.from_config(str(home)) as instance:
            resources = {
                "intercom": IntercomResource(access_token=sb.token, base_url=served),
                "warehouse": WarehouseResource(
                    url=f"duckdb:///{tmp_path / 'intercom.duckdb'}", schema_name="intercom"
                ),
            }
            defs = build_definitions(PartitionSettings(RANGE_FIRST, TIMEZONE), resources)
            last = datetime.fromtimestamp(sb.now, ZoneInfo(TIMEZONE)).strftime("%Y-%m-%d")
            job = defs.resolve_implicit_global_asset_job_def()
            result = job.execute_in_process(
                instance=instance, tags={RANGE_START: RANGE_FIRST, RANGE_END: last}
            )
            assert result.success
            graph = defs.resolve_asset_graph()
            partitioned = {
                k for k in graph.get_all_asset_keys() if graph.get(k).partitions_def is not None
            }
            assert len(partitioned) == sum(len(s.tables) for s in STREAMS if s.windowed)
            some = graph.get(next(iter(partitioned))).partitions_def
            assert some is not None
            keys = set(some.get_partition_keys_in_range(dg.PartitionKeyRange(RANGE_FIRST, last)))
            assert len(keys) == 32
            for key in graph.get_all_asset_keys():
                materialized = instance.get_materialized_partitions(key)
                if key in partitioned:
                    assert materialized == keys, key
                else:
                    assert instance.get_latest_materialization_event(key) is not None, key
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
