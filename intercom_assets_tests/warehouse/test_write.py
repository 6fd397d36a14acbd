"""Writes on both backends: exact counts, no-op re-writes, link replacement, state, bad input."""

from datetime import UTC, datetime

import orjson
import polars as pl
import pytest

from intercom_assets.warehouse import (
    Column,
    SchemaMismatchError,
    StateUpdate,
    TableCounts,
    TableSpec,
    Warehouse,
    WarehouseInputError,
)

from .conftest import CONTACTS, PARTS, Target, contacts_frame, tags_frame

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def contact(i: str, **fields: object) -> dict:
    row: dict = {"id": i, "email": f"{i}@example.com", "session_count": 1, "updated_at": T0}
    row.update(fields)
    return row


def counts(result: TableCounts) -> dict[str, int]:
    return {k: v for k, v in vars(result).items() if v}


def pg_versions(target: Target, table: str, key: str) -> dict:
    """PostgreSQL row versions: a rewritten row gets a new xmin and ctid."""
    import psycopg

    with psycopg.connect(target.url) as conn:
        rows = conn.execute(
            f'SELECT {key}, xmin::text, ctid::text FROM "{target.schema}"."{table}"'
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def test_counts_through_insert_update_delete_and_revive(wh: Warehouse) -> None:
    first = [contact(i) for i in "abcd"]
    result = wh.write({"contacts": contacts_frame(first)})
    assert counts(result.tables["contacts"]) == {"inserted": 4}

    second = [
        contact("a"),
        contact("b", email="new@example.com"),
        contact("e", session_count=1),
        contact("e", session_count=2),  # duplicate id: the last one wins
    ]
    result = wh.write({"contacts": contacts_frame(second)})
    assert counts(result.tables["contacts"]) == {
        "inserted": 1,
        "updated": 1,
        "unchanged": 1,
        "duplicates": 1,
    }

    deleted = wh.soft_delete_missing("contacts", pl.Series(["a", "b", "e"]))
    assert deleted.deleted == 2
    assert wh.totals("contacts").live == 3 and wh.totals("contacts").deleted == 2
    assert sorted(wh.live_ids("contacts").to_list()) == ["a", "b", "e"]
    assert wh.soft_delete_missing("contacts", ["a", "b", "e"]).deleted == 0

    third = [contact("c"), contact("d", session_count=9)]
    result = wh.write({"contacts": contacts_frame(third)})
    assert counts(result.tables["contacts"]) == {"revived": 2}
    assert wh.totals("contacts").live == 5 and wh.totals("contacts").deleted == 0

    stored = wh.table("contacts")
    assert stored.get_column("_deleted_at").null_count() == 5
    by_id = {row["id"]: row for row in stored.iter_rows(named=True)}
    assert by_id["b"]["email"] == "new@example.com"
    assert by_id["e"]["session_count"] == 2
    assert by_id["d"]["session_count"] == 9
    assert orjson.loads(by_id["d"]["_raw"])["session_count"] == 9

    with pytest.raises(WarehouseInputError, match="allow_empty"):
        wh.soft_delete_missing("contacts", [])


def test_reapplying_a_batch_writes_no_row(wh: Warehouse, target: Target) -> None:
    rows = [contact(f"c{i}", custom_attributes=f'{{"n": {i}}}') for i in range(50)]
    links = [(f"c{i}", f"t{i % 3}") for i in range(50)]
    frames = {"contacts": contacts_frame(rows), "contact_tags": tags_frame(links)}
    wh.write(frames)
    before = wh.table("contacts"), wh.table("contact_tags")
    if target.backend == "postgres":
        versions = pg_versions(target, "contacts", "id")

    again = wh.write(frames)

    assert counts(again.tables["contacts"]) == {"unchanged": 50}
    assert counts(again.tables["contact_tags"]) == {"unchanged": 50}
    assert wh.table("contacts").equals(before[0])  # _synced_at included
    assert wh.table("contact_tags").equals(before[1])
    if target.backend == "postgres":
        assert pg_versions(target, "contacts", "id") == versions


def link_rows(wh: Warehouse) -> dict[tuple[str, str], dict]:
    rows = wh.table("contact_tags").iter_rows(named=True)
    return {(r["contact_id"], r["tag_id"]): r for r in rows}


def test_link_rows_are_replaced_only_for_changed_parents(wh: Warehouse, target: Target) -> None:
    links = [("a", "t1"), ("a", "t2"), ("b", "t1"), ("c", "t3"), ("d", "t4")]
    wh.write({"contact_tags": tags_frame(links)})
    before = {
        (r["contact_id"], r["tag_id"]): r for r in wh.table("contact_tags").iter_rows(named=True)
    }
    if target.backend == "postgres":
        versions = pg_versions(target, "contact_tags", "contact_id || '/' || tag_id")

    # a: same set; b: t1 -> t2; c: covered without rows (now has none); d: not covered
    result = wh.write(
        {"contact_tags": tags_frame([("a", "t2"), ("a", "t1"), ("b", "t2")])},
        parents={"contact_tags": ["a", "b", "c"]},
    )

    assert counts(result.tables["contact_tags"]) == {
        "inserted": 1,
        "deleted": 2,
        "unchanged": 2,
        "replaced_parents": 2,
    }
    after = {
        (r["contact_id"], r["tag_id"]): r for r in wh.table("contact_tags").iter_rows(named=True)
    }
    assert sorted(after) == [("a", "t1"), ("a", "t2"), ("b", "t2"), ("d", "t4")]
    for untouched in [("a", "t1"), ("a", "t2"), ("d", "t4")]:
        assert after[untouched] == before[untouched]
    if target.backend == "postgres":
        now = pg_versions(target, "contact_tags", "contact_id || '/' || tag_id")
        for key in ["a/t1", "a/t2", "d/t4"]:
            assert now[key] == versions[key]
    assert wh.orphans("contact_tags", "contact_id", "contacts") == 4  # no contacts stored


def parts(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    """conversation_parts rows from (id, conversation_id, body)."""
    return pl.DataFrame(
        {
            "id": [r[0] for r in rows],
            "conversation_id": [r[1] for r in rows],
            "body": [r[2] for r in rows],
            "_raw": [orjson.dumps({"id": r[0], "body": r[2]}).decode() for r in rows],
        }
    )


def test_child_rows_follow_their_parent(wh: Warehouse) -> None:
    wh.write(
        {"conversation_parts": parts([("p1", "x", "hi"), ("p2", "x", "yo"), ("p3", "y", "ok")])}
    )
    result = wh.write(
        {"conversation_parts": parts([("p1", "x", "hi"), ("p2", "x", "edited"), ("p3", "y", "ok")])}
    )
    assert counts(result.tables["conversation_parts"]) == {
        "inserted": 2,
        "deleted": 2,
        "unchanged": 1,
        "replaced_parents": 1,
    }
    stored = wh.table("conversation_parts")
    assert dict(zip(stored["id"], stored["body"], strict=True)) == {
        "p1": "hi",
        "p2": "edited",
        "p3": "ok",
    }


def test_a_child_that_moves_to_another_parent_is_moved(wh: Warehouse) -> None:
    """A part (or note) keyed by its own id that arrives under another parent than the one
    holding it (a lead's note on the user it merged into) leaves its old parent."""

    wh.write({"conversation_parts": parts([("p1", "x", "hi"), ("p2", "x", "yo")])})
    wh.write({"conversation_parts": parts([("p3", "y", "ok")])})
    result = wh.write(
        {"conversation_parts": parts([("p3", "y", "ok"), ("p2", "y", "yo")])},
        parents={"conversation_parts": ["y"]},
    )
    assert counts(result.tables["conversation_parts"]) == {
        "inserted": 2,  # y's rows, replaced: p3 again and p2 from x
        "deleted": 2,  # y's p3, and p2 under x
        "replaced_parents": 1,
    }
    stored = wh.table("conversation_parts")
    assert sorted(zip(stored["id"], stored["conversation_id"], strict=True)) == [
        ("p1", "x"),
        ("p2", "y"),
        ("p3", "y"),
    ]
    # x keeps only p1 from now on; nothing changed: nothing written
    again = wh.write(
        {"conversation_parts": parts([("p1", "x", "hi"), ("p3", "y", "ok"), ("p2", "y", "yo")])}
    )
    assert counts(again.tables["conversation_parts"]) == {"unchanged": 3}


def test_kept_child_rows_stay_when_their_parent_is_replaced(wh: Warehouse) -> None:
    """`keep` spares stored rows of a replaced parent (parts out of the API's window); the
    others are replaced as a set, and a kept key the frame holds is written as it says."""
    wh.write({"conversation_parts": parts([("p1", "x", "a"), ("p2", "x", "b"), ("p3", "x", "c")])})
    result = wh.write(
        {"conversation_parts": parts([("p3", "x", "c2"), ("p4", "x", "d")])},
        keep={"conversation_parts": ["p1", "p3"]},
    )
    assert counts(result.tables["conversation_parts"]) == {
        "inserted": 2,
        "deleted": 2,  # p2, gone; p3's old version
        "replaced_parents": 1,
        "kept": 1,  # p1 (p3 is in the frame)
    }
    stored = wh.table("conversation_parts")
    assert dict(zip(stored["id"], stored["body"], strict=True)) == {
        "p1": "a",
        "p3": "c2",
        "p4": "d",
    }
    with pytest.raises(WarehouseInputError, match="parents apply to link/child tables only"):
        wh.write({"contacts": contacts_frame([contact("a")])}, keep={"contacts": ["a"]})
    with pytest.raises(WarehouseInputError, match="without a frame"):
        wh.write({"contacts": contacts_frame([contact("a")])}, keep={"conversation_parts": ["p1"]})


def test_state_keys_commit_with_the_batch(wh: Warehouse) -> None:
    assert wh.read_state("contacts") == {}
    wh.write(
        {"contacts": contacts_frame([contact("a")])},
        state=StateUpdate("contacts", {"cursor": 1, "nested": {"k": [1, "é"]}, "none": None}),
    )
    assert wh.read_state("contacts") == {"cursor": 1, "nested": {"k": [1, "é"]}, "none": None}
    # an update sets the keys it names; the others keep their values
    wh.write({}, state=StateUpdate("contacts", {"cursor": 2}))
    assert wh.read_state("contacts") == {"cursor": 2, "nested": {"k": [1, "é"]}, "none": None}
    assert wh.read_state("contacts", ["cursor", "zz"]) == {"cursor": 2}
    assert wh.read_state("contacts", []) == {}
    assert wh.read_state("other") == {}


def test_many_state_keys_in_one_batch(wh: Warehouse) -> None:
    cursors = {f"c{i:05d}": {"since": f"/events?since={i}", "mark": i} for i in range(20_000)}
    awkward = {"": 0, "it's \\N\t%s": "x\ny", "é" * 300: [1.5, True, None]}
    wh.submit({}, state=StateUpdate("events", cursors | awkward))
    wh.write({}, state=StateUpdate("events", {"c00007": {"mark": -1}}))
    stored = wh.read_state("events")
    assert stored == cursors | awkward | {"c00007": {"mark": -1}}
    assert wh.read_state("events", ["c00007", "c19999", "nope"]) == {
        "c00007": {"mark": -1},
        "c19999": cursors["c19999"],
    }


def test_bad_state_raises_before_anything_is_written(wh: Warehouse) -> None:
    for bad in (
        StateUpdate("contacts", {"k": object()}),
        StateUpdate("contacts", {1: "x"}),  # type: ignore[dict-item]
        StateUpdate("", {"k": 1}),
    ):
        with pytest.raises(WarehouseInputError, match="state"):
            wh.write({"contacts": contacts_frame([contact("a")])}, state=bad)
    with pytest.raises(WarehouseInputError, match="StateUpdate"):
        wh.write({}, state=("contacts", {"k": 1}))  # type: ignore[arg-type]
    assert wh.totals("contacts").live == 0
    assert wh.read_state("contacts") == {}


def test_bad_input_raises_before_anything_is_written(wh: Warehouse) -> None:
    wh.write(
        {"contacts": contacts_frame([contact("a")])}, state=StateUpdate("contacts", {"cursor": 1})
    )
    good = contacts_frame([contact("b")])
    bad_frames = {
        "frame is missing column": good.drop("email"),
        "undeclared column": good.with_columns(surprise=pl.lit(1)),
        "contacts.session_count: cannot cast": good.with_columns(session_count=pl.lit("many")),
        "contacts.id: 1 null": good.with_columns(id=pl.lit(None, dtype=pl.String)),
    }
    for message, bad in bad_frames.items():
        with pytest.raises(WarehouseInputError, match=message):
            wh.write(
                {"contact_tags": tags_frame([("b", "t")]), "contacts": bad},
                state=StateUpdate("contacts", {"cursor": 2}),
            )
    assert wh.totals("contacts").live == 1
    assert wh.table("contact_tags").height == 0
    assert wh.read_state("contacts") == {"cursor": 1}
    with pytest.raises(WarehouseInputError, match="unknown table"):
        wh.write({"nope": good})


def test_spec_growth_adds_columns_and_type_changes_are_refused(
    wh: Warehouse, target: Target
) -> None:
    wh.write({"contacts": contacts_frame([contact("a")])})
    grown = CONTACTS.with_columns(Column("phone", pl.String))
    with target.connect() as other:
        other.migrate([grown])
        frame = contacts_frame([contact("a")]).with_columns(phone=pl.lit("+1 555"))
        result = other.write({"contacts": frame})
        assert counts(result.tables["contacts"]) == {"updated": 1}  # the new column is filled
        assert other.table("contacts").get_column("phone").to_list() == ["+1 555"]

        changed = TableSpec(
            "contacts",
            tuple(Column(c.name, pl.Int64) if c.name == "email" else c for c in grown.columns),
            ("id",),
        )
        with pytest.raises(SchemaMismatchError, match=r"contacts\.email"):
            other.migrate([changed, PARTS])
        assert other.table("contacts").get_column("email").to_list() == ["a@example.com"]


def test_checks_on_clean_tables(wh: Warehouse) -> None:
    wh.write({"contacts": contacts_frame([contact("a"), contact("b")])})
    wh.write({"contact_tags": tags_frame([("a", "t"), ("zz", "t")])})
    assert wh.duplicate_keys("contacts") == 0
    assert wh.null_keys("contacts") == 0
    assert wh.orphans("contact_tags", "contact_id", "contacts") == 1
    wh.soft_delete_missing("contacts", ["b"])
    assert wh.orphans("contact_tags", "contact_id", "contacts") == 2
    assert wh.orphans("contact_tags", "contact_id", "contacts", live_only=False) == 1


def test_read_columns_returns_declared_types_and_live_rows(wh: Warehouse) -> None:
    attributes = '{"plan": "pro"}'
    wh.write(
        {"contacts": contacts_frame([contact("a", custom_attributes=attributes), contact("b")])}
    )
    wh.soft_delete_missing("contacts", ["a"])
    live = wh.read_columns("contacts", ["id", "updated_at", "custom_attributes"])
    assert live.schema == pl.Schema(
        {"id": pl.String, "updated_at": pl.Datetime("us", "UTC"), "custom_attributes": pl.String}
    )
    assert live.rows() == [("a", T0, attributes)]
    every = wh.read_columns("contacts", ["id", "_deleted_at"], live_only=False).sort("id")
    assert every.get_column("id").to_list() == ["a", "b"]
    assert every.get_column("_deleted_at").is_null().to_list() == [True, False]
    with pytest.raises(WarehouseInputError, match="nope"):
        wh.read_columns("contacts", ["id", "nope"])


def test_postgres_accepts_jsonb_for_json_columns(postgres_url: str, postgres_schema: str) -> None:
    """Tables whose JSON columns (or `_raw`) a user altered to jsonb keep working."""
    import psycopg

    from intercom_assets.warehouse import connect

    with connect(postgres_url, schema=postgres_schema) as wh:
        wh.migrate([CONTACTS])
        table = f'"{postgres_schema}"."contacts"'
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            for column in ("custom_attributes", "_raw"):
                conn.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE jsonb")
        wh.migrate([CONTACTS])
        frame = contacts_frame([contact("a", custom_attributes='{"b": [1, 2]}')])
        assert wh.write({"contacts": frame}).tables["contacts"].inserted == 1
        assert wh.write({"contacts": frame}).tables["contacts"].unchanged == 1
        with psycopg.connect(postgres_url) as conn:
            kind = conn.execute(f"SELECT jsonb_typeof(custom_attributes) FROM {table}").fetchone()
        assert kind == ("object",)


def test_large_batches_read_stored_hashes_by_range_or_by_key(wh: Warehouse) -> None:
    """A batch of 2,000+ keys reads its stored hashes with one range scan when its key range
    holds few other rows (a snapshot in key order), else per key: same counts either way."""
    ids = [f"k{i:05d}" for i in range(6_000)]
    first = wh.write({"contacts": contacts_frame([contact(i) for i in ids[:4_000]])})
    assert counts(first.tables["contacts"]) == {"inserted": 4_000}
    # dense: k01000..k03999 plus 2,000 new keys after them, 10 changed
    dense = [
        contact(i, session_count=2) if n % 300 == 0 else contact(i)
        for n, i in enumerate(ids[1_000:6_000])
    ]
    result = wh.write({"contacts": contacts_frame(dense)})
    assert counts(result.tables["contacts"]) == {
        "inserted": 2_000,
        "updated": 10,
        "unchanged": 2_990,
    }
    # sparse: every third key over the whole range (the range holds three times as many rows)
    sparse = [contact(i, email="sparse@example.com") for i in ids[::3]]
    result = wh.write({"contacts": contacts_frame(sparse)})
    assert counts(result.tables["contacts"]) == {"updated": 2_000}
    again = wh.write({"contacts": contacts_frame(sparse)})
    assert counts(again.tables["contacts"]) == {"unchanged": 2_000}
    assert wh.totals("contacts").live == 6_000


def test_range_reads_stay_exact_under_a_collation_that_is_not_byte_order(
    postgres_url: str, postgres_schema: str
) -> None:
    """Under an ICU collation `B` sorts between `a` and `c` (bytes: `B` < `a`): the range
    between polars' smallest and largest key misses stored keys, which are then probed."""
    import psycopg

    from intercom_assets.warehouse import connect

    ids = [f"{prefix}{i:04d}" for i in range(1_000) for prefix in ("a", "B", "c", "É")]
    with connect(postgres_url, schema=postgres_schema) as wh:
        wh.migrate([CONTACTS])
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            icu = "SELECT 1 FROM pg_collation WHERE collname = 'en-US-x-icu'"
            if conn.execute(icu).fetchone() is None:
                pytest.skip("this PostgreSQL server was built without ICU collations")
            conn.execute(
                f'ALTER TABLE "{postgres_schema}"."contacts"'
                ' ALTER COLUMN id TYPE text COLLATE "en-US-x-icu"'
            )
        wh.migrate([CONTACTS])
        first = wh.write({"contacts": contacts_frame([contact(i) for i in ids])})
        assert counts(first.tables["contacts"]) == {"inserted": 4_000}
        # polars' bounds are B0000 and É0999 (byte order); in the ICU order that range holds
        # every key but the `a` ones, which are probed
        changed = [contact(i, session_count=5) if i[0] == "B" else contact(i) for i in ids]
        result = wh.write({"contacts": contacts_frame(changed)})
        assert counts(result.tables["contacts"]) == {"updated": 1_000, "unchanged": 3_000}
        again = wh.write({"contacts": contacts_frame(changed)})
        assert counts(again.tables["contacts"]) == {"unchanged": 4_000}
        assert wh.totals("contacts").live == 4_000


NOTES = TableSpec(
    "notes",
    (
        Column("id", pl.String, nullable=False),
        Column("contact_id", pl.String),
        Column("body", pl.String),
    ),
    primary_key=("id",),
)
"""An entity table whose rows belong to a contact (like events)."""


def notes_frame(rows: list[tuple[str, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [n for n, _ in rows],
            "contact_id": [c for _, c in rows],
            "body": ["text"] * len(rows),
            "_raw": [orjson.dumps({"id": n}).decode() for n, _ in rows],
        },
        schema={"id": pl.String, "contact_id": pl.String, "body": pl.String, "_raw": pl.String},
    )


def test_rows_follow_their_parents_deletes_and_revivals(target: Target) -> None:
    with target.connect() as wh:
        wh.migrate([CONTACTS, NOTES])
        wh.write({"contacts": contacts_frame([contact("a"), contact("b"), contact("c")])})
        notes = [("n1", "a"), ("n2", "a"), ("n3", "b"), ("n4", "zz"), ("n5", None)]
        wh.write({"notes": notes_frame(notes)})
        wh.soft_delete_missing("contacts", ["b", "c"])  # a goes
        assert counts(wh.follow_parent_deletes("notes", "contact_id", "contacts")) == {"deleted": 2}
        live = sorted(wh.live_ids("notes").to_list())
        assert live == ["n3", "n4", "n5"]  # no stored parent, or none: left as they are
        assert counts(wh.follow_parent_deletes("notes", "contact_id", "contacts")) == {}
        wh.write({"contacts": contacts_frame([contact("a")])})  # a comes back
        assert counts(wh.follow_parent_deletes("notes", "contact_id", "contacts")) == {"revived": 2}
        assert sorted(wh.live_ids("notes").to_list()) == ["n1", "n2", "n3", "n4", "n5"]
