"""The daily schedule: which partition it asks for, and what its sweeps catch."""

from dataclasses import fields, replace
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from intercom_assets.definitions import build_definitions
from intercom_assets.partitions import daily_partitions
from intercom_assets.resources import WarehouseResource
from intercom_assets.sandbox import Churn
from intercom_assets.schedules import DAILY_JOB, DAILY_SCHEDULE
from intercom_assets.settings import PartitionSettings
from intercom_assets.warehouse import connect

from .conftest import TIMEZONE, Served

SETTINGS = PartitionSettings(start_date="2024-01-01", timezone=TIMEZONE)


def evaluate(defs: dg.Definitions, name: str, at: datetime) -> list[dg.RunRequest]:
    schedule = defs.resolve_schedule_def(name)
    with dg.build_schedule_context(
        scheduled_execution_time=at, repository_def=defs.get_repository_def()
    ) as context:
        return list(schedule.evaluate_tick(context).run_requests or [])


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        # 00:30 in New York is 05:30 UTC in winter and 04:30 UTC in summer.
        (datetime(2026, 1, 15, 5, 30, tzinfo=UTC), "2026-01-14"),
        (datetime(2026, 7, 15, 4, 30, tzinfo=UTC), "2026-07-14"),
        # The morning after the spring-forward night (a 23-hour day).
        (datetime(2026, 3, 9, 4, 30, tzinfo=UTC), "2026-03-08"),
    ],
)
def test_daily_schedule_asks_for_yesterday_in_the_workspace_zone(utc, expected) -> None:
    defs = build_definitions(SETTINGS)
    schedule = defs.resolve_schedule_def(DAILY_SCHEDULE)
    assert schedule.execution_timezone == TIMEZONE
    [request] = evaluate(defs, DAILY_SCHEDULE, utc)
    assert request.partition_key == expected
    assert expected in daily_partitions(SETTINGS).get_partition_keys(current_time=utc)
    job = defs.resolve_job_def(schedule.job_name)
    assert len(job.asset_layer.executable_asset_keys) == len(
        defs.resolve_asset_graph().get_all_asset_keys()
    )


def test_no_run_before_the_first_partition() -> None:
    defs = build_definitions(PartitionSettings(start_date="2026-01-15", timezone=TIMEZONE))
    with dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 1, 15, 5, 30, tzinfo=UTC),
        repository_def=defs.get_repository_def(),
    ) as context:
        result = defs.resolve_schedule_def(DAILY_SCHEDULE).evaluate_tick(context)
    assert not result.run_requests and result.skip_message


def test_the_daily_run_sweeps_what_a_window_cannot_see(served: Served, duckdb_path: Path) -> None:
    defs = build_definitions(
        SETTINGS,
        resources={
            "intercom": served.resource(),
            "warehouse": WarehouseResource(url=f"duckdb:///{duckdb_path}"),
        },
    )
    night = datetime(2026, 1, 4, 5, 30, tzinfo=UTC)  # 00:30 in New York
    [request] = evaluate(defs, DAILY_SCHEDULE, night)
    assert request.partition_key == "2026-01-03"
    job = defs.resolve_job_def(DAILY_JOB)
    with dg.instance_for_test() as instance:
        assert job.execute_in_process(instance=instance, partition_key="2026-01-03").success
        quiet = Churn(**{f.name: 0.0 for f in fields(Churn)})
        churn = replace(quiet, contact_delete=0.1, conversation_delete=0.1)
        log = served.sb.advance(days=1, churn=churn)
        deleted = log.ids["contacts_deleted"]
        deleted_conversations = log.ids["conversations_deleted"]
        assert deleted and deleted_conversations
        result = job.execute_in_process(instance=instance, partition_key="2026-01-03")
        assert result.success
    contacts = next(
        m.metadata for m in result.asset_materializations_for_node("intercom__contacts")
    )
    routes = contacts["requests_by_route"].value
    assert "POST /contacts/search" not in routes and routes.get("GET /contacts", 0) >= 1
    with connect(duckdb_path, schema="intercom") as wh:
        gone = wh.query("SELECT id FROM intercom.contacts WHERE _deleted_at IS NOT NULL")[
            "id"
        ].to_list()
        gone_conversations = wh.query(
            "SELECT id FROM intercom.conversations WHERE _deleted_at IS NOT NULL"
        )["id"].to_list()
    assert sorted(gone) == sorted(deleted)
    assert sorted(gone_conversations) == sorted(deleted_conversations)
