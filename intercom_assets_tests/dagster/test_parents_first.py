"""A per-parent stream selected alone on a new warehouse (its parents' table not created yet)
fails at once, not retried, saying in one line which stream to load first; it never reports
success with nothing loaded. Through Dagster as a user runs it, and the stream itself, on
both backends."""


import dagster as dg
import pytest

from intercom_assets.streams import ParentsNotLoadedError
from intercom_assets.warehouse import Warehouse
from intercom_assets_tests.dagster.conftest import START_DATE, Pipeline
from intercom_assets_tests.streams.conftest import make_harness

CHILDREN = [
    ("conversation_parts", "conversations", "conversations"),
    ("events", "contacts", "contacts"),
    ("ticket_parts", "tickets", "tickets"),
]


def expected_message(stream: str, parents: str, table: str, schema: str) -> str:
    return (
        f"{stream} reads its {parents} from {schema}.{table}, which does not exist yet:"
        f" load {table} first (select intercom/{table} too)"
    )


@pytest.mark.parametrize(("stream", "parents", "table"), CHILDREN[:2])
def test_dagster_run_of_a_child_alone_fails_once_naming_the_stream_to_load_first(
    pipeline: Pipeline, stream: str, parents: str, table: str
) -> None:
    p = pipeline
    result = p.materialize(START_DATE, p.day(), streams=[stream], raise_on_error=False)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    data = failure.step_failure_data
    assert data is not None and data.user_failure_data is not None
    description = data.user_failure_data.description or ""
    assert description.endswith(expected_message(stream, parents, table, p.schema)), description
    assert description.count("\n") == 0, description
    retried = [
        e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY
    ]
    assert retried == []
    assert result.get_asset_materialization_events() == []



@pytest.mark.parametrize(("stream", "parents", "table"), CHILDREN)
def test_stream_run_of_a_child_alone_raises_naming_the_stream_to_load_first(
    any_warehouse: Warehouse, stream: str, parents: str, table: str
) -> None:
    h = make_harness(any_warehouse)
    with pytest.raises(ParentsNotLoadedError) as raised:
        h.run(stream)
    assert str(raised.value) == expected_message(stream, parents, table, any_warehouse.schema)
    # once the parents are loaded, the same run loads
    h.run(table)
    report = h.run(stream)
    assert report.fetched > 0 or report.total("inserted") > 0, report
