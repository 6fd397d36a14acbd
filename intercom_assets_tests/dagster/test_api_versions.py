"""API versions as Intercom names them (`Preview`, formerly `Unstable`) and the workspace's
region: `GET /me` names where the workspace is hosted, and a loader calling another region
says so in one line (a warning in the run's log, a line of `intercom-assets load`)."""

import logging
from pathlib import Path

import dagster as dg
import pytest

from intercom_assets.api import IntercomClient, Workspace
from intercom_assets.definitions import build_definitions
from intercom_assets.load import preflight
from intercom_assets.resources import IntercomResource, WarehouseResource
from intercom_assets.sandbox import Sandbox
from intercom_assets.settings import API_VERSION_SETTING, SETTINGS, PartitionSettings, SettingError
from intercom_assets_tests.dagster.conftest import Pipeline

REGION_WARNING = "the workspace is hosted in Europe (EU) but INTERCOM_REGION is US"


def test_preview_is_accepted_and_sent() -> None:
    sb = Sandbox(size="tiny", seed=1)
    assert API_VERSION_SETTING.check("Preview") == "Preview"
    intercom = IntercomResource(access_token=sb.token, base_url=sb.base_url, api_version="Preview")
    client = intercom.new_client(transport=sb.transport())
    try:
        assert client.api_version == "Preview"
        assert client.me().app_id  # the sandbox, like Intercom, answers Preview
    finally:
        client.close()


def test_unstable_is_read_as_preview_with_a_one_line_note(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="intercom_assets.settings"):
        assert API_VERSION_SETTING.check("Unstable") == "Preview"
    (note,) = [r.getMessage() for r in caplog.records]
    assert "Unstable" in note and "Preview" in note and "\n" not in note
    with pytest.raises(SettingError, match=r"2\.14, 2\.15, 2\.16 or Preview"):
        API_VERSION_SETTING.check("preview-2026")


def warnings_of(p: Pipeline, result: dg.ExecuteInProcessResult) -> list[str]:
    logs = p.instance.all_logs(result.run_id)
    return [e.user_message for e in logs if e.level == logging.WARNING]


def test_a_workspace_in_another_region_is_a_warning_in_the_run(
    pipeline_with: "dg.Definitions",
) -> None:
    p: Pipeline = pipeline_with(region="Europe")  # type: ignore[operator]
    result = p.materialize(p.day(), streams=["conversations"])
    assert result.success
    assert [w for w in warnings_of(p, result) if REGION_WARNING in w]


def test_a_workspace_in_the_region_called_warns_nothing(pipeline_with: "dg.Definitions") -> None:
    p: Pipeline = pipeline_with()  # type: ignore[operator]
    result = p.materialize(p.day(), streams=["conversations"])
    assert result.success
    assert not [w for w in warnings_of(p, result) if "hosted in" in w]


def test_the_load_command_prints_the_region_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for setting in SETTINGS:
        monkeypatch.delenv(setting.variable, raising=False)
    sb = Sandbox(size="tiny", seed=1, region="Europe")
    lines: list[str] = []
    with sb.serve(port=0) as url:
        monkeypatch.setenv("INTERCOM_ACCESS_TOKEN", sb.token)
        monkeypatch.setenv("INTERCOM_BASE_URL", url)
        monkeypatch.setenv("INTERCOM_ASSETS_DATABASE_URL", f"duckdb:///{tmp_path}/w.duckdb")
        monkeypatch.setenv("INTERCOM_ASSETS_START_DATE", "2025-12-01")
        preflight("2025-12-01", "2025-12-01", echo=lines.append)
        monkeypatch.setenv("INTERCOM_REGION", "EU")
        preflight("2025-12-01", "2025-12-01", echo=lines.append)
    warnings = [line for line in lines if not line.startswith("connecting to Intercom")]
    assert warnings == [f"warning: {REGION_WARNING} (calling {url}): set INTERCOM_REGION=EU"]


@pytest.mark.parametrize(
    ("base_url", "region", "hosted", "mismatch"),
    [
        ("https://api.eu.intercom.io", "US", "Europe", None),  # the host wins over the region
        ("https://api.eu.intercom.io", "EU", "US", ("US", "EU")),
        (None, "AU", "Australia", None),
        (None, "US", "Europe", ("EU", "US")),
        ("http://127.0.0.1:1", "US", "EU", ("EU", "US")),  # another host: the region setting
        (None, "US", "Atlantis", None),  # a region the loader does not know: nothing to say
    ],
)
def test_the_region_called_is_the_hosts_else_the_setting(
    base_url: str | None, region: str, hosted: str, mismatch: tuple[str, str] | None
) -> None:
    with IntercomClient("t", region=region, base_url=base_url) as client:
        workspace = Workspace(app_id="a", name="w", region=hosted, timezone=None, raw={})
        assert client.region_mismatch(workspace) == mismatch


def test_what_214_leaves_empty_is_said_where_a_user_looks(tmp_path: Path) -> None:
    """The company_notes asset's description, and the line the demo prints under its summary."""
    from intercom_assets.streams.versions import empty_note

    resources = {
        "intercom": IntercomResource(access_token="token"),
        "warehouse": WarehouseResource(url=f"duckdb:///{tmp_path / 'w.duckdb'}"),
    }
    defs = build_definitions(PartitionSettings("2025-12-31", "UTC"), resources)
    graph = defs.resolve_asset_graph()
    description = graph.get(dg.AssetKey(["intercom", "company_notes"])).description or ""
    assert "on 2.14 the table stays empty" in description
    note = empty_note("2.14") or ""
    assert "company_notes and deleted_conversations stay empty" in note and "2.16" in note
    assert empty_note("2.15") and empty_note("2.16") is None and empty_note("Preview") is None
