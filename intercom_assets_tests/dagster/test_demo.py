"""`intercom-assets demo`: two recorded runs, a summary per table, tables that hold the data."""

import logging
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from intercom_assets.assets import build_assets
from intercom_assets.demo import (
    DEMO_SCHEMA,
    DEMO_TAG,
    WAREHOUSE_TAG,
    DemoSchemaError,
    instance_home,
    redact,
    reset_schema,
    run_demo,
)
from intercom_assets.demo_ui import LOCATION, write_workspace
from intercom_assets.partitions import daily_partitions
from intercom_assets.resources import IntercomResource, WarehouseResource
from intercom_assets.runs import progress_log
from intercom_assets.sandbox import Sandbox
from intercom_assets.settings import HISTORY, PartitionSettings
from intercom_assets.streams import STREAMS, get_stream
from intercom_assets.warehouse import connect
from intercom_assets_tests.dagster.conftest import E2E_CHURN, SANDBOX_START, START_DATE
from intercom_assets_tests.dagster.test_cli import DAGSTER, clean_env


def test_demo_records_two_runs_and_summarizes_every_table(tmp_path: Path) -> None:
    home = tmp_path / "home"
    command = [str(Path(sys.executable).with_name("intercom-assets")), "demo"]
    command += ["--home", str(home), "--size", "tiny"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr[-4000:]
    out = done.stdout
    assert f"(schema {DEMO_SCHEMA}, new)" in out
    assert out.count("contacts: started") == 2 and out.count("contacts: finished") == 2
    assert out.count("\ntotal ") == 2
    # the demo reads with 2.14: each summary says which tables that version leaves empty
    assert (
        out.count("\non API version 2.14 company_notes and deleted_conversations stay empty") == 2
    )
    starts = [line.split()[0] for line in out.splitlines() if line.strip()]
    for table in (t.name for s in STREAMS for t in s.tables):  # one line per table, per run
        assert starts.count(table) == 2, table
    with dg.DagsterInstance.from_config(str(instance_home(home, None))) as instance:
        runs = instance.get_runs()
        assert len(runs) == 2 and all(r.is_success for r in runs)
    with connect(home / "intercom.duckdb", schema=DEMO_SCHEMA) as wh:
        rows = wh.query(f'SELECT COUNT(*) AS n FROM "{DEMO_SCHEMA}".contacts').item()
        tag_rows = wh.query(f'SELECT COUNT(*) AS n FROM "{DEMO_SCHEMA}".contact_tags').item()
    lines = out.splitlines()[::-1]
    summary_line = next(line for line in lines if line.startswith("contacts "))
    assert int(summary_line.split()[1]) <= rows  # live rows reported, soft-deleted ones kept
    tags_line = next(line for line in lines if line.startswith("contact_tags "))
    assert int(tags_line.split()[1]) == tag_rows  # its own rows, not the stream's
    summary = out[out.rindex("\ntotal ") - 4000 :]
    for table in NEW_TABLES:  # the summary lists every table, the new ones included
        assert f"\n{table} " in summary, table


def tables_in(url: str, schema: str) -> set[str]:
    sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
    if url.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(url) as conn:
            return {row[0] for row in conn.execute(sql, (schema,)).fetchall()}
    with duckdb.connect(url.removeprefix("duckdb:///")) as conn:
        return {row[0] for row in conn.execute(sql.replace("%s", "?"), [schema]).fetchall()}


def execute(url: str, *statements: str) -> None:
    if url.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)
        return
    with duckdb.connect(url.removeprefix("duckdb:///")) as conn:
        for statement in statements:
            conn.execute(statement)


def create_foreign_schema(url: str, schema: str) -> None:
    """A schema of the demo's name that someone else made, holding their table."""
    execute(url, f'CREATE SCHEMA "{schema}"', f'CREATE TABLE "{schema}".precious (id int)')


@pytest.fixture(params=["duckdb", "postgres"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """(database URL, schema name) for the demo's schema: a DuckDB file or a PostgreSQL
    schema of its own (dropped afterwards)."""
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'demo.duckdb'}", DEMO_SCHEMA
    return request.getfixturevalue("postgres_url"), request.getfixturevalue("postgres_schema")


def test_the_demo_replaces_only_a_schema_it_created(place: tuple[str, str]) -> None:
    url, schema = place
    assert reset_schema(url, schema) is False  # new
    execute(url, f'CREATE TABLE "{schema}".contacts (id text)')
    assert reset_schema(url, schema) is True  # the previous demo's: replaced, empty again
    assert "contacts" not in tables_in(url, schema)


def test_the_demo_refuses_a_schema_it_did_not_create(place: tuple[str, str]) -> None:
    url, schema = place
    create_foreign_schema(url, schema)
    with pytest.raises(DemoSchemaError, match=f"schema {schema} already exists") as refused:
        reset_schema(url, schema)
    assert len(str(refused.value).splitlines()) <= 3
    assert "precious" in tables_in(url, schema)


def test_the_demo_command_says_it_refuses_and_stops(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'theirs.duckdb'}"
    create_foreign_schema(url, DEMO_SCHEMA)
    command = [sys.executable, "-m", "intercom_assets.cli", "demo", "--database", url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert f"Error: schema {DEMO_SCHEMA} already exists" in output
    assert "did not create it" in output and "Traceback" not in output
    assert len(output.strip().splitlines()) <= 3
    assert "precious" in tables_in(url, DEMO_SCHEMA)


NEW_TABLES = (
    "contact_notes",
    "contact_segments",
    "subscription_types",
    "help_centers",
    "help_center_collections",
    "articles",
    "admin_activity_logs",
)


def test_demo_ui_on_a_taken_port_says_so_before_loading_anything(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        command = [sys.executable, "-m", "intercom_assets.cli", "demo", "--ui"]
        command += ["--port", str(port), "--size", "tiny", "--home", str(tmp_path / "home")]
        started = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
        elapsed = time.monotonic() - started
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert output.strip().splitlines() == [
        f"Error: the Dagster UI cannot listen on 127.0.0.1:{port}: Address already in use;"
        " choose another --port, or leave it out for a free one"
    ]
    assert not (tmp_path / "home").exists()  # nothing loaded, no instance made
    assert elapsed < 15, f"{elapsed:.0f} s"


def test_the_demo_ui_code_location_loads_without_a_name_warning(tmp_path: Path) -> None:
    """The daemon and the webserver load the workspace the demo writes; Dagster warns on each
    load when its location name is not the project's `code_location_name`."""
    workspace = write_workspace(tmp_path)
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")  # as the demo's
    done = subprocess.run(
        [DAGSTER, "definitions", "validate", "-w", str(workspace)],
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert f"Validation successful for code location {LOCATION}" in output
    assert "WARNING" not in output, output


@dataclass(frozen=True)
class Demo:
    """A finished demo: where its tables and runs are, and what it printed."""

    url: str
    schema: str
    home: Path
    printed: str


@pytest.fixture(scope="module")
def demos_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo home for both warehouses' demos, as a user's `.intercom-assets`."""
    return tmp_path_factory.mktemp("demos") / "home"


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def demo(request: pytest.FixtureRequest, demos_home: Path) -> Iterator[Demo]:
    """The tiny demo run in-process with `INTERCOM_ASSETS_HISTORY=all`, on a DuckDB file (the
    default) or on PostgreSQL (a schema of its own, dropped afterwards), both in one home."""
    database: str | None = None
    schema = DEMO_SCHEMA
    if request.param == "postgres":
        database = request.getfixturevalue("postgres_url")
        schema = f"t_{uuid.uuid4().hex[:12]}"
    printed: list[str] = []
    with pytest.MonkeyPatch.context() as env:
        env.setenv(HISTORY.variable, "all")
        run_demo(demos_home, database, size="tiny", schema=schema, echo=printed.append)
    url = database or f"duckdb:///{demos_home.resolve() / 'intercom.duckdb'}"
    yield Demo(url, schema, instance_home(demos_home.resolve(), database), "\n".join(printed))
    if database is not None:
        execute(database, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_the_demo_tags_its_runs_and_keeps_one_instance_per_warehouse(demo: Demo) -> None:
    with dg.DagsterInstance.from_config(str(demo.home)) as instance:
        runs = sorted(instance.get_runs(), key=lambda run: run.tags[DEMO_TAG])
        assert [run.tags[DEMO_TAG] for run in runs] == ["history", "next_day"]  # no other's
        assert all(run.tags[WAREHOUSE_TAG] == redact(demo.url) for run in runs)
        assert all(run.is_success for run in runs)
    assert f"Dagster instance: {demo.home} " in demo.printed


def test_the_demo_keeps_history_as_the_setting_says(demo: Demo) -> None:
    with connect(demo.url, schema=demo.schema) as wh:
        replaced = wh.query(
            f'SELECT COUNT(*) AS n FROM "{demo.schema}".contacts_history'
            " WHERE _valid_to IS NOT NULL"
        ).item()
    assert replaced > 0  # the next day's updates kept the versions they replaced
    assert f"history: all ({HISTORY.variable})" in demo.printed


def summary_tables(printed: str) -> list[list[list[str]]]:
    """The printed summaries: per run, the rows of its table, split into cells."""
    tables: list[list[list[str]]] = []
    for line in printed.splitlines():
        if line.startswith("table ") and "seconds" in line:
            tables.append([])
        elif tables and line.strip() and (not tables[-1] or tables[-1][-1][0] != "total"):
            tables[-1].append(line.split())
    return tables


def test_the_demo_summary_adds_up_and_says_what_it_counts(demo: Demo) -> None:
    runs = summary_tables(demo.printed)
    assert len(runs) == 2
    for rows in runs:
        total = rows[-1]
        assert total[0] == "total"
        column = [float(row[-1]) for row in rows[:-1] if len(row) == 8]
        assert float(total[-1]) == pytest.approx(sum(column), abs=0.05)
    assert demo.printed.count("\nwall time: ") == 2
    companies = next(row for row in runs[-1] if row[0] == "companies")
    counts = r"companies (\d+)/(\d+) \(Intercom counts companies with users only"
    live = re.search(counts, demo.printed)
    assert live is not None, demo.printed
    assert f"the table holds {companies[1]} live rows" in demo.printed
    assert int(live.group(1)) <= int(companies[1])
    # each stream's finished line counts the distinct records its entity table counts
    finished = re.findall(r"  (\w+): finished: (\d+) records", demo.printed)
    for run, lines in zip(runs, (finished[: len(STREAMS)], finished[len(STREAMS) :]), strict=True):
        counted = {row[0]: sum(int(c) for c in row[2:5]) for row in run if len(row) >= 5}
        for stream, records in lines:
            assert int(records) == counted[get_stream(stream).tables[0].name], stream


def test_the_companies_live_count_says_it_counts_companies_with_users(demo: Demo) -> None:
    with dg.DagsterInstance.from_config(str(demo.home)) as instance:
        key = dg.AssetCheckKey(dg.AssetKey(["intercom", "companies"]), "live_count")
        record = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
        assert record.event is not None and record.event.dagster_event is not None
        evaluation = record.event.dagster_event.event_specific_data
        assert isinstance(evaluation, dg.AssetCheckEvaluation)
        metadata = {k: v.value for k, v in evaluation.metadata.items()}
    assert "companies with users only" in str(metadata["counts"])
    assert int(str(metadata["table_live_rows"])) >= int(str(metadata["stored_live"]))


def test_a_stream_that_reads_a_record_twice_prints_distinct_records_and_reads(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The finished line counts what the summary counts (the entity table's inserted +
    updated + unchanged + revived); records read more than once show as reads. A day's
    window after heavy churn reads contacts again (the day-granular search)."""
    sb = Sandbox(size="tiny", seed=1, timezone="UTC", start=SANDBOX_START, churn=E2E_CHURN)
    assets = build_assets(daily_partitions(PartitionSettings(START_DATE, "UTC")))
    contacts = [a for a in assets if dg.AssetKey(["intercom", "contacts"]) in a.keys]
    caplog.set_level(logging.INFO, logger=progress_log.name)
    with sb.serve(port=0) as url:
        resources = {
            "intercom": IntercomResource(access_token=sb.token, base_url=url),
            "warehouse": WarehouseResource(url=f"duckdb:///{tmp_path / 'w.duckdb'}"),
        }
        dg.materialize(contacts, partition_key=START_DATE, resources=resources)
        sb.advance(days=1)
        caplog.clear()
        day = (date.fromisoformat(START_DATE) + timedelta(days=1)).isoformat()
        result = dg.materialize(contacts, partition_key=day, resources=resources)
    metadata = {
        k: v.value
        for k, v in result.asset_materializations_for_node("intercom__contacts")[0].metadata.items()
    }
    distinct = sum(int(str(metadata[k])) for k in ("inserted", "updated", "unchanged", "revived"))
    fetched = int(str(metadata["fetched"]))
    assert fetched > distinct  # the case at hand: some contact was read twice
    finished = [r.getMessage() for r in caplog.records if "contacts: finished" in r.getMessage()]
    assert len(finished) == 1
    assert finished[0].startswith(f"contacts: finished: {distinct} records ({fetched} read), ")
