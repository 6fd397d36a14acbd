"""The oracle can fail: every declared column of every table, corrupted in one stored cell,
is reported as exactly that difference; unknown and missing columns are reported; the
assertion's message names table, id, column, expected and found.

One loaded warehouse per backend (the tiny sandbox after a day of deletes and merges and a
full run), corrupted one cell at a time inside a transaction that is rolled back.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl
import psycopg
import pytest

from intercom_assets.sandbox import Churn
from intercom_assets.warehouse import Warehouse, connect
from intercom_assets_tests.oracle import (
    TABLES,
    OracleError,
    assert_matches_truth,
    differences,
)
from intercom_assets_tests.oracle.columns import NOT_NULL, expected_rows
from intercom_assets_tests.oracle.compare import scope, with_stored_contacts
from intercom_assets_tests.oracle.stored import column_types, read_table
from intercom_assets_tests.streams.conftest import make_harness

pytestmark = pytest.mark.slow

GONE = Churn(
    lead_merge=0.5,
    contact_delete=0.05,
    contact_archive=0.05,
    tag_delete=0.1,
    conversation_delete=0.05,
)
"""A day with merges, deletes, archives, deleted tags and conversations: every soft-delete
path is loaded (and the deleted-conversations feed has entries)."""


@dataclass
class Sql:
    """A plain connection inside one transaction, rolled back at the end: `query` (what the
    oracle reads through) and `execute` (to corrupt the stored data)."""

    conn: Any
    schema: str
    postgres: bool

    def execute(self, sql: str, params: Any = ()) -> None:
        if self.postgres:
            self.conn.execute(sql, params or None)
        else:
            self.conn.execute(sql.replace("%s", "?"), list(params))

    def query(self, sql: str, params: Any = ()) -> pl.DataFrame:
        if not self.postgres:
            return self.conn.sql(sql.replace("%s", "?"), params=list(params)).pl()
        cur = self.conn.execute(sql, params or None)
        names = [d.name for d in cur.description]
        columns = list(zip(*cur.fetchall(), strict=True)) or [() for _ in names]
        return pl.DataFrame([pl.Series(n, list(v)) for n, v in zip(names, columns, strict=True)])

    @contextmanager
    def rolled_back(self) -> Iterator[None]:
        if not self.postgres:
            self.conn.begin()  # psycopg opens a transaction with the first statement
        try:
            yield
        finally:
            self.conn.rollback()


@dataclass
class Loaded:
    warehouse: Warehouse
    truth: dict[str, Any]
    url: str
    schema: str

    @contextmanager
    def connection(self) -> Iterator[Sql]:
        """A plain connection of our own (the warehouse's is released first)."""
        self.warehouse.close()  # DuckDB: release the file
        if self.url.startswith("postgresql"):
            with psycopg.connect(self.url) as conn:
                yield Sql(conn, self.schema, postgres=True)
            return
        conn = duckdb.connect(self.url)
        try:
            yield Sql(conn, self.schema, postgres=False)
        finally:
            conn.close()

    @contextmanager
    def transaction(self) -> Iterator[Sql]:
        """One transaction, always rolled back."""
        with self.connection() as db, db.rolled_back():
            yield db


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def loaded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Loaded]:
    """A warehouse holding the tiny workspace after a day of deletes and merges, read with
    API version 2.16 (so that every table, company notes included, holds rows)."""
    schema = "intercom"
    if request.param == "duckdb":
        url = str(tmp_path_factory.mktemp("oracle") / "w.duckdb")
    else:
        url = request.getfixturevalue("postgres_url")
        schema = f"t_{uuid.uuid4().hex[:12]}"
    with connect(url, schema=schema) as wh:
        h = make_harness(wh, api_version="2.16", timezone="America/New_York")
        h.run_all()
        h.sb.advance(days=1, churn=GONE)
        h.run_all(full=True)
        truth = {**h.sb.truth(), "api_version": "2.16"}
        h.client.close()
        assert truth["merged_contact_ids"] and truth["deleted_tag_ids"]
        assert truth["deleted_conversations"]
        yield Loaded(wh, truth, url, schema)
    if request.param == "postgres":
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_a_loaded_warehouse_has_no_differences(loaded: Loaded) -> None:
    wh, truth = loaded.warehouse, loaded.truth
    assert differences(wh, truth) == []
    merges = read_table(wh, "contact_merges")
    assert merges is not None and merges.rows  # merges were loaded and compared


def corrupted(kind: str, sql_type: str, column: str, expected: Any) -> str:
    """An SQL expression for another value of the same type as `column`."""
    c = f'"{column}"'
    if expected is NOT_NULL:
        return "NULL"
    return {
        "text": f"CASE WHEN {c} IS NULL THEN 'corrupt' ELSE {c} || '~' END",
        "int": f"COALESCE({c}, 0) + 1",
        "float": f"COALESCE({c}, 0) + 0.5",
        "bool": f"CASE WHEN {c} IS NULL THEN TRUE ELSE NOT {c} END",
        "timestamp": f"COALESCE({c} + INTERVAL '1 second', CAST('2001-01-01' AS TIMESTAMPTZ))",
        "json": f"CAST('{{\"corrupt\": 1}}' AS {sql_type})",
    }[kind]


def corrupt_each_column(db: Sql, loaded: Loaded, table: str) -> Iterator[tuple[str, Any, list]]:
    """For each column of `table`, corrupt it in one compared row and yield
    `(column, row key, differences)`, each corruption rolled back before the next."""
    truth = with_stored_contacts(loaded.warehouse, loaded.truth)
    spec = TABLES[table]
    stored = read_table(db, table)
    assert stored is not None
    expected = expected_rows(spec, truth)
    in_scope = scope(spec, truth)
    keys = [tuple(r[k] for k in spec.key) for r in stored.rows if in_scope(r)]
    keys = sorted((k for k in keys if k in expected.rows), key=lambda k: tuple(map(str, k)))
    if not keys:
        return
    key = keys[0]
    where = " AND ".join(f'"{k}" = %s' for k in spec.key)
    for column, col in spec.all_columns().items():
        if column == "_hash":  # NOT NULL in the DDL: no stored row can lack it
            continue
        value = corrupted(col.kind, stored.types[column], column, expected.rows[key][column])
        with db.rolled_back():
            db.execute(
                f'UPDATE "{db.schema}"."{table}" SET "{column}" = {value} WHERE {where}', key
            )
            found = differences(db, truth, tables=[table])
        yield column, (key[0] if len(key) == 1 else key), found


def test_every_column_of_every_table_is_checked(loaded: Loaded) -> None:
    """One corrupted cell -> exactly that difference (a corrupted key, parent or
    `_deleted_at` takes the row out of what is compared: that row missing)."""
    checked, wrong, unchecked = 0, [], []
    with loaded.connection() as db:
        for table, spec in TABLES.items():
            moves = {*spec.key, "_deleted_at", *(spec.parent[:1] if spec.parent else ())}
            before = checked
            for column, key, found in corrupt_each_column(db, loaded, table):
                checked += 1
                if column in moves:
                    ok = any(d.kind == "missing" and d.id == key for d in found) or (
                        [(d.id, d.column, d.kind) for d in found] == [(key, column, "changed")]
                    )
                else:
                    ok = [(d.table, d.id, d.column, d.kind) for d in found] == [
                        (table, key, column, "changed")
                    ]
                if not ok:
                    wrong.append((table, column, key, [str(d) for d in found]))
            if checked == before:
                unchecked.append(table)
    assert not wrong, wrong
    assert not unchecked, f"no row to corrupt in {unchecked}"
    declared = sum(len(t.all_columns()) for t in TABLES.values())
    assert checked == declared - len(TABLES)  # every column but `_hash`


def test_columns_unknown_to_the_oracle_missing_or_retyped_are_reported(loaded: Loaded) -> None:
    types = column_types(loaded.warehouse, "segments")
    with loaded.transaction() as db:
        table = f'"{db.schema}"."segments"'
        db.execute(f'ALTER TABLE {table} ADD COLUMN "colour" TEXT')
        db.execute(f'ALTER TABLE {table} DROP COLUMN "name"')
        db.execute(f'ALTER TABLE {table} ALTER COLUMN "count" TYPE DOUBLE PRECISION')
        found = differences(db, loaded.truth, tables=["segments"])
    assert [(d.table, d.id, d.column, d.kind) for d in found] == [
        ("segments", None, "name", "missing"),
        ("segments", None, "count", "changed"),
        ("segments", None, "colour", "extra"),
    ]
    assert str(found[2]).startswith("segments.colour: column ")
    assert str(found[2]).endswith(" not known to the oracle")
    assert column_types(loaded.warehouse, "segments") == types  # rolled back


def test_the_assertion_names_table_id_column_expected_and_found(loaded: Loaded) -> None:
    truth = loaded.truth
    contact = truth["contacts"][0]
    with loaded.transaction() as db:
        db.execute(
            f'UPDATE "{db.schema}"."contacts" SET "location_city" = %s WHERE "id" = %s',
            ("Atlantis", contact["id"]),
        )
        with pytest.raises(AssertionError) as failure:
            assert_matches_truth(db, truth, streams=["contacts"])
    city = contact["location"]["city"]
    assert f"contacts[{contact['id']}].location_city: expected {city!r}, found 'Atlantis'" in str(
        failure.value
    )
    assert "1 ways (contacts changed 1)" in str(failure.value)


def test_rows_missing_from_or_unknown_to_the_truth_are_reported_with_their_kind(
    loaded: Loaded,
) -> None:
    """A contact the truth no longer has is extra; a truth contact not stored is missing;
    an allowed difference does not fail the assertion and is returned."""
    wh, truth = loaded.warehouse, loaded.truth
    gone, *rest = truth["contacts"]
    new = {**rest[0], "id": "000000000000000000000000"}
    shifted = {**truth, "contacts": [*rest, new]}
    found = differences(wh, shifted, tables=["contacts"])
    assert {(d.id, d.kind) for d in found} == {(gone["id"], "extra"), (new["id"], "missing")}
    missing = next(d for d in found if d.kind == "missing")
    assert missing.expected["email"] == new["email"] and missing.found is None
    allowed = assert_matches_truth(wh, shifted, ["contacts"], allow=lambda d: d.table == "contacts")
    assert sorted(allowed, key=str) == sorted(found, key=str)
    with pytest.raises(AssertionError, match="row missing"):
        assert_matches_truth(wh, shifted, ["contacts"], allow=lambda d: d.kind == "extra")


def test_link_rows_and_events_out_of_the_truth_are_extra(loaded: Loaded) -> None:
    wh, truth = loaded.warehouse, loaded.truth
    contact_id = next(c for c, tags in truth["contact_tags"].items() if tags)
    fewer = {**truth, "contact_tags": {**truth["contact_tags"], contact_id: []}}
    found = differences(wh, fewer, tables=["contact_tags"])
    assert found and {(d.kind, d.id[0]) for d in found} == {("extra", contact_id)}
    owner = next(iter(truth["events"]))
    no_events = {**truth, "events": {k: v for k, v in truth["events"].items() if k != owner}}
    found = differences(wh, no_events, tables=["events"])
    assert len(found) == len(truth["events"][owner])
    assert {d.kind for d in found} == {"extra"}
    assert {d.found["contact_id"] for d in found} == {owner}


def test_the_oracle_names_a_truth_shape_it_does_not_expect(loaded: Loaded) -> None:
    truth = loaded.truth
    odd = {**truth, "tags": [{**truth["tags"][0], "name": 7}, *truth["tags"][1:]]}
    with pytest.raises(OracleError, match=r"tags\.name: name is int 7"):
        differences(loaded.warehouse, odd, tables=["tags"])
