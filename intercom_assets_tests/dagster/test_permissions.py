"""A token whose app lacks a permission: the streams it covers fail, each naming itself, the
request Intercom refused and the permission to give, once (no retry); every other stream
loads.

Intercom is the sandbox with that permission withheld (`Sandbox(permissions=...)`), answering
403 `forbidden` as Intercom's 2.16 description does, or 401 as some clients report.
"""

from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from intercom_assets.definitions import build_definitions
from intercom_assets.resources import IntercomResource, WarehouseResource
from intercom_assets.sandbox import ALL_PERMISSIONS, Sandbox
from intercom_assets.settings import PartitionSettings
from intercom_assets.streams import STREAMS

from .conftest import SANDBOX_START, START_DATE, TIMEZONE

DAY = "2026-01-01"
FAILURE = "dagster._core.definitions.events.Failure: "


def events_of(result: dg.ExecuteInProcessResult, kind: dg.DagsterEventType) -> list[Any]:
    return [e for e in result.all_events if e.event_type == kind]


@pytest.mark.parametrize(
    ("withheld", "status", "refused", "skipped"),
    [
        (
            "Read tickets",
            403,
            {  # stream: the refused request, the streams left out with it
                "ticket_states": ("GET /ticket_states", {"ticket_states", "ticket_types"}),
                "tickets": ("POST /tickets/search", {"tickets", "ticket_parts"}),
            },
            # downstream of a failed step: not run
            {"ticket_types", "ticket_parts"},
        ),
        ("Read events", 401, {"events": ("GET /events", {"events"})}, set()),
    ],
)
def test_a_stream_the_token_may_not_read_names_the_permission_to_give(
    tmp_path: Path,
    withheld: str,
    status: int,
    refused: dict[str, tuple[str, set[str]]],
    skipped: set[str],
) -> None:
    sb = Sandbox(
        size="tiny",
        seed=3,
        timezone=TIMEZONE,
        start=SANDBOX_START,
        permissions=ALL_PERMISSIONS - {withheld},
        permission_status=status,
    )
    with sb.serve(port=0) as url, dg.instance_for_test() as instance:
        resources: dict[str, Any] = {
            "intercom": IntercomResource(access_token=sb.token, base_url=url),
            "warehouse": WarehouseResource(url=f"duckdb:///{tmp_path / 'w.duckdb'}"),
        }
        defs = build_definitions(
            PartitionSettings(START_DATE, TIMEZONE),
            resources,
            retry_policy=dg.RetryPolicy(max_retries=3, delay=0.1),
        )
        result = dg.materialize(
            list(defs.assets or []),
            partition_key=DAY,
            resources=resources,
            instance=instance,
            raise_on_error=False,
        )
        calls = sb.request_counts()
    assert not result.success
    assert not events_of(result, dg.DagsterEventType.STEP_UP_FOR_RETRY)
    failures = {
        e.step_key.removeprefix("intercom__"): e.event_specific_data.error.message.strip()
        for e in events_of(result, dg.DagsterEventType.STEP_FAILURE)
    }
    assert set(failures) == set(refused)
    for stream, (request, gone) in refused.items():
        # refused and never repeated: one request, or one per contact already in flight
        # when the stream fans out (events)
        in_flight = resources["intercom"].max_in_flight if stream == "events" else 1
        assert 1 <= calls[request] <= in_flight, calls
        kept = ", ".join(s.name for s in STREAMS if s.name not in gone)
        although = " although the token works for GET /me" if status == 401 else ""
        assert failures[stream].startswith(
            f"{FAILURE}the access token may not read {stream} (Intercom answered {status} on"
            f" {request}{although}): give the app the '{withheld}' permission, or leave the"
            f" stream out (streams: [{kept}]); not retried: {request} failed with HTTP {status}"
        ), failures[stream]
    succeeded = {
        e.step_key.removeprefix("intercom__")
        for e in events_of(result, dg.DagsterEventType.STEP_SUCCESS)
    }
    assert succeeded == {s.name for s in STREAMS} - set(refused) - skipped
