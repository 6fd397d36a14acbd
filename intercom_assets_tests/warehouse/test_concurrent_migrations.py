"""Migrations that start together (Dagster steps, threads) on a fresh schema or file all
succeed: schema and table creation take turns under the schema's migration lock.

Each round starts many migrations at once on a schema (PostgreSQL) or file (DuckDB) that
does not exist yet; rounds repeat so the race between "is it there?" and "create it" gets
its chances (without the lock, PostgreSQL fails on a catalog unique index and DuckDB on a
catalog write-write conflict; see docs/warehouse.md for how often).
"""

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from intercom_assets.warehouse import connect
from intercom_assets.warehouse.state import STATE_TABLE

from .conftest import SPECS

ROOT = Path(__file__).resolve().parents[2]
THREADS, THREAD_ROUNDS = 8, 12
PROCESSES, PROCESS_ROUNDS = 4, 8


class Place:
    """Where round `n` migrates: `url.format(round=n)`, `schema.format(round=n)`."""

    def __init__(self, url: str, schema: str) -> None:
        self.url, self.schema = url, schema

    def at(self, number: int) -> tuple[str, str]:
        return self.url.format(round=number), self.schema.format(round=number)


@pytest.fixture(params=["duckdb", "postgres"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Place]:
    if request.param == "duckdb":
        yield Place(f"duckdb:///{tmp_path}/round{{round}}.duckdb", "intercom")
        return
    url = request.getfixturevalue("postgres_url")
    base = request.getfixturevalue("postgres_schema")
    yield Place(url, f"{base}_{{round}}")
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (f"{base}\\_%",)
        ).fetchall()
        for (name,) in rows:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def assert_migrated(place: Place, number: int) -> None:
    url, schema = place.at(number)
    with connect(url, schema=schema) as wh, wh.backend.session() as s:
        names = [STATE_TABLE, *(spec.name for spec in SPECS)]
        found = wh.backend.columns(s, schema, names)
    assert sorted(found) == sorted(names)
    for spec in SPECS:
        assert set(found[spec.name]) == set(spec.stored_columns())


def test_threads_migrating_at_once(place: Place) -> None:
    errors: list[BaseException] = []
    for number in range(THREAD_ROUNDS):
        url, schema = place.at(number)
        start = threading.Barrier(THREADS)

        def migrate(url: str = url, schema: str = schema, start: threading.Barrier = start) -> None:
            try:
                with connect(url, schema=schema) as wh:
                    start.wait()
                    wh.migrate(SPECS)
            except BaseException as exc:  # collected and reported below
                errors.append(exc)

        threads = [threading.Thread(target=migrate) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, f"round {number}: {errors[:3]}"
        assert_migrated(place, number)


@pytest.mark.slow
def test_processes_migrating_at_once(place: Place, tmp_path: Path) -> None:
    barriers = tmp_path / "barriers"
    command = [
        sys.executable,
        "-m",
        "intercom_assets_tests.warehouse.migrator",
        place.url,
        place.schema,
        str(PROCESS_ROUNDS),
        str(PROCESSES),
        str(barriers),
    ]
    processes = [
        subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
        for _ in range(PROCESSES)
    ]
    failures = []
    for process in processes:
        _, errors = process.communicate(timeout=300)
        if process.returncode:
            failures.append(errors[-2000:])
    assert not failures, "\n".join(failures)
    for number in range(PROCESS_ROUNDS):
        assert_migrated(place, number)
