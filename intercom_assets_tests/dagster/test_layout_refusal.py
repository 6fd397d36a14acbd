"""A stream step on a warehouse written by another layout fails once, without a retry, with
the warehouse's one-line message, and writes nothing."""

from pathlib import Path

import dagster as dg

from intercom_assets.definitions import build_definitions
from intercom_assets.resources import IntercomResource, WarehouseResource
from intercom_assets.sandbox import Sandbox
from intercom_assets.settings import PartitionSettings
from intercom_assets.warehouse import Warehouse, connect
from intercom_assets.warehouse.sql import table_name
from intercom_assets_tests.dagster.conftest import SANDBOX_START, START_DATE, TIMEZONE
from intercom_assets_tests.dagster.test_retries import events_of


def stored(wh: Warehouse) -> tuple[list[str], list[tuple[object, ...]]]:
    """The schema's tables and its layout row."""
    tables = wh.query(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_catalog = current_database() AND table_schema = %s ORDER BY 1",
        (wh.schema,),
    )
    layout = table_name(wh.schema, "_layout", wh.backend.catalog)
    return tables.get_column("table_name").to_list(), wh.query(f"SELECT * FROM {layout}").rows()


def test_a_warehouse_of_an_older_layout_fails_the_step_once(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    with connect(url) as wh:  # the resource's default schema
        wh.migrate([])
        layout = table_name(wh.schema, "_layout", wh.backend.catalog)
        with wh.backend.session() as s:
            s.execute(f'UPDATE {layout} SET "version" = "version" - 1')
        schema, before = wh.schema, stored(wh)
    sb = Sandbox(size="tiny", seed=3, timezone=TIMEZONE, start=SANDBOX_START)
    with sb.serve(port=0) as served, dg.instance_for_test() as instance:
        resources = {
            "intercom": IntercomResource(access_token=sb.token, base_url=served),
            "warehouse": WarehouseResource(url=url),
        }
        defs = build_definitions(
            PartitionSettings(START_DATE, TIMEZONE),
            resources,
            retry_policy=dg.RetryPolicy(max_retries=3, delay=0.1),
        )
        result = dg.materialize(
            list(defs.assets or []),
            selection=[dg.AssetKey(["intercom", "tags"])],
            resources=resources,
            instance=instance,
            raise_on_error=False,
        )
    assert not result.success
    assert len(events_of(result, dg.DagsterEventType.STEP_START)) == 1
    assert not events_of(result, dg.DagsterEventType.STEP_UP_FOR_RETRY)
    [failure] = events_of(result, dg.DagsterEventType.STEP_FAILURE)
    message = failure.event_specific_data.error.message
    assert f"schema {schema!r}: this warehouse was written by an older layout" in message
    assert "reload into a new schema" in message
    with connect(url) as wh:
        assert stored(wh) == before
