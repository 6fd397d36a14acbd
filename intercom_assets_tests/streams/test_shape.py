"""Shaping raw records: the fast reader gives exactly the frames of the dict path."""

from collections.abc import Iterator

import orjson
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from intercom_assets.api import IntercomClient, iter_cursor_pages
from intercom_assets.sandbox import Sandbox
from intercom_assets.streams import (
    admins,
    companies,
    contacts,
    conversations,
    data_attributes,
    segments,
    tags,
    teams,
)
from intercom_assets.streams.shape import (
    BOOL,
    INT,
    JSON,
    TIMESTAMP,
    Link,
    Shape,
    field,
    ids_at,
    read_raw,
    values_at,
)

from .conftest import make_client


@pytest.fixture(scope="module")
def client() -> Iterator[IntercomClient]:
    sb = Sandbox(size="tiny", seed=3)
    with make_client(sb) as c:
        yield c


def sorted_frames(frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    return {name: f.sort(f.columns[:2]) for name, f in frames.items()}


def assert_same_frames(shape: Shape, raws: list[bytes], full: dict | None = None) -> None:
    fast_path = read_raw(raws, shape.fields, [link.members for link in shape.links])
    # only shapes with a computed column (derived from the whole record) take the dict way
    assert (fast_path is None) == any(f.compute is not None for f in shape.fields)
    fast, fast_parents = shape.frames_raw(raws, full)
    slow, slow_parents = shape.frames([orjson.loads(r) for r in raws], full)
    fast, slow = sorted_frames(fast), sorted_frames(slow)
    assert fast.keys() == slow.keys()
    for name in slow:
        assert_frame_equal(fast[name], slow[name])
    for name in slow_parents:
        assert fast_parents[name].to_list() == slow_parents[name].to_list()


SOURCES = {
    "contacts": (contacts.SHAPE, "/contacts", "data"),
    "companies": (companies.SHAPE, "/companies", "data"),
    "conversations": (conversations.SHAPE, "/conversations", "conversations"),
    "admins": (admins.SHAPE, "/admins", "admins"),
    "teams": (teams.SHAPE, "/teams", "teams"),
    "tags": (tags.SHAPE, "/tags", "data"),
    "segments": (segments.SHAPE, "/segments", "segments"),
    "data_attributes": (data_attributes.SHAPE, "/data_attributes", "data"),
}


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_raw_records_shape_exactly_like_decoded_ones(client: IntercomClient, name: str) -> None:
    shape, path, key = SOURCES[name]
    pages = iter_cursor_pages(client, path, per_page=None, items_key=key)
    raws = [raw for page in pages for raw in page.raw_items]
    assert raws, f"the sandbox lists no {name}"
    assert_same_frames(shape, raws)
    frames, _ = shape.frames_raw(raws)
    entity = frames[shape.table]
    # `_raw` is the record's own text, byte for byte
    assert entity.get_column("_raw").to_list() == [r.decode() for r in raws]


def test_full_member_lists_replace_the_embedded_ones(client: IntercomClient) -> None:
    pages = iter_cursor_pages(client, "/contacts", per_page=None, items_key="data")
    raws = [raw for page in pages for raw in page.raw_items][:20]
    first, second = (orjson.loads(r)["id"] for r in raws[:2])
    full = {"contact_tags": {first: ["t1", "t2"], second: []}}
    assert_same_frames(contacts.SHAPE, raws, full)
    frames, _ = contacts.SHAPE.frames_raw(raws, full)
    tags_of = frames["contact_tags"].filter(pl.col("contact_id").is_in([first, second]))
    assert sorted(tags_of.rows()) == [(first, "t1"), (first, "t2")]


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
    assert_same_frames(TOY, raws)
    frames, _ = TOY.frames_raw(raws)
    things = frames["things"]
    assert things.get_column("name").to_list() == ["42", None, "true", None]
    assert orjson.loads(things.item(0, "attributes")) == orjson.loads(raws[0])["attributes"]
    assert things.get_column("attributes").to_list()[1:] == [None, None, None]
    assert things.get_column("profiles").to_list() == ["[]", None, None, None]
    assert sorted(frames["thing_admins"].rows()) == [("1", "5"), ("1", "6")]


def test_a_batch_the_reader_cannot_take_goes_the_dict_way() -> None:
    pretty = orjson.dumps({"id": "p", "count": 1}, option=orjson.OPT_INDENT_2)
    assert b"\n" in pretty
    assert read_raw([pretty], TOY.fields, [link.members for link in TOY.links]) is None
    frames, _ = TOY.frames_raw([pretty, raw(id="q")])
    assert frames["things"].get_column("count").to_list() == [1, None]
    assert frames["things"].get_column("_raw").to_list() == [pretty.decode(), '{"id":"q"}']


def test_a_value_of_the_wrong_type_is_refused_with_its_column() -> None:
    raws = [raw(id="1", count=1), raw(id="2", count="many")]
    assert read_raw(raws, TOY.fields, [link.members for link in TOY.links]) is None
    with pytest.raises(ValueError, match="'count'"):
        TOY.frames_raw(raws)


def test_an_empty_batch_gives_empty_typed_frames() -> None:
    frames, parents = TOY.frames_raw([])
    assert frames["things"].height == 0
    assert frames["things"].schema["seen_at"] == TIMESTAMP
    assert parents["thing_tags"].len() == 0
