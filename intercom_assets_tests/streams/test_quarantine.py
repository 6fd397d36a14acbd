"""A record that does not fit its table is quarantined in `_rejected`, every other record
loads, later runs keep loading, and the record loads by itself once Intercom sends it
well-formed (its `_rejected` row is then resolved). One malformed record per case, rewritten
by a proxy transport in front of the sandbox, on DuckDB and PostgreSQL."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest

from intercom_assets.sandbox import Sandbox
from intercom_assets.streams import get_stream
from intercom_assets.streams.searched import SearchStream
from intercom_assets.streams.sync import NO_ID, QUARANTINED
from intercom_assets.warehouse import Warehouse
from intercom_assets_tests.streams.conftest import Harness, make_client, make_harness


class CorruptOne(httpx.BaseTransport):
    """The sandbox's own transport; while `active`, the record with id `target` in any list
    of a JSON answer to a path starting with `prefix` gets `field` set to `value` (or is left
    out, for `GONE`)."""

    GONE = object()

    def __init__(self, sb: Sandbox, prefix: str, target: str, field: str, value: Any) -> None:
        self.inner = sb.transport()
        self.prefix, self.target, self.field, self.value = prefix, target, field, value
        self.active = True
        self.altered = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if not self.active or response.status_code != 200:
            return response
        if not request.url.path.startswith(self.prefix):
            return response
        body = orjson.loads(response.read())
        found = False
        for value in body.values() if isinstance(body, dict) else ():
            for record in list(value) if isinstance(value, list) else ():
                if isinstance(record, dict) and record.get("id") == self.target:
                    if self.value is self.GONE:  # as if deleted: counted no more either
                        value.remove(record)
                        if isinstance(body.get("total_count"), int):
                            body["total_count"] -= 1
                    else:
                        record[self.field] = self.value
                    found = True
        if not found:
            return response
        self.altered += 1
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
        return httpx.Response(200, headers=headers, content=orjson.dumps(body), request=request)


@dataclass(frozen=True)
class Case:
    stream: str
    prefix: str
    field: str
    value: Any
    column_named: str
    target: Callable[[dict[str, Any]], str]
    """Picks the record to corrupt from the sandbox's truth."""
    ids: Callable[[dict[str, Any]], set[str]]
    """Every record id the stream's table should hold (from the truth)."""
    deps: tuple[str, ...] = ()


def _ids(name: str) -> Callable[[dict[str, Any]], set[str]]:
    return lambda truth: {r["id"] for r in truth[name]}


def _event_ids(truth: dict[str, Any]) -> set[str]:
    return {e["id"] for events in truth["events"].values() for e in events}


CASES = {
    "company_size_big": Case(
        "companies", "/companies", "size", "big", "'size'",
        lambda t: sorted(r["id"] for r in t["companies"])[3], _ids("companies"),
    ),
    "ticket_open_yes": Case(
        "tickets", "/tickets", "open", "yes", "'open'",
        lambda t: sorted(r["id"] for r in t["tickets"])[5], _ids("tickets"),
    ),
    "event_created_at_text": Case(
        "events", "/events", "created_at", "2026-01-01T10:00:00Z", "'created_at'",
        lambda t: sorted(_event_ids(t))[2], _event_ids, deps=("contacts",),
    ),
    "contact_updated_at_text": Case(
        "contacts", "/contacts", "updated_at", "2099-12-31", "'updated_at'",
        lambda t: sorted(r["id"] for r in t["contacts"])[7], _ids("contacts"),
    ),
    "conversation_null_id": Case(
        "conversations", "/conversations", "id", None, "'id'",
        lambda t: sorted(r["id"] for r in t["conversations"])[4], _ids("conversations"),
    ),
}  # fmt: skip



def stored_ids(wh: Warehouse, table: str) -> set[str]:
    return set(wh.live_ids(table).to_list())


@pytest.mark.parametrize("name", list(CASES))
def test_a_malformed_record_is_quarantined_and_loads_once_mended(
    any_warehouse: Warehouse, name: str
) -> None:
    case = CASES[name]
    wh = any_warehouse
    h: Harness = make_harness(wh, timezone="America/New_York")
    for dep in case.deps:
        h.run(dep)
    truth = h.sb.truth()
    target, expected = case.target(truth), case.ids(truth)
    proxy = CorruptOne(h.sb, case.prefix, target, case.field, case.value)
    with make_client(h.sb, proxy) as client:
        first = h.run(case.stream, client=client)  # does not raise
        assert proxy.altered >= 1
        assert first.extra[QUARANTINED] >= 1
        # every other record loaded; the malformed one did not
        assert stored_ids(wh, case.stream) == expected - {target}
        held = wh.rejected(case.stream)
        assert held.height == 1, held
        row = held.row(0, named=True)
        if case.value is None:  # no id: named by the record's content
            assert row["record_id"].startswith(NO_ID)
            assert orjson.loads(row["raw"])["id"] is None
        else:
            assert row["record_id"] == target
            assert orjson.loads(row["raw"])[case.field] == case.value
        assert row["field"] == case.field
        assert case.column_named in row["error"] and case.stream in row["error"]
        assert row["first_seen"] == row["last_seen"] and row["resolved_at"] is None

        # a later run still succeeds, and the record stays held (seen again)
        again = h.run(case.stream, client=client, full=True)
        assert again.extra[QUARANTINED] >= 1
        assert stored_ids(wh, case.stream) == expected - {target}
        still = wh.rejected(case.stream).row(0, named=True)
        assert still["record_id"] == row["record_id"]
        assert still["first_seen"] == row["first_seen"] and still["last_seen"] > row["last_seen"]

        # Intercom sends it well-formed: it loads by itself, and its row is resolved
        proxy.active = False
        mended = h.run(case.stream, client=client)
    assert QUARANTINED not in mended.extra
    assert stored_ids(wh, case.stream) == expected
    assert wh.rejected(case.stream).height == 0
    history = wh.rejected(case.stream, unresolved=False)
    assert history.height == 1 and history.row(0, named=True)["resolved_at"] is not None
    if case.stream == "contacts":  # the resume mark was cleared, the history is complete
        state = wh.read_state("contacts")
        assert state.get("search") is None and state.get("history_from") == "beginning"


def test_the_change_probe_looks_past_a_malformed_newest_record(harness: Harness) -> None:
    """The change sensor's probe: a newest conversation whose `updated_at` is text does not
    hide the newest well-formed change behind it."""
    records = sorted(harness.sb.truth()["conversations"], key=lambda r: -r["updated_at"])
    newest, behind = records[0], records[1]
    proxy = CorruptOne(harness.sb, "/conversations", newest["id"], "updated_at", "yesterday")
    stream = get_stream("conversations")
    assert isinstance(stream, SearchStream)
    with make_client(harness.sb, proxy) as client:
        found = stream.newest_change(client, None, harness.workspace.timezone)
    assert proxy.altered == 1
    assert found == behind["updated_at"]


def test_a_held_record_no_longer_listed_is_resolved(harness: Harness) -> None:
    """A quarantined ticket that a later complete listing (the sweep) no longer holds
    (deleted in Intercom) leaves nothing to load: its row is resolved."""
    target = sorted(r["id"] for r in harness.sb.truth()["tickets"])[1]
    proxy = CorruptOne(harness.sb, "/tickets", target, "open", "yes")
    with make_client(harness.sb, proxy) as client:
        harness.run("tickets", client=client)
        held = harness.warehouse.rejected("tickets")
        assert held.get_column("record_id").to_list() == [target]
        proxy.value = CorruptOne.GONE
        harness.run("tickets", client=client, full=True)
    assert harness.warehouse.rejected("tickets").height == 0
    resolved = harness.warehouse.rejected("tickets", unresolved=False)
    assert resolved.item(0, "resolved_at") is not None
    assert target not in set(harness.warehouse.live_ids("tickets").to_list())
