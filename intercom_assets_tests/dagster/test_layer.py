"""The Dagster layer's shape: asset specs, partitions, windows and settings."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from intercom_assets.assets import POOL, STREAM_METADATA, asset_key, build_assets
from intercom_assets.keys import table_key
from intercom_assets.partitions import daily_partitions, stream_window
from intercom_assets.settings import (
    PartitionSettings,
)
from intercom_assets.streams import STREAMS

SETTINGS = PartitionSettings("2026-03-01", "Europe/Berlin")


def test_one_asset_per_table_in_one_step_per_stream() -> None:
    partitions = daily_partitions(SETTINGS)
    assets = build_assets(partitions)
    assert len(assets) == len(STREAMS)
    for stream, asset in zip(STREAMS, assets, strict=True):
        assert asset.op.name == f"intercom__{stream.name}"
        assert set(asset.keys) == {table_key(t.name) for t in stream.tables}
        specs = {spec.key: spec for spec in asset.specs}
        # Partitioned where a day's window selects what a run reads; the snapshots, the
        # company scroll and the streams that follow their own cursors read what Intercom
        # holds now, whatever the day: unpartitioned.
        assert asset.partitions_def == (partitions if stream.windowed else None)
        assert asset.backfill_policy == dg.BackfillPolicy.single_run()
        assert asset.op.pool == POOL
        for table in stream.tables:
            spec = specs[table_key(table.name)]
            assert spec.group_name == "intercom"
            assert "intercom" in spec.kinds
            assert spec.metadata[STREAM_METADATA] == stream.name
            schema = spec.metadata["dagster/column_schema"]
            names = [c.name for c in schema.columns]
            assert names[: len(table.columns)] == list(table.column_names)
            for key in table.primary_key:
                column = next(c for c in schema.columns if c.name == key)
                assert not column.constraints.nullable
        entity = specs[asset_key(stream.name)]
        assert entity.description == stream.description
        assert {d.asset_key for d in entity.deps} == {asset_key(d) for d in stream.deps}


def test_lineage_follows_the_data() -> None:
    """A link table comes after its entity table and the table its other key points to;
    a partitioned link table follows another stream's partitioned table through its entity
    (`conversation_contacts` after `conversations`, which follows `contacts`)."""
    specs = {
        spec.key.path[-1]: {d.asset_key.path[-1] for d in spec.deps}
        for asset in build_assets(daily_partitions(SETTINGS))
        for spec in asset.specs
    }
    assert specs["contact_tags"] == {"contacts", "tags"}
    assert specs["contact_companies"] == {"contacts", "companies"}
    assert specs["contact_merges"] == {"contacts"}
    assert specs["team_admins"] == {"teams", "admins"}
    assert specs["company_segments"] == {"companies", "segments"}
    assert specs["conversation_contacts"] == {"conversations"}
    assert specs["conversations"] == {"contacts"}
    assert specs["ticket_contacts"] == {"tickets"}
    assert specs["conversation_tags"] == {"conversations", "tags"}
    assert specs["conversation_part_loads"] == {"conversation_parts"}
    assert specs["events"] == {"contacts"}


def test_partitions_run_through_today_in_the_workspace_zone() -> None:
    partitions = daily_partitions(SETTINGS)
    berlin = ZoneInfo("Europe/Berlin")
    now = datetime(2026, 3, 10, 23, 30, tzinfo=berlin)  # 22:30 UTC: already the 10th here
    with dg.partition_loading_context(effective_dt=now):
        assert partitions.get_first_partition_key() == "2026-03-01"
        assert partitions.get_last_partition_key() == "2026-03-10"
    window = partitions.time_window_for_partition_key("2026-03-05")
    assert window.start == datetime(2026, 3, 5, tzinfo=berlin)


def test_the_first_partition_covers_everything_before_it() -> None:
    partitions = daily_partitions(SETTINGS)
    first = partitions.time_window_for_partition_key("2026-03-01")
    later = partitions.time_window_for_partition_key("2026-03-02")
    assert stream_window(partitions, first.start, later.end).start is None
    window = stream_window(partitions, later.start, later.end)
    assert window.start == later.start
    assert window.end - window.start == timedelta(days=1)
