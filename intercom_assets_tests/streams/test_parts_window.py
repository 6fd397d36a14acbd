"""Parts past Intercom's 500-part cap: a part once loaded stays when it falls out of the
window `GET /conversations/{id}` (`/tickets/{id}`) returns; only a part missing inside the
returned window is deleted. Both tables, both backends."""

from dataclasses import dataclass

import polars as pl
import pytest

from intercom_assets.checks import evaluate_checks, stream_checks
from intercom_assets.sandbox import Churn
from intercom_assets.streams import get_stream
from intercom_assets.warehouse import Warehouse
from intercom_assets_tests.oracle import assert_matches_truth, differences
from intercom_assets_tests.streams.conftest import Harness, make_harness

CAP = 500
QUIET = {name: 0.0 for name in Churn.__dataclass_fields__ if name != "activity_log_rate"}


@dataclass(frozen=True)
class Parts:
    """One parts stream and where its parents and parts live in the sandbox and warehouse."""

    stream: str
    parents: str
    table: str
    loads: str
    parent_key: str
    counts: str
    """The truth's key of every parent's true part count."""
    churn: str

    def stored(self, wh: Warehouse, parent: str) -> pl.DataFrame:
        rows = wh.table(self.table).filter(pl.col(self.parent_key) == parent)
        return rows.select("id", "created_at", "_hash").sort("id")

    def all_parts(self, h: Harness, parent: str) -> list[dict]:
        """Every part the sandbox holds for `parent` (oldest first), the API's window or not."""
        if self.parents == "conversations":
            return list(h.sb.store.parts[parent])
        return list(h.sb.store.tables["tickets"][parent]["_parts"])


CONVERSATION_PARTS = Parts(
    "conversation_parts",
    "conversations",
    "conversation_parts",
    "conversation_part_loads",
    "conversation_id",
    "conversation_part_counts",
    "conversation_update",
)
TICKET_PARTS = Parts(
    "ticket_parts",
    "tickets",
    "ticket_parts",
    "ticket_part_loads",
    "ticket_id",
    "ticket_part_counts",
    "ticket_update",
)



@pytest.mark.parametrize("kind", [CONVERSATION_PARTS, TICKET_PARTS], ids=lambda k: k.stream)
def test_parts_past_the_cap_are_kept_and_counted(any_warehouse: Warehouse, kind: Parts) -> None:
    h = make_harness(any_warehouse)
    h.run(kind.parents)
    h.run(kind.stream)
    counts = h.sb.truth()[kind.counts]
    capped = [parent for parent, n in counts.items() if n > CAP]
    assert len(capped) == 1, capped  # the tiny workspace has one of each past the cap
    parent = capped[0]
    first = kind.stored(any_warehouse, parent)
    assert first.height == CAP

    # A day on which the capped parent gets new parts, then a part inside the window is
    # deleted in Intercom: the window slides over stored parts.
    start = h.now()
    h.sb.advance(days=1, churn=Churn(**{**QUIET, kind.churn: 5.0}))
    parts = h.sb.store.parts[parent] if kind.parents == "conversations" else None
    every = kind.all_parts(h, parent)
    grown = len(every) - counts[parent]
    assert grown > 0, "the churn should have added parts to the capped parent"
    gone = every[-CAP + 10]  # inside the window Intercom will return
    if parts is not None:
        parts.remove(gone)
    else:
        h.sb.store.tables["tickets"][parent]["_parts"].remove(gone)
    h.run(kind.parents, start)
    report = h.run(kind.stream)

    every = kind.all_parts(h, parent)
    window = {str(p["id"]) for p in every[-CAP:]}
    stored = kind.stored(any_warehouse, parent)
    expected = (set(first.get_column("id")) | window) - {str(gone["id"])}
    assert set(stored.get_column("id")) == expected
    beyond = expected - window
    assert len(beyond) == grown - 1  # the window moved by the parts added less the one deleted
    # the kept parts are the rows stored before, untouched
    kept = stored.filter(pl.col("id").is_in(list(beyond)))
    assert kept.equals(first.filter(pl.col("id").is_in(list(beyond))))
    loads = any_warehouse.table(kind.loads).filter(pl.col("id") == parent).row(0, named=True)
    assert loads["truncated"] and loads["parts_returned"] == CAP
    assert loads["parts_beyond_window"] == len(beyond)
    others = any_warehouse.table(kind.loads).filter(pl.col("id") != parent)
    assert others.get_column("parts_beyond_window").to_list() == [0] * others.height
    assert report.extra[f"{kind.table}_beyond_window"] == len(beyond)
    assert_matches_truth(any_warehouse, h.sb.truth(), streams=(kind.stream,))
    # the part_cap check of the parts asset names the parent and counts what it holds
    check = next(c for c in stream_checks(get_stream(kind.stream), {}) if c.key.name == "part_cap")
    evaluated = evaluate_checks([check], any_warehouse, lambda: h.client)[0]
    assert check.spec.asset_key.to_user_string() == f"intercom/{kind.table}"
    values = {k: v.value for k, v in evaluated.metadata.items()}
    assert values["parts_beyond_window"] == len(beyond)
    assert values["parts_never_loaded"] == len(every) - CAP - len(beyond)
    assert parent in (evaluated.description or "")

    # A re-run with nothing new keeps them, and writes nothing.
    again = h.run(kind.stream)
    assert again.total("inserted") + again.total("deleted") == 0
    assert kind.stored(any_warehouse, parent).equals(stored)

    # The oracle sees a kept part lost between the oldest kept one and the window.
    lost = max(beyond, key=lambda i: next(p["created_at"] for p in every if str(p["id"]) == i))
    with any_warehouse.db.session() as s:
        s.execute(f"DELETE FROM {any_warehouse.db.table(kind.table)} WHERE id = %s", (lost,))
    found = {(d.table, d.id, d.column, d.kind) for d in differences(any_warehouse, h.sb.truth())}
    assert (kind.table, lost, None, "missing") in found
    assert (kind.loads, parent, "parts_beyond_window", "changed") in found
