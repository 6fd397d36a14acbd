"""Shared fixtures: a real PostgreSQL (when configured) and a real DuckDB file."""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

POSTGRES_URL_ENV = "INTERCOM_ASSETS_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_ENV = "INTERCOM_ASSETS_REQUIRE_POSTGRES"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of a PostgreSQL database the tests may write to.

    Without INTERCOM_ASSETS_TEST_POSTGRES_URL the test is skipped with a visible reason;
    with INTERCOM_ASSETS_REQUIRE_POSTGRES=1 (set by .ci/run) it fails instead.
    """
    url = os.environ.get(POSTGRES_URL_ENV)
    if url:
        return url
    reason = f"PostgreSQL tests need {POSTGRES_URL_ENV}=postgresql://user@host:port/db"
    if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
        pytest.fail(f"{REQUIRE_POSTGRES_ENV}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def postgres_schema(postgres_url: str) -> Iterator[str]:
    """A fresh, uniquely named schema in the test database, dropped afterwards."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def duckdb_path(tmp_path: Path) -> Path:
    """Path of a DuckDB database file that does not exist yet."""
    return tmp_path / "warehouse.duckdb"
