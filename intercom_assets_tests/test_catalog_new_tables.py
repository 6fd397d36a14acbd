"""The Dagster catalog lists the ticket tables and company notes.

The demo's summary lists them too: `test_demo.test_demo_records_two_runs_and_summarizes_every_table`
checks that each summary has a line for every table of every stream (these included), on the
same `intercom-assets demo` run."""

from pathlib import Path

from intercom_assets.definitions import build_definitions
from intercom_assets.resources import IntercomResource, WarehouseResource
from intercom_assets.settings import PartitionSettings
from intercom_assets.streams import STREAMS

NEW_TABLES = {
    "ticket_states": "ticket_states",
    "ticket_types": "ticket_types",
    "ticket_type_states": "ticket_types",
    "ticket_type_attributes": "ticket_types",
    "tickets": "tickets",
    "ticket_contacts": "tickets",
    "ticket_linked_objects": "tickets",
    "ticket_parts": "ticket_parts",
    "ticket_part_loads": "ticket_parts",
    "company_notes": "company_notes",
}
"""Each new table and the stream that writes it."""


def test_every_new_table_is_written_by_its_stream() -> None:
    written = {spec.name: stream.name for stream in STREAMS for spec in stream.tables}
    assert {t: written.get(t) for t in NEW_TABLES} == NEW_TABLES


def test_the_catalog_lists_every_new_table(tmp_path: Path) -> None:
    """An asset per table: every table a stream declares (the new ones among them) is an
    asset `intercom/<table>` of the code location, and there is no other asset."""
    resources = {
        "intercom": IntercomResource(access_token="token"),
        "warehouse": WarehouseResource(url=f"duckdb:///{tmp_path / 'w.duckdb'}"),
    }
    defs = build_definitions(PartitionSettings("2025-12-31", "UTC"), resources)
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    tables = {spec.name for stream in STREAMS for spec in stream.tables}
    assert set(NEW_TABLES) <= tables
    expected = {f"intercom/{table}" for table in tables}
    assert not expected - keys, f"not in the catalog: {sorted(expected - keys)}"
    assert not keys - expected, f"assets of no table: {sorted(keys - expected)}"
