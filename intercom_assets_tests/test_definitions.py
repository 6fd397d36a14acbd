"""The code location and its configuration: one typed mechanism, read when Dagster loads it."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from click.testing import CliRunner

from intercom_assets.cli import main
from intercom_assets.component import IntercomAssetsComponent
from intercom_assets.definitions import (
    RANGE_RUN_ENVIRONMENT,
    build_definitions,
    defs,
    range_run_environment,
)
from intercom_assets.resources import (
    RESOURCES,
    AlertWebhookResource,
    IntercomResource,
    WarehouseResource,
    resources_from_env,
)
from intercom_assets.sensors import CHANGE_SENSOR
from intercom_assets.settings import SETTINGS, PartitionSettings, SettingError, setting_of

VARIABLES = [s.variable for s in SETTINGS]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No project variable set."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def shown_in_ui(resource: dg.ConfigurableResource) -> dict[str, object]:
    """The configured values the UI shows for a resource (`{"env": NAME}` for an EnvVar)."""
    schema = resource.get_resource_definition().config_schema
    return json.loads(schema.default_value_as_json_str)


def test_definitions_load_and_validate(clean_env: pytest.MonkeyPatch) -> None:
    loaded = defs()
    assert isinstance(loaded, dg.Definitions)
    dg.Definitions.validate_loadable(loaded)


@pytest.fixture
def no_range_switches(clean_env: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Dagster's range-run switches unset (and unset again after the test)."""
    for name in RANGE_RUN_ENVIRONMENT:
        clean_env.setenv(name, "")  # remembered, so the teardown restores what was there
        clean_env.delenv(name)
    return clean_env


def test_building_the_definitions_leaves_the_process_environment_alone(
    no_range_switches: pytest.MonkeyPatch,
) -> None:
    """A host project that loads the code location keeps Dagster's behaviour for its other
    assets: neither the code location nor `build_definitions` writes a variable."""
    before = dict(os.environ)
    defs()
    build_definitions(PartitionSettings())
    assert dict(os.environ) == before


def test_the_command_runs_with_the_range_run_switches_in_its_own_process(
    no_range_switches: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`intercom-assets` creates and executes its runs itself: its process has the switches
    (a value already set wins), and nothing writes the environment of the process that
    started it."""
    no_range_switches.setenv("DAGSTER_EVENT_BATCH_SIZE", "50")
    assert range_run_environment() == {"DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1"}
    # every Python process started here reports the switches it sees
    (tmp_path / "sitecustomize.py").write_text(
        "import os, sys\n"
        "print('switches', os.environ.get('DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS'),"
        " os.environ.get('DAGSTER_EVENT_BATCH_SIZE'), file=sys.stderr)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    code = "import sys; sys.argv[1:] = ['--version']; from intercom_assets import switches"
    code += "; switches.launch()"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "version" in done.stdout
    seen = [line for line in done.stderr.splitlines() if line.startswith("switches")]
    assert seen == ["switches None 50", "switches 1 50"]  # the launcher, then the command
    done = CliRunner().invoke(main, ["load", "--help"])
    assert done.exit_code == 0, done.output
    assert "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS" not in os.environ


def test_importing_reads_nothing_and_loading_names_a_bad_variable() -> None:
    """Wrong values everywhere: the import succeeds, loading fails on one line naming one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTERCOM_", "DAGSTER_"))}
    env |= {
        "INTERCOM_ASSETS_START_DATE": "01/03/2026",
        "INTERCOM_ASSETS_FRESHNESS_WARN_HOURS": "soon",
        "INTERCOM_REGION": "Mars",
    }
    code = (
        "import intercom_assets.definitions as m, intercom_assets.sensors, "
        "intercom_assets.schedules, intercom_assets.cli\n"
        "print('imported')\n"
        "m.defs()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip() == "imported"
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last == (
        "intercom_assets.settings.SettingError: start_date ({{ env.INTERCOM_ASSETS_START_DATE }})"
        " must be a date like 2024-01-01, got '01/03/2026'"
    )


def test_set_variables_are_env_vars_in_the_ui_and_unset_ones_their_defaults(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("INTERCOM_ACCESS_TOKEN", "tok-s3cret")
    clean_env.setenv("INTERCOM_REGION", "eu")
    clean_env.setenv("INTERCOM_ASSETS_DATABASE_URL", "postgresql://loader:pw@db:5432/analytics")
    clean_env.setenv("INTERCOM_ASSETS_ALERT_WEBHOOK_URL", "https://hooks.example.com/T0/B0/x")
    resources = resources_from_env()
    intercom, warehouse = resources["intercom"], resources["warehouse"]
    webhook = resources["alert_webhook"]
    assert shown_in_ui(intercom) == {
        "access_token": {"env": "INTERCOM_ACCESS_TOKEN"},
        "region": {"env": "INTERCOM_REGION"},
    }
    assert shown_in_ui(warehouse)["url"] == {"env": "INTERCOM_ASSETS_DATABASE_URL"}
    # unset ones keep the field's default, which the UI shows as the field's default
    fields = intercom.get_resource_definition().config_schema.config_type.fields
    assert fields["api_version"].default_value == "2.14"
    assert (intercom.events_recheck_days, intercom.allow_empty_listings) == (7, False)
    assert (warehouse.schema_name, warehouse.history) == ("intercom", None)
    assert shown_in_ui(webhook)["url"] == {"env": "INTERCOM_ASSETS_ALERT_WEBHOOK_URL"}
    everything = json.dumps([shown_in_ui(r) for r in resources.values()])
    assert "s3cret" not in everything and "pw@" not in everything and "hooks." not in everything

    # The loaded code location carries the same wiring and the load-time settings.
    clean_env.setenv("INTERCOM_ASSETS_CHANGE_SENSOR_INTERVAL_SECONDS", "45")
    clean_env.setenv("INTERCOM_ASSETS_FRESHNESS_WARN_HOURS", "2")
    clean_env.setenv("INTERCOM_ASSETS_FRESHNESS_FAIL_HOURS", "3.5")
    clean_env.setenv("INTERCOM_ASSETS_TIMEZONE", "Europe/Berlin")
    loaded = defs()
    assert loaded.resolve_sensor_def(CHANGE_SENSOR).minimum_interval_seconds == 45
    spec = next(iter(loaded.resolve_assets_def(dg.AssetKey(["intercom", "tags"])).specs))
    assert spec.freshness_policy == dg.FreshnessPolicy.time_window(
        fail_window=timedelta(hours=3.5), warn_window=timedelta(hours=2)
    )
    partitions = loaded.resolve_assets_def(dg.AssetKey(["intercom", "contacts"])).partitions_def
    assert isinstance(partitions, dg.DailyPartitionsDefinition)
    assert partitions.timezone == "Europe/Berlin"
    assert shown_in_ui(loaded.resources["intercom"])["region"] == {"env": "INTERCOM_REGION"}


def test_a_run_resolves_env_vars_when_it_starts(clean_env: pytest.MonkeyPatch) -> None:
    """Values come from the variables at run time, typed and checked by the resource."""
    clean_env.setenv("INTERCOM_REGION", "au")
    clean_env.setenv("INTERCOM_ASSETS_SCHEMA", "analytics")
    clean_env.setenv("INTERCOM_ASSETS_EVENTS_RECHECK_DAYS", "3")
    clean_env.setenv("INTERCOM_ASSETS_ALLOW_EMPTY_LISTINGS", "true")
    resources = resources_from_env()
    seen: dict[str, object] = {}
    assert shown_in_ui(resources["warehouse"])["schema_name"] == {"env": "INTERCOM_ASSETS_SCHEMA"}

    @dg.asset
    def probe(intercom: IntercomResource, warehouse: WarehouseResource) -> None:
        client = intercom.new_client()
        seen["base_url"] = str(client.base_url)
        seen["schema"] = warehouse.schema_name
        seen["typed"] = (intercom.events_recheck_days, intercom.allow_empty_listings)
        client.close()

    clean_env.setenv("INTERCOM_ACCESS_TOKEN", "tok")
    assert dg.materialize([probe], resources=resources).success
    assert seen == {
        "base_url": "https://api.au.intercom.io",
        "schema": "analytics",
        "typed": (3, True),
    }


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("INTERCOM_REGION", "Mars", "INTERCOM_REGION must be one of US, EU or AU, got 'Mars'"),
        ("INTERCOM_BASE_URL", "localhost:8000", "INTERCOM_BASE_URL must be an http(s) URL"),
        ("INTERCOM_API_VERSION", "latest", "INTERCOM_API_VERSION must be an Intercom API"),
        ("INTERCOM_ASSETS_SCHEMA", "my-schema", "INTERCOM_ASSETS_SCHEMA must be an SQL"),
        ("INTERCOM_ASSETS_START_DATE", "2026-02-30", "INTERCOM_ASSETS_START_DATE }}) must be a"),
        ("INTERCOM_ASSETS_TIMEZONE", "Mars/Olympus", "TIMEZONE }}) must be an IANA"),
        ("INTERCOM_ASSETS_CHANGE_SENSOR_INTERVAL_SECONDS", "5m", "whole number of seconds"),
        ("INTERCOM_ASSETS_FRESHNESS_FAIL_HOURS", "-1", "INTERCOM_ASSETS_FRESHNESS_FAIL_HOURS }})"),
        ("INTERCOM_ASSETS_FRESHNESS_WARN_HOURS", "40", "warn=40 fail=30"),
        ("INTERCOM_ASSETS_HISTORY", "contact", "INTERCOM_ASSETS_HISTORY must be all or comma-"),
        ("INTERCOM_ASSETS_HISTORY", "contact_tags", "got 'contact_tags'"),
    ],
)
def test_a_wrong_value_fails_the_load_in_one_line_naming_the_variable(
    clean_env: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    clean_env.setenv(name, value)
    with pytest.raises(SettingError) as caught:
        defs()
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("INTERCOM_ASSETS_DATABASE_URL", "mysql://loader:hunter2@db/analytics"),
        ("INTERCOM_ASSETS_ALERT_WEBHOOK_URL", "hooks.example.com/hunter2"),
    ],
)
def test_a_wrong_secret_is_named_but_never_shown(
    clean_env: pytest.MonkeyPatch, name: str, value: str
) -> None:
    clean_env.setenv(name, value)
    with pytest.raises(SettingError, match=name) as caught:
        defs()
    assert "hunter2" not in str(caught.value)


def test_resources_check_values_given_in_code_when_built() -> None:
    with pytest.raises(SettingError, match="INTERCOM_REGION must be one of US, EU or AU"):
        IntercomResource(access_token="t", region="moon")
    with pytest.raises(SettingError, match="INTERCOM_ASSETS_DATABASE_URL must be"):
        WarehouseResource(url="sqlite:///x.db")
    with pytest.raises(SettingError, match="INTERCOM_ASSETS_ALLOW_EMPTY_LISTINGS must be true"):
        IntercomResource(access_token="t", allow_empty_listings="yes")  # type: ignore[arg-type]
    assert IntercomResource(access_token="t", region="eu", api_version="Unstable").region == "EU"
    assert AlertWebhookResource().post({"text": "nothing to post to"}) is None


def test_history_names_entity_tables_or_all(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("INTERCOM_ASSETS_HISTORY", "contacts, companies")
    warehouse = resources_from_env()["warehouse"]
    assert shown_in_ui(warehouse)["history"] == {"env": "INTERCOM_ASSETS_HISTORY"}
    assert WarehouseResource(history="contacts, companies").history == "companies,contacts"
    assert WarehouseResource(history="ALL").history == "all"
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    with WarehouseResource(url=url, history="conversations").connect() as wh:
        assert wh.tables.history == frozenset({"conversations"})
    with WarehouseResource(url=url).connect() as wh:
        assert wh.tables.history == frozenset()


def test_blank_variables_count_as_unset(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("INTERCOM_BASE_URL", "  ")
    clean_env.setenv("INTERCOM_ASSETS_FRESHNESS_WARN_HOURS", "")
    assert "base_url" not in shown_in_ui(resources_from_env()["intercom"])
    tags = defs().resolve_assets_def(dg.AssetKey(["intercom", "tags"]))
    assert next(iter(tags.specs)).freshness_policy == dg.FreshnessPolicy.time_window(
        fail_window=timedelta(hours=30), warn_window=timedelta(hours=26)
    )


def configuration_table() -> str:
    """The configuration table in Markdown, from the fields that declare the settings: each
    field fed by a variable, of the resources ("run") and of the component ("load")."""
    lines = ["| variable | default | read | meaning |", "| --- | --- | --- | --- |"]
    models: list[tuple[type[Any], str]] = [(k, "run") for k in RESOURCES.values()]
    for model, read in [*models, (IntercomAssetsComponent, "load")]:
        for name, info in model.model_fields.items():
            setting = setting_of(model, name)
            if setting is None:
                continue
            value = info.default
            shown = f"`{value:g}`" if isinstance(value, float) else f"`{value}`"
            shown = "required" if info.is_required() else "" if value is None else shown
            lines.append(f"| `{setting.variable}` | {shown} | {read} | {setting.meaning} |")
    return "\n".join(lines)


def test_readme_lists_every_setting() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert configuration_table() in readme
