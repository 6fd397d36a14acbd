"""Adding a resource: one stream declaration here and one sandbox module per resource, loaded
end to end through the Dagster definitions, on a served sandbox, into a DuckDB file.

Three kinds, as docs/architecture.md describes them ("Adding a resource"): a snapshot
resource (`GADGETS`, sandbox module `gadgets.py`), a windowed resource searched by
`updated_at` (`WIDGETS`, `widgets.py`) and a child resource listed per parent
(`WIDGET_NOTES`, `widget_notes.py`). Nothing in `intercom_assets` changes for them.
"""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from intercom_assets.api import SearchSemantics
from intercom_assets.assets import asset_key
from intercom_assets.definitions import build_definitions
from intercom_assets.resources import IntercomResource, WarehouseResource
from intercom_assets.sandbox import DEFAULT_RESOURCES, Sandbox
from intercom_assets.settings import PartitionSettings
from intercom_assets.streams import STREAMS, SearchStream
from intercom_assets.streams.children import ChildTable, listed_per_parent
from intercom_assets.streams.shape import INT, TIMESTAMP, Shape, field
from intercom_assets.streams.snapshot import Listing, snapshot
from intercom_assets.warehouse import connect
from intercom_assets_tests.gadgets import Gadgets
from intercom_assets_tests.widget_notes import WidgetNotes
from intercom_assets_tests.widgets import DAY, WidgetChurn, Widgets

GADGETS = snapshot(
    Shape("gadgets", (field("id", nullable=False), field("type"), field("name"), field("color"))),
    "Toy gadgets, full snapshot",
    Listing("/gadgets"),
)
"""The whole loader side of the toy snapshot resource."""

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
"""The whole loader side of the toy windowed resource."""

WIDGET_NOTES = listed_per_parent(
    name="widget_notes",
    description="Notes of every live widget",
    table=ChildTable.of(
        "widget_notes",
        "widget_id",
        (
            field("id", nullable=False),
            field("widget_id", nullable=False),
            field("type"),
            field("body"),
            field("created_at", TIMESTAMP),
        ),
    ),
    parent=WIDGETS.tables[0],
    path="/widgets/{id}/notes",
    todo=lambda run: sorted(run.warehouse.live_ids("widgets").to_list()),
    deps=("widgets",),
)
"""The whole loader side of the toy child resource."""

TOYS = [GADGETS, WIDGETS, WIDGET_NOTES]


def stored(url: str, table: str, columns: str, live: bool = True) -> list[tuple[Any, ...]]:
    where = " WHERE _deleted_at IS NULL" if live else ""
    with connect(url, schema="intercom") as wh:
        frame = wh.query(f'SELECT {columns} FROM "intercom"."{table}"{where} ORDER BY id')
    return [tuple(row) for row in frame.iter_rows()]


def ts(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def check_stored(url: str, sb: Sandbox) -> None:
    """Every toy table holds what the sandbox holds."""
    truth = sb.truth()
    assert stored(url, "widgets", "id, type, name, size, created_at, updated_at") == sorted(
        (w["id"], w["type"], w["name"], w["size"], ts(w["created_at"]), ts(w["updated_at"]))
        for w in truth["widgets"]
    )
    assert stored(url, "gadgets", "id, type, name, color") == sorted(
        (g["id"], g["type"], g["name"], g["color"]) for g in truth["gadgets"]
    )
    notes = [n for listed in truth["widget_notes"].values() for n in listed]
    assert notes, "the sandbox generated no widget notes"
    assert stored(url, "widget_notes", "id, widget_id, body, created_at", live=False) == sorted(
        (n["id"], n["widget_id"], n["body"], ts(n["created_at"])) for n in notes
    )


def test_declared_resources_load_end_to_end(tmp_path: Path) -> None:
    sb = Sandbox(
        size="tiny",
        seed=5,
        resources=[*DEFAULT_RESOURCES, Widgets, WidgetNotes, Gadgets],
        churn=WidgetChurn(),
    )
    url = f"duckdb:///{tmp_path / 'toy.duckdb'}"
    with sb.serve(port=0) as served, dg.DagsterInstance.ephemeral() as instance:
        resources = {
            "intercom": IntercomResource(access_token=sb.token, base_url=served),
            "warehouse": WarehouseResource(url=url, schema_name="intercom"),
        }
        defs = build_definitions(
            PartitionSettings("2025-12-31", "UTC"), resources, streams=[*STREAMS, *TOYS]
        )
        assets = {k: a for a in defs.assets or [] for k in a.keys}
        widget_asset = assets[asset_key("widgets")]
        others = [assets[asset_key("gadgets")], assets[asset_key("widget_notes")]]
        assert asset_key("widgets") in assets[asset_key("widget_notes")].asset_deps[
            asset_key("widget_notes")
        ]
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
        assert dg.materialize(others, resources=resources, instance=instance).success
        check_stored(url, sb)

        changed = sb.advance(days=1)
        for kind in ("widgets_updated", "gadgets_created", "gadgets_deleted", "widget_notes_added"):
            assert changed.counts.get(kind, 0) > 0, kind
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
        assert dg.materialize(others, resources=resources, instance=instance).success
    check_stored(url, sb)
