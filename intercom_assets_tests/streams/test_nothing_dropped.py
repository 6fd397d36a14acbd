"""A record the loader cannot place or read fails the run, naming the record; nothing is
dropped in silence, and such a failure is not retried by Dagster (a retry cannot heal it)."""

import dagster as dg
import pytest

from intercom_assets.api import IntercomWindowFieldError
from intercom_assets.assets import permanent_failure
from intercom_assets_tests.api.test_search_windows import AlterFirstSearchRecord
from intercom_assets_tests.streams.conftest import Harness, make_client


@pytest.mark.parametrize("stream", ["contacts", "conversations"])
def test_a_record_without_updated_at_fails_the_run_naming_it(harness: Harness, stream: str) -> None:
    transport = AlterFirstSearchRecord(harness.sb, "updated_at")
    with (
        make_client(harness.sb, transport) as client,
        pytest.raises(IntercomWindowFieldError) as failed,
    ):
        harness.run(stream, client=client)
    [record_id] = transport.altered[:1]
    message = str(failed.value)
    assert record_id in message and "updated_at" in message and "/search" in message
    assert harness.warehouse.count_live(stream) == 0  # nothing of that page written
    failure = permanent_failure(failed.value)
    assert isinstance(failure, dg.Failure) and not failure.allow_retries
    assert record_id in (failure.description or "")
