"""The companies stream completes on the bench workspace's 5,000 companies under connection
resets and under server errors, and equals the truth, on both backends.

The sandbox is built from the resources companies need (admins, tags, segments, companies):
the bench size's companies without its 100,000 contacts, so the test takes seconds.
"""


import pytest

from intercom_assets.api import IntercomClient, RetryPolicy
from intercom_assets.sandbox import FaultConfig
from intercom_assets.sandbox.resources import Admins, Companies, Segments, Tags
from intercom_assets.warehouse import Warehouse
from intercom_assets_tests.oracle import assert_matches_truth
from intercom_assets_tests.streams.conftest import make_harness


@pytest.mark.parametrize(
    "faults",
    [FaultConfig(seed=7, reset_rate=0.05), FaultConfig(seed=7, error_rate=0.1)],
    ids=["reset_rate 0.05", "error_rate 0.1"],
)
def test_companies_complete_under_faults(any_warehouse: Warehouse, faults: FaultConfig) -> None:
    h = make_harness(any_warehouse, size="bench", resources=[Admins, Tags, Segments, Companies])
    truth = h.sb.truth()
    assert len(truth["companies"]) == 5_000
    h.sb.set_faults(faults)
    retry = RetryPolicy(max_attempts=5, max_total_seconds=30, base_delay=0.01, max_delay=0.05)
    with IntercomClient(
        h.sb.token, base_url=h.sb.base_url, transport=h.sb.transport(), retry=retry
    ) as client:
        report = h.run("companies", client=client)
    h.sb.set_faults(FaultConfig())
    assert report.tables["companies"].inserted == 5_000
    assert_matches_truth(any_warehouse, truth, streams=("companies",))
