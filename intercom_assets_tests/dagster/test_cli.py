"""The Dagster CLI against the code location, configured only by environment variables."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from intercom_assets.sandbox import Sandbox
from intercom_assets.warehouse import connect
from intercom_assets_tests.dagster.conftest import E2E_CHURN, SANDBOX_START, START_DATE, TIMEZONE
from intercom_assets_tests.oracle import assert_matches_truth

DAGSTER = str(Path(sys.executable).with_name("dagster"))


def clean_env(home: Path) -> dict[str, str]:
    """The current environment without any project variable, with its own DAGSTER_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTERCOM_", "DAGSTER_"))}
    env["DAGSTER_HOME"] = str(home)
    return env


def test_definitions_validate_without_any_variable(tmp_path: Path) -> None:
    done = subprocess.run(
        [DAGSTER, "definitions", "validate", "-m", "intercom_assets.definitions"],
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def served_env(sb: Sandbox, url: str, home: Path, database: Path) -> dict[str, str]:
    """Only the variables a user sets: `sb` served at `url`, the instance at `home`, a DuckDB
    file at `database`, the scenario's partitions."""
    return clean_env(home) | {
        "INTERCOM_ACCESS_TOKEN": sb.token,
        "INTERCOM_BASE_URL": url,
        "INTERCOM_ASSETS_DATABASE_URL": f"duckdb:///{database}",
        "INTERCOM_ASSETS_START_DATE": START_DATE,
        "INTERCOM_ASSETS_TIMEZONE": TIMEZONE,
    }


def materialize_range(
    sb: Sandbox, tmp_path: Path, partition_range: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`dagster asset materialize` of every asset over `partition_range`, configured only by
    environment variables, against `sb` served on loopback, into a fresh DuckDB file."""
    database = tmp_path / "intercom.duckdb"
    home = tmp_path / "dagster_home"
    home.mkdir()
    with sb.serve(port=0) as url:
        env = served_env(sb, url, home, database)
        command = [DAGSTER, "asset", "materialize", "-m", "intercom_assets.definitions"]
        command += ["--select", "group:intercom", "--partition-range", partition_range]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    return done, database


@pytest.mark.slow
def test_asset_materialize_partition_range_against_a_served_sandbox(tmp_path: Path) -> None:
    sb = Sandbox(size="tiny", seed=3, timezone=TIMEZONE, start=SANDBOX_START, churn=E2E_CHURN)
    done, database = materialize_range(sb, tmp_path, f"{START_DATE}...2026-01-01")
    assert done.returncode == 0, done.stderr[-4000:]
    assert "RUN_SUCCESS" in done.stderr
    assert "Executing steps in process" in done.stderr  # the code location's default executor
    with connect(database, schema="intercom") as wh:
        assert_matches_truth(wh, sb.truth())


@pytest.mark.slow
def test_a_cli_range_that_misses_the_first_partition_still_loads_the_history(
    tmp_path: Path,
) -> None:
    """The natural first load that skips the first partition (the UI's "Last 90 days", here
    the same single-run range through the CLI) on an empty warehouse: the run widens the
    partitioned streams' windows to the beginning, so it never succeeds with a gap. Like the
    UI's range it ends with today's partition (the clock is 00:30 on 2026-01-03): the truth
    holds what changed since midnight too."""
    sb = Sandbox(size="tiny", seed=3, timezone=TIMEZONE, start=SANDBOX_START, churn=E2E_CHURN)
    sb.advance(days=2)
    done, database = materialize_range(sb, tmp_path, "2026-01-01...2026-01-03")
    assert done.returncode == 0, done.stderr[-4000:]
    assert "RUN_SUCCESS" in done.stderr
    assert "history not loaded yet; widening the window" in done.stderr
    with connect(database, schema="intercom") as wh:
        assert_matches_truth(wh, sb.truth())


@pytest.mark.slow
def test_intercom_assets_load_checks_then_loads_the_range_as_one_recorded_run(
    tmp_path: Path,
) -> None:
    sb = Sandbox(size="tiny", seed=3, timezone=TIMEZONE, start=SANDBOX_START, churn=E2E_CHURN)
    database = tmp_path / "intercom.duckdb"
    home = tmp_path / "dagster_home"
    home.mkdir()
    with sb.serve(port=0) as url:
        env = served_env(sb, url, home, database)
        command = [sys.executable, "-m", "intercom_assets.cli", "load"]
        command += ["--from", START_DATE, "--to", "2026-01-01"]
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path
        )
    assert done.returncode == 0, done.stdout + done.stderr[-4000:]
    assert f"loading partitions {START_DATE}...2026-01-01 in one run" in done.stdout
    assert "contacts: finished" in done.stdout and "succeeded" in done.stdout
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert len(runs) == 1 and runs[0].is_success
        assert runs[0].tags["dagster/asset_partition_range_end"] == "2026-01-01"
    with connect(database, schema="intercom") as wh:
        assert_matches_truth(wh, sb.truth())
