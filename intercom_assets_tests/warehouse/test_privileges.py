"""The PostgreSQL privileges docs/operations.md gives the warehouse user are enough: a
login role that is no superuser, with USAGE and CREATE on a schema created for it (or
CREATE on the database, to create the schema itself), migrates, writes, soft-deletes and
migrates a table that gained a column; without either, it fails on the schema."""

import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import polars as pl
import psycopg
import pytest

from intercom_assets.failures import permanent_failure
from intercom_assets.warehouse import Column, TableSpec, connect

from .conftest import CONTACT_TAGS, CONTACTS, contacts_frame, tags_frame


@pytest.fixture
def role(postgres_url: str) -> Iterator[tuple[str, str]]:
    """A fresh login role with no privileges of its own, and its URL; dropped afterwards
    with what it owns."""
    name = f"loader_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{name}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE')
    parts = urlsplit(postgres_url)
    host = parts.netloc.rsplit("@", 1)[-1]
    yield name, urlunsplit(parts._replace(netloc=f"{name}@{host}"))
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        database = conn.execute("SELECT current_database()").fetchone()
        assert database is not None
        conn.execute(f'DROP OWNED BY "{name}" CASCADE')
        conn.execute(f'REVOKE ALL ON DATABASE "{database[0]}" FROM "{name}"')
        conn.execute(f'DROP ROLE "{name}"')


def load(url: str, schema: str) -> None:
    """What a run does to its tables: migrate, write, soft-delete, and migrate again after
    the spec gained a column."""
    rows = [{"id": "1", "email": "a@example.com"}, {"id": "2", "email": "b@example.com"}]
    with connect(url, schema=schema) as wh:
        wh.migrate([CONTACTS, CONTACT_TAGS])
        wh.write({"contacts": contacts_frame(rows), "contact_tags": tags_frame([("1", "t")])})
        wh.soft_delete_missing("contacts", ["1"])
        assert wh.count_live("contacts") == 1
    grown = TableSpec(
        CONTACTS.name,
        (*CONTACTS.columns, Column("phone", pl.String)),
        primary_key=CONTACTS.primary_key,
    )
    with connect(url, schema=schema) as wh:
        wh.migrate([grown])
        assert "phone" in wh.read_columns("contacts", ["id", "phone"]).columns


def test_a_schema_created_for_the_user(
    postgres_url: str, postgres_schema: str, role: tuple[str, str]
) -> None:
    name, url = role
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{postgres_schema}"')
        conn.execute(f'GRANT USAGE, CREATE ON SCHEMA "{postgres_schema}" TO "{name}"')
    load(url, postgres_schema)


def test_create_on_the_database(
    postgres_url: str, postgres_schema: str, role: tuple[str, str]
) -> None:
    name, url = role
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        database = conn.execute("SELECT current_database()").fetchone()
        assert database is not None
        conn.execute(f'GRANT CREATE ON DATABASE "{database[0]}" TO "{name}"')
    load(url, postgres_schema)


def test_neither_fails_on_the_schema(postgres_schema: str, role: tuple[str, str]) -> None:
    _, url = role
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
        load(url, postgres_schema)


def test_a_missing_privilege_fails_once_saying_what_to_grant(
    postgres_schema: str, role: tuple[str, str]
) -> None:
    """A step that meets PostgreSQL's refusal is not retried (no grant appears between
    retries) and its failure says what to grant."""
    _, url = role
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
        load(url, postgres_schema)
    failure = permanent_failure(refused.value)
    assert failure is not None
    assert failure.allow_retries is False
    assert failure.description is not None
    assert failure.description.startswith("the database user lacks a privilege: permission denied")
    assert "grant it USAGE and CREATE on the warehouse schema" in failure.description
