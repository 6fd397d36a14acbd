"""Rejected records: recorded in `_rejected` in the transaction of their batch (with its rows
and state, or not at all), seen again keeps `first_seen`, resolved once named as written."""

import polars as pl
import pytest

from intercom_assets.warehouse import (
    REJECTED_TABLE,
    Rejected,
    Rejections,
    StateUpdate,
    Warehouse,
    WarehouseInputError,
)
from intercom_assets.warehouse.sql import table_name
from intercom_assets_tests.warehouse.conftest import Target, contacts_frame, tags_frame


def bad(record_id: str, error: str = "does not fit") -> Rejected:
    return Rejected(record_id, "size", error, f'{{"id": "{record_id}", "size": "big"}}')


def test_rejections_travel_with_their_batch(wh: Warehouse) -> None:
    assert wh.rejected("companies").height == 0  # nothing ever rejected
    wh.write(
        {"contacts": contacts_frame([{"id": "a"}])},
        state=StateUpdate("contacts", {"after": 1}),
        rejections=Rejections("contacts", [bad("x"), bad("y")]),
    )
    held = wh.rejected("contacts")
    assert held.get_column("record_id").to_list() == ["x", "y"]
    first = held.row(0, named=True)
    assert first["field"] == "size" and first["raw"] == '{"id": "x", "size": "big"}'
    assert first["first_seen"] == first["last_seen"] and first["resolved_at"] is None
    assert wh.rejected("companies").height == 0  # per stream

    # seen again (a later run): first_seen kept, last_seen and error new
    wh.write({}, rejections=Rejections("contacts", [bad("x", "still bad")]))
    again = wh.rejected("contacts").row(0, named=True)
    assert again["first_seen"] == first["first_seen"] and again["last_seen"] > first["last_seen"]
    assert again["error"] == "still bad"

    # written well-formed: resolved, kept for the record; rejected again: held again
    wh.write(
        {"contacts": contacts_frame([{"id": "x"}])},
        rejections=Rejections("contacts", resolved=["x"]),
    )
    assert wh.rejected("contacts").get_column("record_id").to_list() == ["y"]
    every = wh.rejected("contacts", unresolved=False)
    assert every.filter(pl.col("record_id") == "x").item(0, "resolved_at") is not None
    wh.write({}, rejections=Rejections("contacts", [bad("x")]))
    assert wh.rejected("contacts").get_column("record_id").to_list() == ["x", "y"]
    assert wh.rejected("contacts").item(0, "first_seen") == first["first_seen"]


def test_a_failed_batch_records_no_rejection(wh: Warehouse) -> None:
    with pytest.raises(WarehouseInputError):  # refused before the transaction
        wh.write(
            {"contacts": contacts_frame([{"id": None}])},
            rejections=Rejections("contacts", [bad("x")]),
        )
    tags = table_name(wh.schema, "contact_tags", wh.backend.catalog)
    with wh.backend.session() as s:  # the transaction itself fails
        s.execute(f"DROP TABLE {tags}")
    wh.submit(
        {"contacts": contacts_frame([{"id": "b"}]), "contact_tags": tags_frame([("b", "t")])},
        rejections=Rejections("contacts", [bad("z")]),
    )
    with pytest.raises(Exception, match="contact_tags"):
        wh.wait()
    assert wh.rejected("contacts", unresolved=False).height == 0
    assert wh.count_live("contacts") == 0
    with pytest.raises(WarehouseInputError, match="needs an id"):
        wh.write({}, rejections=Rejections("contacts", [bad("")]))


def test_migrate_creates_the_table_and_reads_need_none(target: Target) -> None:
    with target.connect() as fresh:  # nothing migrated: reads as empty
        assert fresh.rejected().height == 0
        fresh.migrate([])
        name = table_name(fresh.schema, REJECTED_TABLE, fresh.backend.catalog)
        assert fresh.query(f"SELECT COUNT(*) AS n FROM {name}").item(0, 0) == 0
