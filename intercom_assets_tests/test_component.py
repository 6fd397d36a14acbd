"""`IntercomAssetsComponent` loaded the way `dg` loads it: a `defs.yaml` in a dg project."""

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest

from intercom_assets.component import IntercomAssetsComponent
from intercom_assets.resources import IntercomResource, WarehouseResource
from intercom_assets.sandbox import Sandbox
from intercom_assets.schedules import DAILY_SCHEDULE
from intercom_assets.sensors import CHANGE_SENSOR
from intercom_assets.settings import SETTINGS
from intercom_assets.warehouse import connect
from intercom_assets_tests.oracle.compare import assert_matches_truth

REPO = Path(__file__).resolve().parents[1]
DG = Path(sys.executable).with_name("dg")
COMPONENT = "intercom_assets.component.IntercomAssetsComponent"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No project variable set (the component's attributes must do it all)."""
    for setting in SETTINGS:
        monkeypatch.delenv(setting.variable, raising=False)
    return monkeypatch


def dg_project(root: Path, attributes: str, package: str = "their_project") -> Path:
    """A minimal dg project at `root` whose defs folder holds one `defs.yaml` using the
    component with these attributes (YAML, indented under `attributes:`)."""
    (root / "pyproject.toml").write_text(
        textwrap.dedent(f"""\
            [project]
            name = "{package}"
            version = "0"

            [tool.dg]
            directory_type = "project"

            [tool.dg.project]
            root_module = "{package}"
            """)
    )
    defs = root / package / "defs" / "intercom"
    defs.mkdir(parents=True)
    (root / package / "__init__.py").write_text("")
    (root / package / "defs" / "__init__.py").write_text("")
    (root / package / "definitions.py").write_text(
        textwrap.dedent("""\
            from pathlib import Path

            import dagster as dg


            @dg.definitions
            def defs() -> dg.Definitions:
                return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
            """)
    )
    body = textwrap.indent(textwrap.dedent(attributes).strip(), "  ")
    (defs / "defs.yaml").write_text(f"type: {COMPONENT}\nattributes:\n{body}\n")
    return root


@pytest.fixture
def importable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """`tmp_path` on `sys.path` (the temp project's package), and its modules forgotten."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("their_project"):
            del sys.modules[name]


def run_dg(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTERCOM_", "DAGSTER_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(project), str(REPO)])
    env["PATH"] = os.pathsep.join([str(DG.parent), env.get("PATH", "")])
    return subprocess.run(
        [str(DG), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def with_causes(error: BaseException) -> str:
    """An error's text and its causes', as Dagster prints them."""
    parts: list[str] = []
    cause: BaseException | None = error
    while cause is not None:
        parts.append(str(cause))
        cause = cause.__cause__
    return "\n".join(parts)


def shown_in_ui(resource: object) -> dict[str, object]:
    """The configured values the UI shows for a resource (`{"env": NAME}` for an EnvVar)."""
    assert isinstance(resource, dg.ConfigurableResource)
    schema = resource.get_resource_definition().config_schema
    return json.loads(schema.default_value_as_json_str)


def test_defs_yaml_shapes_the_definitions_and_resources_read_their_variables(
    clean_env: pytest.MonkeyPatch, importable: Path
) -> None:
    clean_env.setenv("INTERCOM_ACCESS_TOKEN", "tok-s3cret")
    clean_env.setenv("INTERCOM_ASSETS_DATABASE_URL", "postgresql://loader:pw@db:5432/analytics")
    clean_env.setenv("INTERCOM_ASSETS_SCHEMA", "crm")
    clean_env.setenv("THEIR_INTERVAL", "60")
    project = dg_project(
        importable,
        """
        start_date: "2025-03-01"
        timezone: Europe/Berlin
        streams: [tags, admins, teams]
        change_sensor_interval_seconds: "{{ env.THEIR_INTERVAL }}"
        freshness_warn_hours: 2
        freshness_fail_hours: 3.5
        translation:
          group_name: crm
          tags:
            stream: "{{ stream }}"
        """,
    )
    defs = dg.load_from_defs_folder(path_within_project=project)
    dg.Definitions.validate_loadable(defs)

    # Only the chosen streams' assets, each under the `intercom` key prefix, in the group
    # the translation names, tagged with their stream.
    streams = {key.path[1] for key in defs.resolve_all_asset_keys()}
    assert {"tags", "admins", "teams"} <= streams
    assert not {"contacts", "conversations", "events", "companies"} & streams
    assert all(key.path[0] == "intercom" for key in defs.resolve_all_asset_keys())
    tags = defs.resolve_assets_def(dg.AssetKey(["intercom", "tags"]))
    assert tags.partitions_def is None  # a snapshot reads no window: unpartitioned
    spec = next(iter(tags.specs))
    assert (spec.group_name, spec.tags.get("stream")) == ("crm", "tags")
    assert spec.freshness_policy == dg.FreshnessPolicy.time_window(
        fail_window=timedelta(hours=3.5), warn_window=timedelta(hours=2)
    )
    assert defs.resolve_sensor_def(CHANGE_SENSOR).minimum_interval_seconds == 60
    assert defs.resolve_schedule_def(DAILY_SCHEDULE) is not None

    # The resources read the project's variables; the UI shows their names, never a value.
    intercom, warehouse = defs.resources["intercom"], defs.resources["warehouse"]
    assert shown_in_ui(intercom)["access_token"] == {"env": "INTERCOM_ACCESS_TOKEN"}
    assert shown_in_ui(warehouse)["url"] == {"env": "INTERCOM_ASSETS_DATABASE_URL"}
    assert shown_in_ui(warehouse)["schema_name"] == {"env": "INTERCOM_ASSETS_SCHEMA"}
    everything = json.dumps([shown_in_ui(r) for r in defs.resources.values()])
    assert "s3cret" not in everything and "pw@" not in everything


def test_a_run_of_the_components_definitions_loads_the_warehouse(
    clean_env: pytest.MonkeyPatch, importable: Path
) -> None:
    """The token is an `EnvVar`, read when the run starts: set after the load, it works."""
    sb = Sandbox(size="tiny", seed=3)
    database = importable / "their.duckdb"
    with sb.serve(port=0) as served:
        project = dg_project(
            importable,
            """
            start_date: "2026-01-01"
            streams: [tags, admins]
            """,
        )
        clean_env.setenv("INTERCOM_BASE_URL", served)
        clean_env.setenv("INTERCOM_ASSETS_DATABASE_URL", f"duckdb:///{database}")
        clean_env.setenv("INTERCOM_ASSETS_SCHEMA", "crm")
        defs = dg.load_from_defs_folder(path_within_project=project)
        clean_env.setenv("INTERCOM_ACCESS_TOKEN", sb.token)
        chosen = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]
        with dg.DagsterInstance.ephemeral() as instance:
            # snapshots only: unpartitioned, so the run names no partition
            result = dg.materialize(chosen, resources=defs.resources, instance=instance)
        assert result.success
    with connect(f"duckdb:///{database}", schema="crm") as warehouse:
        assert_matches_truth(warehouse, sb.truth(), ["tags", "admins"])
    materialized = {e.asset_key.path[1] for e in result.get_asset_materialization_events()}
    assert {"tags", "admins"} <= materialized
    assert not {"contacts", "conversations"} & materialized  # not chosen, not loaded


@pytest.mark.parametrize(
    ("attribute", "value", "message"),
    [
        ("timezone", "Mars/Olympus", "timezone must be an IANA time zone"),
        ("freshness_warn_hours", "soon", "freshness_warn_hours must be a number of hours"),
        ("start_date", "'01/03/2026'", "start_date must be a date like 2024-01-01"),
        ("streams", "[tags, chats]", "streams: unknown stream 'chats'; known streams: tags"),
    ],
)
def test_a_wrong_attribute_fails_the_load_naming_it(
    clean_env: pytest.MonkeyPatch, importable: Path, attribute: str, value: str, message: str
) -> None:
    project = dg_project(importable, f"{attribute}: {value}")
    with pytest.raises(Exception) as caught:  # Dagster wraps the SettingError
        dg.load_from_defs_folder(path_within_project=project)
    told = with_causes(caught.value)
    assert message in told
    assert "defs.yaml:3" in told  # where it is written


def test_a_wrong_rendered_variable_fails_the_load_naming_the_variable(
    clean_env: pytest.MonkeyPatch, importable: Path
) -> None:
    clean_env.setenv("THEIR_START", "March 1st")
    project = dg_project(importable, 'start_date: "{{ env.THEIR_START }}"')
    with pytest.raises(Exception) as caught:  # Dagster wraps the SettingError
        dg.load_from_defs_folder(path_within_project=project)
    assert "start_date ({{ env.THEIR_START }}) must be a date like 2024-01-01" in with_causes(
        caught.value
    )


@pytest.mark.parametrize(
    ("attribute", "variable"),
    [
        ("access_token", "INTERCOM_ACCESS_TOKEN"),
        ("region", "INTERCOM_REGION"),
        ("database_url", "INTERCOM_ASSETS_DATABASE_URL"),
        ("schema_name", "INTERCOM_ASSETS_SCHEMA"),
        ("alert_webhook_url", "INTERCOM_ASSETS_ALERT_WEBHOOK_URL"),
        ("events_recheck_days", "INTERCOM_ASSETS_EVENTS_RECHECK_DAYS"),
    ],
)
def test_a_former_attribute_says_which_variable_sets_it_now(
    clean_env: pytest.MonkeyPatch, importable: Path, attribute: str, variable: str
) -> None:
    project = dg_project(importable, f'{attribute}: "x"')
    with pytest.raises(Exception) as caught:
        dg.load_from_defs_folder(path_within_project=project)
    told = with_causes(caught.value)
    assert f"{attribute} is no attribute of the component any more: set {variable} (" in told
    assert "defs.yaml:3" in told


def test_a_subclass_builds_its_own_resources(clean_env: pytest.MonkeyPatch) -> None:
    """A host project that keeps the token under another name gives its own resources."""

    class TheirComponent(IntercomAssetsComponent):
        def build_resources(self) -> dict[str, object]:
            return {
                "intercom": IntercomResource(access_token=dg.EnvVar("THEIR_TOKEN")),
                "warehouse": WarehouseResource(schema_name="crm"),
            }

    defs = TheirComponent(streams=["tags"]).build_defs(None)  # type: ignore[arg-type]
    assert shown_in_ui(defs.resources["intercom"])["access_token"] == {"env": "THEIR_TOKEN"}


def test_dg_check_and_list_defs_load_a_project_using_the_component(tmp_path: Path) -> None:
    project = dg_project(
        tmp_path,
        """
        timezone: Australia/Sydney
        streams: [tags, segments, contacts]
        """,
    )
    checked = run_dg(project, "check", "defs")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "All definitions loaded successfully" in checked.stdout + checked.stderr

    listed = run_dg(project, "list", "defs", "--json")
    assert listed.returncode == 0, listed.stderr
    found = json.loads(listed.stdout)
    streams = {a["asset_key_parts"][1] for a in found["assets"]}
    assert {"tags", "segments", "contacts"} <= streams
    assert "conversations" not in streams
    assert {s["name"] for s in found["sensors"]} >= {CHANGE_SENSOR}
    assert {s["name"] for s in found["schedules"]} >= {DAILY_SCHEDULE}
    assert found["asset_checks"], "the streams' checks are defined too"

    (tmp_path / "broken").mkdir()
    broken = dg_project(tmp_path / "broken", "timezone: Mars/Olympus")
    failed = run_dg(broken, "check", "defs")
    assert failed.returncode != 0
    told = failed.stdout + failed.stderr
    assert "timezone must be an IANA time zone such as Europe/Berlin, got 'Mars/Olympus'" in told
