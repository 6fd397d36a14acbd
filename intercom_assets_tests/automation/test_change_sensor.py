"""The change sensor against the sandbox on a loopback port: ticks, cursors, run requests."""

import json
import random
from dataclasses import fields, replace

import dagster as dg
import pytest

from intercom_assets.api import RetryPolicy
from intercom_assets.assets import asset_key
from intercom_assets.partitions import daily_partitions
from intercom_assets.resources import AlertWebhookResource
from intercom_assets.sandbox import Churn, FaultConfig
from intercom_assets.sensors import CHANGE_SENSOR, ProbeFailed, build_change_sensor
from intercom_assets.settings import PartitionSettings
from intercom_assets_tests.conftest import Receiver

from .conftest import TIMEZONE, Served

QUIET = Churn(**{f.name: 0.0 for f in fields(Churn)})
CONTACT_CHURN = replace(QUIET, contact_update=5.0)
CONVERSATION_CHURN = replace(QUIET, conversation_update=5.0)
SEARCHES = ("POST /contacts/search", "POST /conversations/search", "POST /tickets/search")


def sensor_partitions() -> dg.DailyPartitionsDefinition:
    return daily_partitions(PartitionSettings(start_date="2024-01-01", timezone=TIMEZONE))


@pytest.fixture
def partitions() -> dg.DailyPartitionsDefinition:
    return sensor_partitions()


@pytest.fixture
def sensor(partitions: dg.DailyPartitionsDefinition) -> dg.SensorDefinition:
    return build_change_sensor(partitions)


def tick(
    sensor: dg.SensorDefinition,
    instance: dg.DagsterInstance,
    served: Served,
    cursor: str | None,
    token: str | None = None,
    webhook: AlertWebhookResource | None = None,
) -> dg.SensorResult:
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources=resources(served, token, webhook)
    ) as context:
        result = sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def resources(
    served: Served, token: str | None = None, webhook: AlertWebhookResource | None = None
) -> dict[str, object]:
    """The sensor's resources: the sandbox's API, and a webhook (none: alerts are logged)."""
    return {"intercom": served.resource(token), "alert_webhook": webhook or AlertWebhookResource()}


def newest(served: Served, resource: str) -> int:
    return max(r["updated_at"] for r in served.sb.truth()[resource])


def searches(served: Served) -> dict[str, int]:
    counts = served.sb.request_counts()
    return {route: counts.get(route, 0) for route in SEARCHES}


def selection(request: dg.RunRequest) -> set[str]:
    return {key.path[-1] for key in request.asset_selection or []}


def test_first_tick_records_marks_then_idle_tick_skips(sensor, instance, served) -> None:
    first = tick(sensor, instance, served, None)
    assert not first.run_requests
    assert "recorded" in (first.skip_reason.skip_message if first.skip_reason else "")
    marks = json.loads(first.cursor or "")
    assert marks == {
        "contacts": newest(served, "contacts"),
        "conversations": newest(served, "conversations"),
        "tickets": newest(served, "tickets"),
    }

    before = searches(served)
    idle = tick(sensor, instance, served, first.cursor)
    assert not idle.run_requests
    assert idle.skip_reason is not None and "no change" in idle.skip_reason.skip_message
    assert idle.cursor == first.cursor
    after = searches(served)
    assert {r: after[r] - before[r] for r in SEARCHES} == dict.fromkeys(SEARCHES, 1)


def test_a_change_requests_one_run_of_today_with_the_changed_streams_and_descendants(
    sensor, instance, served, partitions
) -> None:
    cursor = tick(sensor, instance, served, None).cursor
    # An hour later: contacts change within the same workspace day as their mark.
    served.sb.advance(seconds=3600, churn=CONTACT_CHURN)
    changed = tick(sensor, instance, served, cursor)
    assert changed.run_requests is not None and len(changed.run_requests) == 1
    request = changed.run_requests[0]
    assert request.partition_key == partitions.get_last_partition_key()
    assert selection(request) == {
        "contacts",
        "contact_tags",
        "contact_companies",
        "contact_merges",
        "conversations",
        "conversation_tags",
        "conversation_contacts",
        "deleted_conversations",
        "conversation_parts",
        "conversation_part_loads",
        "events",
        "contact_notes",
        "contact_note_loads",
        "contact_segments",
        "tickets",
        "ticket_contacts",
        "ticket_linked_objects",
        "ticket_parts",
        "ticket_part_loads",
    }
    marks = json.loads(changed.cursor or "")
    assert marks["contacts"] == newest(served, "contacts") > json.loads(cursor or "")["contacts"]
    assert request.run_key and str(marks["contacts"]) in request.run_key

    served.sb.advance(seconds=600, churn=CONVERSATION_CHURN)
    again = tick(sensor, instance, served, changed.cursor)
    assert again.run_requests is not None and len(again.run_requests) == 1
    assert selection(again.run_requests[0]) == {
        "conversations",
        "conversation_tags",
        "conversation_contacts",
        "deleted_conversations",
        "conversation_parts",
        "conversation_part_loads",
    }
    assert again.run_requests[0].run_key != request.run_key
    assert asset_key("conversations") in (again.run_requests[0].asset_selection or [])


def failed_tick(
    sensor: dg.SensorDefinition,
    instance: dg.DagsterInstance,
    served: Served,
    cursor: str | None,
    token: str | None = None,
    webhook: AlertWebhookResource | None = None,
) -> tuple[str, str | None]:
    """A tick that must fail: its one-line message, and the cursor its context holds after."""
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources=resources(served, token, webhook)
    ) as context:
        with pytest.raises(ProbeFailed) as caught:
            sensor(context)
        return str(caught.value), context.cursor


def test_a_failing_probe_fails_the_tick_keeps_the_cursor_and_the_change_is_seen_later(
    partitions, instance, served
) -> None:
    quick = RetryPolicy(max_attempts=3, max_total_seconds=5, base_delay=0.01, max_delay=0.05)
    sensor = build_change_sensor(partitions, probe_retry=quick)
    cursor = tick(sensor, instance, served, None).cursor
    served.sb.advance(seconds=3600, churn=CONTACT_CHURN)
    served.sb.set_faults(FaultConfig(error_rate_by_route={"POST /contacts/search": 1.0}))
    message, kept = failed_tick(sensor, instance, served, cursor)
    assert kept == cursor
    assert "\n" not in message
    assert message.startswith("change probe failed, cursor kept: contacts: IntercomServerError")

    served.sb.set_faults(FaultConfig())
    recovered = tick(sensor, instance, served, cursor)
    assert recovered.run_requests is not None and len(recovered.run_requests) == 1
    assert "contacts" in selection(recovered.run_requests[0])


def test_a_wrong_token_fails_the_tick_keeps_the_cursor_and_never_shows_the_token(
    sensor, instance, served
) -> None:
    cursor = tick(sensor, instance, served, None).cursor
    served.sb.advance(seconds=3600, churn=CONTACT_CHURN)
    message, kept = failed_tick(sensor, instance, served, cursor, token="not-the-token-s3cret")
    assert kept == cursor
    assert "IntercomAuthError" in message and "s3cret" not in message
    assert "\n" not in message


def one_burst_seed(rate: float, quiet_after: int = 30) -> int:
    """A fault seed whose dice (`random.Random(seed)`, one draw per request outside a burst)
    start a burst on the first request and none on the next `quiet_after`."""
    for seed in range(100_000):
        rng = random.Random(seed)
        if rng.random() < rate and all(rng.random() >= rate for _ in range(quiet_after)):
            return seed
    raise AssertionError("no such seed")


def test_a_burst_of_three_429s_is_waited_out_within_the_tick(sensor, instance, served) -> None:
    cursor = tick(sensor, instance, served, None).cursor
    served.sb.advance(seconds=3600, churn=CONTACT_CHURN)
    rate = 0.05
    served.sb.set_faults(
        FaultConfig(seed=one_burst_seed(rate), burst_429_rate=rate, burst_429_length=3)
    )
    before = searches(served)
    result = tick(sensor, instance, served, cursor)
    after = searches(served)
    # the first probe got three 429s in a row, then its answer; the others one call each
    assert [after[r] - before[r] for r in SEARCHES] == [4, 1, 1]
    assert result.run_requests is not None and len(result.run_requests) == 1
    assert "contacts" in selection(result.run_requests[0])


def test_a_tick_that_still_fails_is_posted_to_the_alert_webhook(
    sensor, instance, served, receiver: Receiver
) -> None:
    cursor = tick(sensor, instance, served, None).cursor
    webhook = AlertWebhookResource(url=receiver.url, ui_base_url="http://localhost:3000")
    message, kept = failed_tick(
        sensor, instance, served, cursor, token="not-the-token-s3cret", webhook=webhook
    )
    assert kept == cursor
    (post,) = receiver.received
    (alert,) = post["alerts"]
    assert alert["kind"] == "sensor_failure" and alert["sensor"] == CHANGE_SENSOR
    assert alert["error"] == message and "IntercomAuthError" in message
    assert alert["url"] == "http://localhost:3000/automation"
    assert str(post["text"]).startswith(f"Intercom sensor tick failed: {CHANGE_SENSOR}")
    assert "s3cret" not in json.dumps(post)

    receiver.fail_next = 3  # the webhook is down too: the tick's error says so
    sensor = build_change_sensor(sensor_partitions(), retry_delay_seconds=0)
    message, _ = failed_tick(
        sensor, instance, served, cursor, token="not-the-token-s3cret", webhook=webhook
    )
    assert message.endswith("(alert not sent: HTTPStatusError: the webhook answered HTTP 500)")
    assert len(receiver.received) == 1
