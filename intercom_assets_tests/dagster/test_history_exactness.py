"""History kept for contacts through days of churn (docs/warehouse.md, History): each
contact's version count equals the number of distinct states the truth had at the runs, and
"as of" each run's end answers the truth of that run (`exactness.HistoryScenario`).

The `demo` workspace under the sandbox's default churn (every kind of change, deletes,
archives and merges included), the history load and then one daily run a day; the daily run
sweeps contacts, so after every run the contacts table equals the truth and every state the
truth had at a run is one the warehouse wrote.
"""

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import dagster as dg
import pytest

from intercom_assets.sandbox import Sandbox
from intercom_assets_tests.dagster.conftest import SANDBOX_START, TIMEZONE, Pipeline, make_pipeline
from intercom_assets_tests.dagster.exactness import DEFAULT_CHURN, HistoryScenario

DAYS = 4
pytestmark = pytest.mark.slow


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def history_pipeline(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Pipeline]:
    if request.param == "duckdb":
        url, schema = f"duckdb:///{tmp_path / 'intercom.duckdb'}", "intercom"
    else:
        url = request.getfixturevalue("postgres_url")
        schema = request.getfixturevalue("postgres_schema")
    with ExitStack() as stack:
        sb = Sandbox(
            size="demo",
            seed=1,
            churn=DEFAULT_CHURN,
            timezone=TIMEZONE,
            start=SANDBOX_START,
            search_lag_seconds=0,
        )
        served = stack.enter_context(sb.serve(port=0))
        instance = stack.enter_context(dg.DagsterInstance.ephemeral())
        yield make_pipeline(url, schema, served, sb, instance, history="contacts")


def test_each_contact_has_one_version_per_state_the_truth_had_at_the_runs(
    history_pipeline: Pipeline,
) -> None:
    scenario = HistoryScenario(history_pipeline, DAYS)
    scenario.run()  # asserts after every run and at the end
    versions = scenario.trail.versions()
    assert sum(n > 1 for n in versions.values()) > 50, "the churn should change many contacts"
    states = {s for states in scenario.trail.states.values() for s in states}
    assert "<not live>" in states, "some contact should have been deleted, archived or merged"
