"""The fields later API versions add are typed columns, filled per version read: 2.15 adds a
conversation's `company` (`conversations.company_id`); 2.16 its `channel`, `external_references`,
`sales_agent_participated`, `sales_agent` and a ticket's `previous_ticket_state_id`. On a version
that does not send a field its column is null. Both backends."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from intercom_assets.sandbox import Churn
from intercom_assets.warehouse import Warehouse, connect
from intercom_assets_tests.oracle import assert_matches_truth
from intercom_assets_tests.streams.conftest import make_harness

STREAMS = ("admins", "conversations", "tickets")


@pytest.fixture(params=["duckdb", "postgres"])
def backend(request: pytest.FixtureRequest, duckdb_path: Path) -> Iterator[Warehouse]:
    if request.param == "duckdb":
        url, schema = str(duckdb_path), "intercom"
    else:
        url = request.getfixturevalue("postgres_url")
        schema = request.getfixturevalue("postgres_schema")
    with connect(url, schema=schema) as wh:
        yield wh


def column(wh: Warehouse, table: str, name: str) -> dict[str, Any]:
    rows = wh.query(f'SELECT id, "{name}" AS v FROM "{wh.schema}"."{table}"')
    return {r["id"]: r["v"] for r in rows.iter_rows(named=True)}


@pytest.mark.parametrize("version", ["2.14", "2.15", "2.16", "Preview"])
def test_each_version_fills_the_columns_of_the_fields_it_sends(
    backend: Warehouse, version: str
) -> None:
    h = make_harness(backend, api_version=version, seed=3)
    h.sb.advance(days=2, churn=Churn())
    for stream in STREAMS:
        h.run(stream)
    truth = h.sb.truth()
    assert_matches_truth(backend, {**truth, "api_version": version}, streams=STREAMS)

    companies = column(backend, "conversations", "company_id")
    channels = set(column(backend, "conversations", "channel_initial").values())
    previous = column(backend, "tickets", "previous_ticket_state_id")
    if version == "2.14":
        assert set(companies.values()) == {None} and channels == {None}
    else:  # typed, not only in _raw
        assert companies == truth["conversation_companies"]
        assert len(set(companies.values())) > 2
    if version in ("2.16", "Preview"):
        assert channels == {"messenger"}
        assert previous == truth["ticket_previous_state_ids"]
        assert len(set(previous.values())) > 1
    else:
        assert set(previous.values()) == {None} and channels <= {None}
    h.client.close()
