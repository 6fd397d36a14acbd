"""The Dagster layer's shape: asset specs, partitions, windows and settings."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from intercom_assets.assets import POOL, asset_key, build_assets
from intercom_assets.partitions import daily_partitions, stream_window
from intercom_assets.settings import START_DATE_ENV, TIMEZONE_ENV, PartitionSettings
from intercom_assets.streams import STREAMS

SETTINGS = PartitionSettings("2026-03-01", "Europe/Berlin")


def test_one_asset_per_stream_with_its_deps_partitions_and_policy() -> None:
    partitions = daily_partitions(SETTINGS)
    assets = {a.key: a for a in build_assets(partitions)}
    assert set(assets) == {asset_key(s.name) for s in STREAMS}
    for stream in STREAMS:
        asset = assets[asset_key(stream.name)]
        spec = next(iter(asset.specs))
        assert spec.group_name == "intercom"
        assert {d.asset_key for d in spec.deps} == {asset_key(d) for d in stream.deps}
        assert asset.partitions_def == partitions
        assert asset.backfill_policy == dg.BackfillPolicy.single_run()
        assert asset.op.pool == POOL
        assert "intercom" in spec.kinds
        assert spec.description == stream.description
        schema = spec.metadata["dagster/column_schema"]
        entity = stream.tables[0]
        assert [c.name for c in schema.columns][: len(entity.columns)] == list(entity.column_names)
        key = next(c for c in schema.columns if c.name == entity.primary_key[0])
        assert not key.constraints.nullable


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


def test_settings_from_env_and_clear_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(START_DATE_ENV, raising=False)
    monkeypatch.setenv(TIMEZONE_ENV, "Australia/Sydney")
    settings = PartitionSettings.from_env()
    assert settings.timezone == "Australia/Sydney"
    assert settings.start_date == PartitionSettings().start_date
    monkeypatch.setenv(START_DATE_ENV, "01/03/2026")
    with pytest.raises(ValueError, match=START_DATE_ENV):
        PartitionSettings.from_env()
    monkeypatch.setenv(START_DATE_ENV, "2026-03-01")
    monkeypatch.setenv(TIMEZONE_ENV, "Mars/Olympus")
    with pytest.raises(ValueError, match=TIMEZONE_ENV):
        PartitionSettings.from_env()
