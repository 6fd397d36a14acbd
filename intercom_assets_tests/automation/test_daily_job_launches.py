"""The daily job sweeps however it is launched: `dagster job execute`, the UI (GraphQL's
`launchPipelineExecution`, what the launchpad and "Materialize" send) and the schedule.

Each test loads the warehouse once (so no run widens to the whole history), deletes contacts
and conversations in the sandbox, launches the daily job its way and checks that the sweep
ran: on API 2.14 only a sweep sees a deleted conversation (it vanishes from search), so every
deleted conversation and contact must be soft-deleted. The code location is the project's
own (`-m intercom_assets.definitions`), configured by the environment as in production.
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef
from dagster._core.test_utils import in_process_test_workspace
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceRequestContext
from dagster_graphql.client.query import LAUNCH_PIPELINE_EXECUTION_MUTATION
from dagster_graphql.test.utils import execute_dagster_graphql, infer_job_selector

from intercom_assets.assets import DAILY_MODE, MODE_TAG
from intercom_assets.definitions import build_definitions
from intercom_assets.resources import WarehouseResource
from intercom_assets.sandbox import Churn
from intercom_assets.schedules import DAILY_JOB, DAILY_SCHEDULE
from intercom_assets.settings import PartitionSettings
from intercom_assets.warehouse import connect

from .conftest import TIMEZONE, Served
from .test_schedules import evaluate

START_DATE = "2025-12-31"
DAY = "2026-01-03"
NIGHT = datetime(2026, 1, 4, 5, 30, tzinfo=UTC)
"""00:30 in New York after `DAY`: when the schedule asks for it."""
PARTITION = "dagster/partition"
MODULE = "intercom_assets.definitions"
SYNC_LAUNCHER = {
    "run_launcher": {
        "module": "dagster._core.launcher.sync_in_memory_run_launcher",
        "class": "SyncInMemoryRunLauncher",
    },
}
"""Runs a launched run in this process; the run itself (its config, its tags) is what the
webserver and the daemon create."""


@dataclass
class Deleted:
    contacts: list[str]
    conversations: list[str]


@pytest.fixture
def location(served: Served, duckdb_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The code location's environment, pointed at the sandbox and a DuckDB warehouse."""
    env = {
        "INTERCOM_ACCESS_TOKEN": served.sb.token,
        "INTERCOM_BASE_URL": served.url,
        "INTERCOM_ASSETS_DATABASE_URL": f"duckdb:///{duckdb_path}",
        "INTERCOM_ASSETS_START_DATE": START_DATE,
        "INTERCOM_ASSETS_TIMEZONE": TIMEZONE,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return duckdb_path


def load_then_delete(served: Served, duckdb_path: Path) -> Deleted:
    """Load `DAY` (the whole history: an empty warehouse widens to it), then delete contacts
    and conversations in the sandbox, nothing else."""
    defs = build_definitions(
        PartitionSettings(start_date=START_DATE, timezone=TIMEZONE),
        resources={
            "intercom": served.resource(),
            "warehouse": WarehouseResource(url=f"duckdb:///{duckdb_path}"),
        },
    )
    loaded = dg.materialize(list(defs.assets or []), partition_key=DAY, resources=defs.resources)
    assert loaded.success
    quiet = Churn(**{f.name: 0.0 for f in fields(Churn)})
    log = served.sb.advance(
        days=1, churn=replace(quiet, contact_delete=0.1, conversation_delete=0.1)
    )
    deleted = Deleted(log.ids["contacts_deleted"], log.ids["conversations_deleted"])
    assert deleted.contacts and deleted.conversations
    return deleted


def assert_swept(duckdb_path: Path, deleted: Deleted) -> None:
    with connect(duckdb_path, schema="intercom") as wh:
        gone = {
            table: sorted(
                wh.query(f"SELECT id FROM intercom.{table} WHERE _deleted_at IS NOT NULL")[
                    "id"
                ].to_list()
            )
            for table in ("contacts", "conversations")
        }
    assert gone == {
        "contacts": sorted(deleted.contacts),
        "conversations": sorted(deleted.conversations),
    }


def test_dagster_job_execute_sweeps(served: Served, location: Path, tmp_path: Path) -> None:
    deleted = load_then_delete(served, location)
    home = tmp_path / "dagster_home"
    home.mkdir()
    command = [str(Path(sys.executable).parent / "dagster"), "job", "execute", "-m", MODULE]
    command += ["-j", DAILY_JOB, "--tags", json.dumps({PARTITION: DAY})]
    done = subprocess.run(
        command,
        env={**os.environ, "DAGSTER_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        [run] = instance.get_runs()
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert run.run_config == {}  # the command sends no run config
    assert run.tags[MODE_TAG] == DAILY_MODE
    assert_swept(location, deleted)


SNAPSHOT_WARNING = (
    "ignore:Property `ScheduleDefinition.environment_vars` is deprecated:DeprecationWarning"
)
"""Dagster's own code-location snapshot reads this property of every schedule (the webserver
and the daemon ignore the warning the same way): not ours to set."""


@pytest.fixture
def ui(location: Path) -> Iterator[WorkspaceRequestContext]:
    """The webserver's GraphQL schema over the code location, in this process."""
    with dg.instance_for_test(overrides=SYNC_LAUNCHER) as instance:
        origin = LoadableTargetOrigin(module_name=MODULE, working_directory=os.getcwd())
        with in_process_test_workspace(instance, origin) as context:
            yield context


def launch(
    context: WorkspaceRequestContext, run_config: Mapping[str, Any], tags: Mapping[str, str]
) -> dg.DagsterRun:
    """`launchPipelineExecution` of the daily job, as the UI sends it, which queues the run;
    then what the daemon does with a queued run (`launch_run`). The finished run."""
    result = execute_dagster_graphql(
        context,
        LAUNCH_PIPELINE_EXECUTION_MUTATION,
        variables={
            "executionParams": {
                "selector": infer_job_selector(context, DAILY_JOB),
                "runConfigData": dict(run_config),
                "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
            }
        },
    )
    launched = result.data["launchPipelineExecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    context.instance.launch_run(run_id, context)
    run = context.instance.get_run_by_id(run_id)
    assert run is not None
    return run


@pytest.mark.filterwarnings(SNAPSHOT_WARNING)
def test_the_ui_launch_sweeps(served: Served, location: Path, ui: WorkspaceRequestContext) -> None:
    """The job's "Materialize" and the launchpad (its config left empty) send no run config."""
    deleted = load_then_delete(served, location)
    run = launch(ui, {}, {PARTITION: DAY})
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert run.run_config == {}
    assert_swept(location, deleted)


@pytest.mark.filterwarnings(SNAPSHOT_WARNING)
def test_the_scheduled_run_sweeps(
    served: Served, location: Path, ui: WorkspaceRequestContext
) -> None:
    """The schedule's request, launched as the daemon does: its config and tags, plus the
    job's own tags."""
    deleted = load_then_delete(served, location)
    defs = build_definitions(PartitionSettings(start_date=START_DATE, timezone=TIMEZONE))
    [request] = evaluate(defs, DAILY_SCHEDULE, NIGHT)
    assert request.partition_key == DAY
    assert request.tags.get("dagster/schedule_name") == DAILY_SCHEDULE
    run = launch(ui, request.run_config, request.tags)
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert_swept(location, deleted)
