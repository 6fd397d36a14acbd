"""`Warehouse.submit`: batches written on the writer thread, in order, errors not lost."""

import threading

import pytest

from intercom_assets.warehouse import StateUpdate, Warehouse, WarehouseInputError, WriteResult
from intercom_assets.warehouse.sql import table_name

from .conftest import contacts_frame, tags_frame
from .test_write import contact, counts


def test_submitted_batches_commit_in_order_and_reads_wait_for_them(wh: Warehouse) -> None:
    written: list[tuple[str, dict[str, int]]] = []

    def record(result: WriteResult) -> None:
        written.append((threading.current_thread().name, counts(result.tables["contacts"])))

    batches = [
        [contact("a"), contact("b")],
        [contact("b", email="changed@example.com"), contact("c")],
        [contact("a"), contact("c")],
    ]
    futures = [
        wh.submit(
            {"contacts": contacts_frame(rows)},
            state=StateUpdate("contacts", {"batch": n}),
            on_written=record,
        )
        for n, rows in enumerate(batches)
    ]
    # a read waits for the batch in flight: it sees the last submitted state
    assert wh.read_state("contacts") == {"batch": 2}
    assert [outcome for _, outcome in written] == [
        {"inserted": 2},
        {"updated": 1, "inserted": 1},
        {"unchanged": 2},
    ]
    assert all(name.startswith("warehouse-writer") for name, _ in written)
    assert [f.result().tables["contacts"].written for f in futures] == [2, 2, 0]
    assert sorted(wh.table("contacts").get_column("email")) == [
        "a@example.com",
        "c@example.com",
        "changed@example.com",
    ]


def test_a_bad_frame_raises_in_the_caller_and_nothing_is_in_flight(wh: Warehouse) -> None:
    wh.submit({"contacts": contacts_frame([contact("a")])}, state=StateUpdate("contacts", {"n": 1}))
    bad = contacts_frame([contact("b")]).drop("email")
    with pytest.raises(WarehouseInputError, match="missing column"):
        wh.submit({"contacts": bad}, state=StateUpdate("contacts", {"n": 2}))
    assert wh.read_state("contacts") == {"n": 1}
    assert wh.totals("contacts").live == 1


def test_a_failed_transaction_raises_once_and_keeps_the_last_commit(wh: Warehouse) -> None:
    wh.submit({"contacts": contacts_frame([contact("a")])}, state=StateUpdate("contacts", {"n": 1}))
    wh.wait()
    tags = table_name(wh.schema, "contact_tags", wh.backend.catalog)
    with wh.backend.session() as s:  # the table vanishes behind the warehouse's back
        s.execute(f"DROP TABLE {tags}")
    future = wh.submit(
        {"contacts": contacts_frame([contact("b")]), "contact_tags": tags_frame([("b", "t")])},
        state=StateUpdate("contacts", {"n": 2}),
    )
    with pytest.raises(Exception, match="contact_tags"):
        wh.wait()
    assert future.exception() is not None
    wh.wait()  # reported once
    assert wh.read_state("contacts") == {"n": 1}
    assert wh.table("contacts").get_column("id").to_list() == ["a"]


def test_close_raises_the_error_of_the_batch_in_flight(wh: Warehouse) -> None:
    tags = table_name(wh.schema, "contact_tags", wh.backend.catalog)
    with wh.backend.session() as s:
        s.execute(f"DROP TABLE {tags}")
    wh.submit({"contact_tags": tags_frame([("b", "t")])})
    with pytest.raises(Exception, match="contact_tags"):
        wh.close()
