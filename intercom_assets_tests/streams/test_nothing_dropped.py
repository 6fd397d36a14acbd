"""A record the loader cannot place in a window is not dropped in silence: it is quarantined
in `_rejected`, named (record, field, error), while the rest of the window loads."""

import pytest

from intercom_assets.streams.sync import QUARANTINED
from intercom_assets_tests.api.test_search_windows import AlterFirstSearchRecord
from intercom_assets_tests.streams.conftest import Harness, make_client


@pytest.mark.parametrize("stream", ["contacts", "conversations"])
def test_a_record_without_updated_at_is_quarantined_naming_it(
    harness: Harness, stream: str
) -> None:
    transport = AlterFirstSearchRecord(harness.sb, "updated_at")
    with make_client(harness.sb, transport) as client:
        report = harness.run(stream, client=client)
    altered = set(transport.altered)
    assert altered and report.extra[QUARANTINED] >= len(altered)
    held = harness.warehouse.rejected(stream, unresolved=False)
    assert set(held.get_column("record_id").to_list()) == altered
    assert set(held.get_column("field").to_list()) == {"updated_at"}
    for record_id, error in held.select("record_id", "error").iter_rows():
        assert record_id in error and "no window can place it" in error
    truth = {r["id"] for r in harness.sb.truth()[stream]}
    stored = set(harness.warehouse.live_ids(stream).to_list())
    still = set(harness.warehouse.rejected(stream).get_column("record_id").to_list())
    assert stored == truth - still  # everything else of those pages was written
    counts = report.tables[stream]  # each record counted once, the mended one as inserted
    assert (counts.inserted, counts.updated) == (len(stored), 0)
    # contacts: the sweep (`GET /contacts`, sent well-formed) loaded it and resolved its row
    assert still == (set() if stream == "contacts" else altered)
