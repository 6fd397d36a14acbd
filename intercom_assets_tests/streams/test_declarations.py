"""What the streams declare about their tables: references and checks."""

import pytest

from intercom_assets.streams import STREAMS, targets
from intercom_assets.streams.shape import Shape, field
from intercom_assets.streams.snapshot import Listing, snapshot

TABLES = {spec.name: spec for stream in STREAMS for spec in stream.tables}


def test_every_child_table_declares_what_its_parent_key_references() -> None:
    missing = [
        f"{spec.name}.{spec.parent_key}"
        for stream in STREAMS
        for spec in stream.tables
        if spec.parent_key is not None
        and spec.parent_key not in stream.references.get(spec.name, {})
    ]
    assert missing == []


def test_every_reference_points_to_an_entity_table_of_the_code_location() -> None:
    for stream in STREAMS:
        for table, columns in stream.references.items():
            for column, reference in columns.items():
                for target in targets(reference):
                    assert target in TABLES, f"{table}.{column} -> {target}"
                    assert TABLES[target].is_entity, f"{table}.{column} -> {target}"


def test_references_found_only_by_reading_the_records_are_declared() -> None:
    refs = {t: c for s in STREAMS for t, c in s.references.items()}
    assert refs["contact_merges"]["target_id"] == "contacts"
    assert set(targets(refs["ticket_linked_objects"]["linked_object_id"])) == {
        "conversations",
        "tickets",
    }


def test_a_reference_of_a_column_the_table_does_not_declare_is_refused() -> None:
    shape = Shape("gizmos", (field("id", nullable=False), field("owner_id")))
    snapshot(shape, "gizmos", Listing("/gizmos"), references={"gizmos": {"owner_id": "admins"}})
    with pytest.raises(KeyError):
        snapshot(shape, "gizmos", Listing("/gizmos"), references={"gizmos": {"boss_id": "x"}})
    with pytest.raises(ValueError, match="not one of its tables"):
        snapshot(shape, "gizmos", Listing("/gizmos"), references={"other": {"id": "x"}})


def test_the_part_cap_is_declared_by_the_parts_streams_on_their_own_tables() -> None:
    caps = {(s.name, c.parts, c.loads) for s in STREAMS for c in s.checks}
    assert caps == {
        ("conversation_parts", "conversation_parts", "conversation_part_loads"),
        ("ticket_parts", "ticket_parts", "ticket_part_loads"),
    }
