"""Shaping raw records: one reader, typed as declared; what it cannot read is refused clearly."""

from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
import polars as pl
import pytest

from intercom_assets.api import IntercomClient, iter_cursor_pages
from intercom_assets.sandbox import Sandbox
from intercom_assets.streams import companies, contacts, conversations, snapshots
from intercom_assets.streams.shape import (
    BOOL,
    INT,
    JSON,
    TIMESTAMP,
    Link,
    Shape,
    ShapeError,
    field,
    ids_at,
    values_at,
)

from .conftest import make_client


@pytest.fixture(scope="module")
def client() -> Iterator[IntercomClient]:
    sb = Sandbox(size="tiny", seed=3)
    with make_client(sb) as c:
        yield c


SOURCES = {
    "contacts": (contacts.SHAPE, "/contacts", "data"),
    "companies": (companies.SHAPE, "/companies", "data"),
    "conversations": (conversations.SHAPE, "/conversations", "conversations"),
    "admins": (snapshots.ADMINS, "/admins", "admins"),
    "teams": (snapshots.TEAMS, "/teams", "teams"),
    "tags": (snapshots.TAGS, "/tags", "data"),
    "segments": (snapshots.SEGMENTS, "/segments", "segments"),
    "data_attributes": (snapshots.DATA_ATTRIBUTES, "/data_attributes", "data"),
}


def listed(record: dict, path: str, key: str | None) -> list:
    value: object = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if not isinstance(value, list):
        return []
    return [item if key is None else item[key] for item in value]


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_sandbox_records_read_as_declared(client: IntercomClient, name: str) -> None:
    shape, path, key = SOURCES[name]
    pages = iter_cursor_pages(client, path, per_page=None, items_key=key)
    raws = [raw for page in pages for raw in page.raw_items]
    assert raws, f"the sandbox lists no {name}"
    records = [orjson.loads(r) for r in raws]
    frames, parents = shape.frames(raws)
    entity = frames[shape.table]
    assert entity.height == len(raws)
    # `_raw` is the record's own text, byte for byte
    assert entity.get_column("_raw").to_list() == [r.decode() for r in raws]
    for link in shape.links:
        members = link.members
        dotted = ".".join(members.path)
        expected = sorted(
            (str(record["id"]), str(member))
            for record in records
            for member in listed(record, dotted, members.key)
        )
        assert sorted(frames[link.table].rows()) == expected, link.table
        assert parents[link.table].to_list() == entity.get_column(shape.key).to_list()


def test_data_attribute_keys_are_model_and_full_name(client: IntercomClient) -> None:
    pages = iter_cursor_pages(client, "/data_attributes", per_page=None, items_key="data")
    raws = [raw for page in pages for raw in page.raw_items]
    records = [orjson.loads(r) for r in raws]
    frames, _ = snapshots.DATA_ATTRIBUTES.frames(raws)
    expected = [f"{r['model']}:{r.get('full_name') or r['name']}" for r in records]
    assert frames["data_attributes"].get_column("id").to_list() == expected


def test_full_member_lists_replace_the_embedded_ones(client: IntercomClient) -> None:
    pages = iter_cursor_pages(client, "/contacts", per_page=None, items_key="data")
    raws = [raw for page in pages for raw in page.raw_items][:20]
    first, second = (orjson.loads(r)["id"] for r in raws[:2])
    full = {"contact_tags": {first: ["t1", "t2"], second: []}}
    frames, _ = contacts.SHAPE.frames(raws, full)
    tags_of = frames["contact_tags"].filter(pl.col("contact_id").is_in([first, second]))
    assert sorted(tags_of.rows()) == [(first, "t1"), (first, "t2")]
    others = frames["contact_tags"].filter(~pl.col("contact_id").is_in([first, second]))
    expected = sorted(
        (r["id"], t["id"]) for r in map(orjson.loads, raws[2:]) for t in r["tags"]["data"]
    )
    assert sorted(others.rows()) == expected


TOY = Shape(
    "things",
    (
        field("id", nullable=False),
        field("name"),
        field("count", INT),
        field("flag", BOOL),
        field("seen_at", TIMESTAMP),
        field("city", path="where.city"),
        field("deep", path="a.b.c"),
        field("attributes", JSON),
        field("profiles", JSON, "social.data"),
    ),
    links=(
        Link("thing_tags", "thing_id", "tag_id", ids_at("tags.data")),
        Link("thing_admins", "thing_id", "admin_id", values_at("admin_ids")),
    ),
)


def raw(**record: object) -> bytes:
    return orjson.dumps(record)


def test_edge_values_read_the_same_on_both_paths() -> None:
    raws = [
        raw(
            id="1",
            name=42,  # a number in a text column: its decimal text
            count=7,
            flag=True,
            seen_at=1_700_000_000,
            where={"city": "Kraków"},
            a={"b": {"c": "deep"}},
            attributes={'it\'s "quoted"': "a\\b\nc", "ünï": [1, 2.5, None], "x": {"y": True}},
            social={"data": []},
            tags={"data": [{"id": "t1"}, {"id": "t2", "extra": 1}]},
            admin_ids=[5, 6],
            unknown={"kept": "in _raw"},
        ),
        raw(id="2", name=None, where=None, a={"b": None}, attributes=None, tags={"data": []}),
        raw(id="3", name=True, flag=False, social=None, tags=None, admin_ids=[]),
        raw(id="4"),
    ]
    frames, _ = TOY.frames(raws)
    things = frames["things"]
    assert things.get_column("id").to_list() == ["1", "2", "3", "4"]
    assert things.get_column("name").to_list() == ["42", None, "true", None]
    assert things.get_column("count").to_list() == [7, None, None, None]
    assert things.get_column("flag").to_list() == [True, None, False, None]
    assert things.get_column("seen_at").to_list()[0] == datetime(
        2023, 11, 14, 22, 13, 20, tzinfo=UTC
    )
    assert things.get_column("city").to_list() == ["Kraków", None, None, None]
    assert things.get_column("deep").to_list() == ["deep", None, None, None]
    assert orjson.loads(things.item(0, "attributes")) == orjson.loads(raws[0])["attributes"]
    assert things.get_column("attributes").to_list()[1:] == [None, None, None]
    assert things.get_column("profiles").to_list() == ["[]", None, None, None]
    assert sorted(frames["thing_admins"].rows()) == [("1", "5"), ("1", "6")]


def test_a_record_spanning_lines_is_read_and_kept_as_sent() -> None:
    pretty = orjson.dumps({"id": "p", "count": 1}, option=orjson.OPT_INDENT_2)
    assert b"\n" in pretty
    frames, _ = TOY.frames([pretty, raw(id="q")])
    assert frames["things"].get_column("count").to_list() == [1, None]
    assert frames["things"].get_column("_raw").to_list() == [pretty.decode(), '{"id":"q"}']


def test_a_value_of_the_wrong_type_is_refused_with_record_and_column() -> None:
    raws = [raw(id="1", count=1), raw(id="2", count="many")]
    with pytest.raises(ShapeError, match=r"things: record '2' has count = 'many'.*'count'"):
        TOY.frames(raws)
    nested = [raw(id="7", where={"city": {"not": "text"}}), raw(id="8", where="flat")]
    with pytest.raises(
        ShapeError, match=r"record '8' has where = 'flat' \(not an object holding where\.city\)"
    ):
        TOY.frames(nested)


def test_a_text_where_an_object_is_read_names_the_value_received(client: IntercomClient) -> None:
    """A contact whose `tags` is the string "oops": the error shows "oops", where `tags`."""
    page = next(iter_cursor_pages(client, "/contacts", per_page=5, items_key="data"))
    records = [orjson.loads(r) for r in page.raw_items]
    records[1]["tags"] = "oops"
    bad = str(records[1]["id"])
    with pytest.raises(ShapeError) as caught:
        contacts.SHAPE.frames([orjson.dumps(r) for r in records])
    message = str(caught.value)
    assert message.startswith(f"contacts: record {bad!r} has tags = 'oops' (not an object"), message
    assert "None" not in message


def test_a_record_that_is_not_json_is_refused() -> None:
    with pytest.raises(ShapeError, match="not valid JSON"):
        TOY.frames([raw(id="1"), b'{"id": "2", "count": '])


def test_an_empty_batch_gives_empty_typed_frames() -> None:
    frames, parents = TOY.frames([])
    assert frames["things"].height == 0
    assert frames["things"].schema["seen_at"] == TIMESTAMP
    assert parents["thing_tags"].len() == 0


def test_fitted_keeps_every_record_that_fits_and_names_each_misfit() -> None:
    good = [raw(id=str(n), count=n, tags={"data": [{"id": f"t{n}"}]}) for n in range(200)]
    raws = list(good)
    raws[17] = raw(id="17", count="many", tags={"data": [{"id": "t17"}]})
    raws[101] = raw(id=None, count=1, tags={"data": [{"id": "orphan"}]})
    raws[150] = b'{"id": "150", "count": '
    raws[199] = raw(id="199", flag="yes")
    full = {"thing_tags": {"17": ["x"], "18": ["a", "b"]}}
    frames, parents, misfits = TOY.fitted(raws, full)
    expected = [str(n) for n in range(200) if n not in (17, 101, 150, 199)]
    assert frames["things"].get_column("id").to_list() == expected
    assert parents["thing_tags"].to_list() == expected
    tags = frames["thing_tags"]
    assert set(tags.get_column("thing_id").to_list()) == set(expected)
    assert sorted(tags.filter(pl.col("thing_id") == "18").get_column("tag_id")) == ["a", "b"]
    assert "orphan" not in tags.get_column("tag_id").to_list()
    assert [(m.key, m.field) for m in misfits] == [
        ("17", "count"),
        (None, "id"),
        (None, ""),
        ("199", "flag"),
    ]
    assert "record '17' has count = 'many'" in misfits[0].error and "'count'" in misfits[0].error
    assert "no id" in misfits[1].error and "cannot be keyed" in misfits[1].error
    assert "not valid JSON" in misfits[2].error
    assert [m.raw for m in misfits] == [raws[17], raws[101], raws[150], raws[199]]
    every, _, none = TOY.fitted(good)
    assert none == [] and every["things"].height == 200
