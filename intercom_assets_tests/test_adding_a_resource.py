"""Adding a resource: one stream declaration here, one sandbox module (`widgets.py`), loaded
end to end through the Dagster definitions, on a served sandbox, into a DuckDB file.

This is the recipe docs/architecture.md describes ("Adding a resource"): nothing in
`intercom_assets` changes for it.
"""

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import polars as pl

from intercom_assets.api import SearchSemantics
from intercom_assets.assets import asset_key
from intercom_assets.definitions import build_definitions
from intercom_assets.resources import IntercomResource, WarehouseResource
from intercom_assets.sandbox import DEFAULT_RESOURCES, Sandbox
from intercom_assets.settings import PartitionSettings
from intercom_assets.streams import STREAMS, SearchStream
from intercom_assets.streams.shape import INT, TIMESTAMP, Shape, field
from intercom_assets.warehouse import connect
from intercom_assets_tests.widgets import DAY, WidgetChurn, Widgets

WIDGETS = SearchStream(
    name="widgets",
    description="Toy widgets by updated_at window",
    shape=Shape(
        "widgets",
        (
            field("id", nullable=False),
            field("type"),
            field("name"),
            field("size", INT),
            field("created_at", TIMESTAMP),
            field("updated_at", TIMESTAMP),
        ),
    ),
    search=SearchSemantics("/widgets/search", "second"),
)
"""The whole loader side of the toy resource."""


def stored_widgets(url: str) -> list[tuple]:
    with connect(url, schema="intercom") as wh:
        frame = wh.query(
            'SELECT id, type, name, size, created_at, updated_at FROM "intercom"."widgets"'
            " WHERE _deleted_at IS NULL ORDER BY id"
        )
    return [tuple(row) for row in frame.iter_rows()]


def expected_widgets(sb: Sandbox) -> list[tuple]:
    def ts(seconds: int) -> datetime:
        return datetime.fromtimestamp(seconds, UTC)

    return sorted(
        (w["id"], w["type"], w["name"], w["size"], ts(w["created_at"]), ts(w["updated_at"]))
        for w in sb.truth()["widgets"]
    )


def test_a_declared_resource_loads_end_to_end(tmp_path: Path) -> None:
    sb = Sandbox(size="tiny", seed=5, resources=[*DEFAULT_RESOURCES, Widgets], churn=WidgetChurn())
    url = f"duckdb:///{tmp_path / 'toy.duckdb'}"
    with sb.serve(port=0) as served, dg.DagsterInstance.ephemeral() as instance:
        resources = {
            "intercom": IntercomResource(access_token=sb.token, base_url=served),
            "warehouse": WarehouseResource(url=url, schema_name="intercom"),
        }
        defs = build_definitions(
            PartitionSettings("2025-12-31", "UTC"), resources, streams=[*STREAMS, WIDGETS]
        )
        assert asset_key("widgets") in {k for a in defs.assets or [] for k in a.keys}
        widget_asset = next(a for a in defs.assets or [] if asset_key("widgets") in a.keys)
        first = dg.materialize(
            [widget_asset],
            resources=resources,
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": "2025-12-31",
                "dagster/asset_partition_range_end": "2026-01-01",
            },
        )
        assert first.success
        assert stored_widgets(url) == expected_widgets(sb)

        changed = sb.advance(days=1)
        assert changed.counts.get("widgets_updated", 0) > 0
        day = datetime.fromtimestamp(sb.now - DAY // 2, UTC).date().isoformat()
        second = dg.materialize(
            [widget_asset], resources=resources, instance=instance, partition_key=day
        )
        assert second.success
        metadata = second.asset_materializations_for_node("intercom__widgets")[0].metadata
        assert (
            metadata["updated"].value + metadata["inserted"].value
            == pl.Series([w["updated_at"] for w in sb.truth()["widgets"]])
            .is_between(sb.now - DAY, sb.now)
            .sum()
        )
    assert stored_widgets(url) == expected_widgets(sb)
