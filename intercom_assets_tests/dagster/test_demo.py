"""`intercom-assets demo`: two recorded runs, a summary per table, tables that hold the data."""

import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from intercom_assets.demo import DEMO_SCHEMA, DemoSchemaError, reset_schema
from intercom_assets.streams import STREAMS
from intercom_assets.warehouse import connect


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
    with dg.DagsterInstance.from_config(str(home)) as instance:
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
