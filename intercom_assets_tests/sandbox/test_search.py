"""The sandbox's search engine: operators, day-granular contact dates, limits, order and cursors."""

import base64
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from intercom_assets.sandbox.resources.contacts import SEARCH as CONTACT
from intercom_assets.sandbox.resources.conversations import SEARCH as CONVERSATION
from intercom_assets.sandbox.search import (
    SearchError,
    compile_search,
    paginate,
    search_page,
)

MODELS = {"contact": CONTACT, "conversation": CONVERSATION}

NY = ZoneInfo("America/New_York")


def ts(text: str, tz: ZoneInfo = NY) -> int:
    """Unix seconds of a local wall-clock time such as '2024-03-10 23:59:59'."""
    return int(datetime.fromisoformat(text).replace(tzinfo=tz).timestamp())


def walk(records: list[dict], body: dict, *, model: str = "contact", tz: str = "UTC", **kw: Any):
    """Every page of a search, following cursors; returns the ids in the order served."""
    seen: list[str] = []
    body = dict(body)
    pagination = dict(body.get("pagination", {}))
    for _ in range(10_000):
        body["pagination"] = pagination
        plan = compile_search(body, model=MODELS[model], timezone=tz)
        items, cursor, _total = paginate(records, plan, **kw)
        seen.extend(r["id"] for r in items)
        if cursor is None:
            return seen
        pagination["starting_after"] = cursor
    raise AssertionError("cursor walk did not end")


def search(records, query, *, model="contact", tz="UTC", **extra) -> set[str]:
    body = {"query": query, "pagination": {"per_page": 150}, **extra}
    return set(walk(records, body, model=model, tz=tz))


def flt(field: str, op: str, value: Any) -> dict:
    return {"field": field, "operator": op, "value": value}


def error_of(body: Any, model: str = "contact", **kw: Any) -> SearchError:
    with pytest.raises(SearchError) as info:
        plan = compile_search(body, model=MODELS[model], timezone=kw.pop("tz", "UTC"), **kw)
        paginate([], plan)
    return info.value


# --- contacts: strings, integers, booleans ------------------------------------------------------

CONTACTS = [
    {
        "id": "a",
        "email": "Ann@Example.com",
        "owner_id": 10,
        "has_hard_bounced": False,
        "location": {"city": "Paris"},
        "avatar": {"type": "avatar", "image_url": "https://img/a.png"},
        "custom_attributes": {"Plan (2024).tier": "gold", "seats": 5},
    },
    {
        "id": "b",
        "email": "bob@example.org",
        "owner_id": 20,
        "has_hard_bounced": True,
        "location": {"city": "Lyon"},
        "custom_attributes": {"Plan (2024).tier": "silver", "seats": 50},
    },
    {"id": "c", "email": None, "owner_id": None, "location": None, "custom_attributes": {}},
    {"id": "d", "email": "dan@sample.com", "owner_id": 30, "has_hard_bounced": False},
]


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("=", "ann@example.com", {"a"}),  # case-insensitive
        ("!=", "ann@example.com", {"b", "d"}),  # a missing email never matches
        ("IN", ["bob@example.org", "DAN@sample.com", "nobody@x"], {"b", "d"}),
        ("NIN", ["bob@example.org"], {"a", "d"}),
        ("~", "example", {"a", "b"}),
        ("!~", "example", {"d"}),
        ("^", "da", {"d"}),
        ("$", ".com", {"a", "d"}),
    ],
)
def test_contact_string_operators(op, value, expected):
    assert search(CONTACTS, flt("email", op, value)) == expected


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("=", 20, {"b"}),
        ("=", "20", {"b"}),  # numeric strings are accepted, as in the API's own example
        ("!=", 20, {"a", "d"}),
        ("IN", [10, 30], {"a", "d"}),
        ("NIN", [10], {"b", "d"}),
        (">", 10, {"b", "d"}),
        ("<", 30, {"a", "b"}),
        (">=", 20, {"b", "d"}),
        ("<=", 20, {"a", "b"}),
    ],
)
def test_contact_integer_operators(op, value, expected):
    assert search(CONTACTS, flt("owner_id", op, value)) == expected


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("=", True, {"b"}),
        ("=", False, {"a", "d"}),
        ("!=", True, {"a", "d"}),
        ("IN", [True, False], {"a", "b", "d"}),
        ("NIN", [True], {"a", "d"}),
    ],
)
def test_contact_boolean_operators(op, value, expected):
    assert search(CONTACTS, flt("has_hard_bounced", op, value)) == expected


def test_null_filters_and_nested_fields():
    assert search(CONTACTS, flt("email", "=", None)) == {"c"}
    assert search(CONTACTS, flt("email", "!=", None)) == {"a", "b", "d"}
    assert search(CONTACTS, flt("location.city", "=", "paris")) == {"a"}
    assert search(CONTACTS, flt("location.city", "!=", "paris")) == {"b"}
    assert search(CONTACTS, flt("avatar", "~", "a.png")) == {"a"}


def test_custom_attributes_with_odd_names_and_inferred_types():
    assert search(CONTACTS, flt("custom_attributes.Plan (2024).tier", "^", "gol")) == {"a"}
    assert search(CONTACTS, flt("custom_attributes.seats", ">", 10)) == {"b"}
    assert search(CONTACTS, flt("custom_attributes.seats", "IN", [5, 7])) == {"a"}
    assert search(CONTACTS, flt("custom_attributes.missing", "=", "x")) == set()


@pytest.mark.parametrize(
    ("field", "op", "value"),
    [
        ("email", ">", "a"),
        ("owner_id", "~", 1),
        ("has_hard_bounced", ">", True),
        ("has_hard_bounced", "~", "tr"),
        ("created_at", "!=", 1),
        ("created_at", ">=", 1),
        ("created_at", "<=", 1),
        ("created_at", "IN", [1]),
        ("created_at", "NIN", [1]),
        ("created_at", "~", "1"),
        ("tag_id", "IN", ["t1"]),
        ("tag_id", "NIN", ["t1"]),
        ("tag_id", "~", "t"),
        ("email", "LIKE", "x"),
    ],
)
def test_unsupported_operator_is_rejected(field, op, value):
    err = error_of({"query": flt(field, op, value)})
    assert err.code == "parameter_invalid"
    assert op in err.message


@pytest.mark.parametrize(
    ("field", "op", "value"),
    [
        ("created_at", ">", "foobar"),
        ("created_at", "=", True),
        ("owner_id", "=", "ten"),
        ("has_hard_bounced", "=", 1),
        ("email", "=", True),
        ("email", "=", ["a"]),
        ("email", "IN", "a"),
        ("owner_id", "IN", [1, "x"]),
        ("email", "~", None),
    ],
)
def test_wrong_value_type_is_rejected(field, op, value):
    assert error_of({"query": flt(field, op, value)}).code == "parameter_invalid"


def test_unknown_fields_are_rejected():
    assert "nickname" in error_of({"query": flt("nickname", "=", "x")}).message
    assert error_of({"query": flt("state", "=", "open")}).code == "parameter_invalid"
    assert error_of({"query": flt("role", "=", "user")}, model="conversation").code
    assert error_of({"query": flt("custom_attributes.x", "=", "y")}, model="conversation").code


# --- tags and segments --------------------------------------------------------------------------

TAGGED = [
    {"id": "a", "tags": {"type": "list", "data": [{"type": "tag", "id": "t1"}]}},
    # the private full list wins over the embedded (possibly truncated) one
    {"id": "b", "tags": {"data": [{"id": "t1"}]}, "_tag_ids": ["t1", "t2"], "_segment_ids": ["s1"]},
    {"id": "c", "_tag_ids": ["t2"], "_segment_ids": ["s1", "s2"]},
    {"id": "d"},
]


def test_tag_and_segment_membership():
    assert search(TAGGED, flt("tag_id", "=", "t1")) == {"a", "b"}
    assert search(TAGGED, flt("tag_id", "=", "t2")) == {"b", "c"}
    assert search(TAGGED, flt("tag_id", "!=", "t1")) == {"c", "d"}  # untagged contacts included
    assert search(TAGGED, flt("segment_id", "=", "s2")) == {"c"}
    assert search(TAGGED, flt("segment_id", "IN", ["s1", "s9"])) == {"b", "c"}
    assert search(TAGGED, flt("segment_id", "NIN", ["s1"])) == {"a", "d"}


# --- contact dates: whole days in the workspace time zone ----------------------------------------

DAY_EDGES = [
    {"id": "before", "created_at": ts("2024-01-14 23:59:59")},
    {"id": "start", "created_at": ts("2024-01-15 00:00:00")},
    {"id": "end", "created_at": ts("2024-01-15 23:59:59")},
    {"id": "next", "created_at": ts("2024-01-16 00:00:00")},
    {"id": "none", "created_at": None},
]
NOON = ts("2024-01-15 12:00:00")


def test_contact_date_equals_matches_the_whole_local_day():
    found = search(DAY_EDGES, flt("created_at", "=", NOON), tz="America/New_York")
    assert found == {"start", "end"}


def test_contact_date_greater_starts_at_the_next_local_midnight():
    found = search(DAY_EDGES, flt("created_at", ">", NOON), tz="America/New_York")
    assert found == {"next"}
    # even a value at the very first second of the day excludes the rest of that day
    first = ts("2024-01-15 00:00:00")
    assert search(DAY_EDGES, flt("created_at", ">", first), tz="America/New_York") == {"next"}


def test_contact_date_lower_ends_before_the_local_midnight_of_the_day():
    found = search(DAY_EDGES, flt("created_at", "<", NOON), tz="America/New_York")
    assert found == {"before"}
    last = ts("2024-01-15 23:59:59")
    assert search(DAY_EDGES, flt("created_at", "<", last), tz="America/New_York") == {"before"}


def test_contact_days_follow_the_workspace_zone_not_utc():
    # 2024-01-15 23:59:59 New York is 2024-01-16 04:59:59 UTC: another day in a UTC workspace
    found = search(DAY_EDGES, flt("created_at", "=", NOON), tz="UTC")
    assert found == {"before", "start"}
    assert "end" not in search(DAY_EDGES, flt("created_at", "=", NOON), tz="UTC")


def test_contact_date_days_across_dst_changes():
    spring = [  # 2024-03-10 in New York has 23 hours, 2024-11-03 has 25
        {"id": "s_before", "last_seen_at": ts("2024-03-09 23:59:59")},
        {"id": "s_start", "last_seen_at": ts("2024-03-10 00:00:00")},
        {"id": "s_end", "last_seen_at": ts("2024-03-10 23:59:59")},
        {"id": "s_next", "last_seen_at": ts("2024-03-11 00:00:00")},
        {"id": "f_start", "last_seen_at": ts("2024-11-03 00:00:00")},
        # 01:30 happens twice on the fall-back day; both are that day
        {"id": "f_first_0130", "last_seen_at": ts("2024-11-03 05:30:00", ZoneInfo("UTC"))},
        {"id": "f_second_0130", "last_seen_at": ts("2024-11-03 06:30:00", ZoneInfo("UTC"))},
        {"id": "f_end", "last_seen_at": ts("2024-11-03 23:59:59")},
        {"id": "f_next", "last_seen_at": ts("2024-11-04 00:00:00")},
    ]
    tz = "America/New_York"
    spring_noon = ts("2024-03-10 12:00:00")
    fall_noon = ts("2024-11-03 12:00:00")
    assert search(spring, flt("last_seen_at", "=", spring_noon), tz=tz) == {"s_start", "s_end"}
    assert search(spring, flt("last_seen_at", "<", spring_noon), tz=tz) == {"s_before"}
    gt_spring = search(spring, flt("last_seen_at", ">", spring_noon), tz=tz)
    assert "s_next" in gt_spring and "s_end" not in gt_spring
    assert search(spring, flt("last_seen_at", "=", fall_noon), tz=tz) == {
        "f_start",
        "f_first_0130",
        "f_second_0130",
        "f_end",
    }
    assert search(spring, flt("last_seen_at", ">", fall_noon), tz=tz) == {"f_next"}


def test_midnight_that_does_not_exist_starts_the_day_at_the_first_real_second():
    # Sao Paulo skipped 2018-11-04 00:00-00:59 (clocks went to 01:00, UTC-2)
    sp = ZoneInfo("America/Sao_Paulo")
    records = [
        {"id": "prev", "created_at": ts("2018-11-03 23:59:59", sp)},
        {"id": "first", "created_at": ts("2018-11-04 01:00:00", sp)},
    ]
    noon = ts("2018-11-04 12:00:00", sp)
    assert search(records, flt("created_at", "=", noon), tz="America/Sao_Paulo") == {"first"}
    assert search(records, flt("created_at", "<", noon), tz="America/Sao_Paulo") == {"prev"}


def test_declared_date_custom_attribute_matches_whole_days():
    records = [
        {"id": "x", "custom_attributes": {"renewal": ts("2024-01-15 00:00:00")}},
        {"id": "y", "custom_attributes": {"renewal": ts("2024-01-15 18:00:00")}},
        {"id": "z", "custom_attributes": {"renewal": ts("2024-01-16 00:00:00")}},
    ]
    body = {"query": flt("custom_attributes.renewal", "=", NOON)}
    types = {"renewal": "date"}
    plan = compile_search(
        body, model=CONTACT, timezone="America/New_York", custom_attribute_types=types
    )
    assert {r["id"] for r in paginate(records, plan)[0]} == {"x", "y"}
    with pytest.raises(SearchError):
        compile_search(
            {"query": flt("custom_attributes.renewal", ">=", NOON)},
            model=CONTACT,
            timezone="UTC",
            custom_attribute_types={"renewal": "date"},
        )


# --- conversations ------------------------------------------------------------------------------

T0 = 1_700_000_000
CONVERSATIONS = [
    {
        "id": "1",
        "created_at": T0 - 1,
        "updated_at": T0,
        "open": True,
        "state": "open",
        "admin_assignee_id": 7,
        "source": {"body": "<p>I need <b>support</b>, please!</p>", "author": {"type": "user"}},
        "contacts": {"contacts": [{"id": "c1"}, {"id": "c2"}]},
        "teammates": {"teammates": [{"id": "7"}]},
        "tags": {"type": "tag.list", "tags": [{"id": "t1"}]},
        "statistics": {"count_reopens": 2, "first_close_at": T0 + 100},
    },
    {
        "id": "2",
        "created_at": T0,
        "updated_at": T0 + 1,
        "open": False,
        "state": "closed",
        "admin_assignee_id": None,
        "source": {"body": "Supportive words", "author": {"type": "admin"}},
        "contacts": {"contacts": [{"id": "c2"}]},
        "tags": {"tags": []},
        "statistics": {"count_reopens": 0},
    },
    {
        "id": "3",
        "created_at": T0 + 1,
        "updated_at": T0 + 2,
        "open": False,
        "state": "snoozed",
        "admin_assignee_id": 8,
        "source": None,
        "contacts": {"contacts": []},
        "statistics": None,
    },
]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (flt("created_at", ">", T0), {"3"}),  # strict, exact to the second
        (flt("created_at", "<", T0), {"1"}),
        (flt("created_at", "=", T0), {"2"}),
        (flt("created_at", "!=", T0), {"1", "3"}),
        (flt("updated_at", "IN", [T0, T0 + 2]), {"1", "3"}),
        (flt("updated_at", "NIN", [T0]), {"2", "3"}),
        (flt("admin_assignee_id", "=", 7), {"1"}),
        (flt("admin_assignee_id", "!=", 7), {"3"}),
        (flt("admin_assignee_id", ">", 7), {"3"}),
        (flt("open", "=", True), {"1"}),
        (flt("state", "IN", ["closed", "snoozed"]), {"2", "3"}),
        (flt("state", "^", "sno"), {"3"}),
        (flt("source.body", "=", "support"), {"1"}),  # per word, HTML stripped
        (flt("source.body", "=", "need support"), set()),
        (flt("source.body", "~", "support"), {"1", "2"}),
        (flt("source.body", "!=", "support"), {"2"}),
        (flt("source.author.type", "=", "admin"), {"2"}),
        (flt("contact_ids", "=", "c2"), {"1", "2"}),
        (flt("contact_ids", "!=", "c1"), {"2", "3"}),
        (flt("contact_ids", "IN", ["c1", "c9"]), {"1"}),
        (flt("teammate_ids", "=", "7"), {"1"}),
        (flt("tag_ids", "=", "t1"), {"1"}),
        (flt("tag_ids", "NIN", ["t1"]), {"2", "3"}),
        (flt("statistics.count_reopens", ">", 0), {"1"}),
        (flt("statistics.first_close_at", ">", T0), {"1"}),
    ],
)
def test_conversation_operators(query, expected):
    assert search(CONVERSATIONS, query, model="conversation") == expected


def test_conversation_id_lists_prefer_the_private_full_lists():
    records = [
        {"id": "9", "contacts": {"contacts": [{"id": "c1"}]}, "_contact_ids": ["c1", "c5"]},
        {"id": "8", "tags": {"tags": [{"id": "t1"}]}, "_tag_ids": [], "_teammate_ids": ["7"]},
    ]
    assert search(records, flt("contact_ids", "=", "c5"), model="conversation") == {"9"}
    assert search(records, flt("tag_ids", "=", "t1"), model="conversation") == set()
    assert search(records, flt("teammate_ids", "=", "7"), model="conversation") == {"8"}


@pytest.mark.parametrize(
    ("field", "op", "value"),
    [
        ("updated_at", ">=", T0),
        ("updated_at", "<=", T0),
        ("admin_assignee_id", ">=", 1),
        ("open", "<", True),
        ("state", ">", "a"),
        ("updated_at", "~", "1"),
    ],
)
def test_conversation_rejects_operators_outside_its_table(field, op, value):
    assert error_of({"query": flt(field, op, value)}, model="conversation").code == (
        "parameter_invalid"
    )


# --- query shape limits -------------------------------------------------------------------------

NUMBERS = [{"id": f"n{i:02d}", "owner_id": i, "updated_at": T0 + i} for i in range(20)]


def test_and_or_nesting_two_levels_is_allowed():
    query = {
        "operator": "OR",
        "value": [
            {"operator": "AND", "value": [flt("owner_id", ">", 2), flt("owner_id", "<", 5)]},
            {"operator": "AND", "value": [flt("owner_id", ">", 15), flt("owner_id", "<", 18)]},
            flt("owner_id", "=", 0),  # filters and groups may be mixed in one array
        ],
    }
    assert search(NUMBERS, query) == {"n00", "n03", "n04", "n16", "n17"}


def test_three_levels_of_nesting_are_rejected():
    inner = {"operator": "AND", "value": [flt("owner_id", ">", 1)]}
    query = {"operator": "OR", "value": [{"operator": "AND", "value": [inner]}]}
    err = error_of({"query": query})
    assert err.code == "parameter_invalid" and "2" in err.message


def test_fifteen_filters_per_group_at_most():
    fifteen = [flt("owner_id", "!=", i) for i in range(15)]
    assert search(NUMBERS, {"operator": "AND", "value": fifteen}) == {
        f"n{i:02d}" for i in range(15, 20)
    }
    sixteen = [*fifteen, flt("owner_id", "!=", 15)]
    err = error_of({"query": {"operator": "AND", "value": sixteen}})
    assert "15" in err.message
    nested = {"operator": "OR", "value": [{"operator": "AND", "value": sixteen}]}
    assert error_of({"query": nested}).code == "parameter_invalid"


@pytest.mark.parametrize(
    "body",
    [
        [],
        {},
        {"query": "owner_id > 3"},
        {"query": {"operator": "AND", "value": []}},
        {"query": {"operator": "AND", "value": flt("owner_id", ">", 1)}},
        {"query": {"field": "owner_id", "operator": ">"}},
        {"query": {"operator": "XOR", "value": [flt("owner_id", ">", 1)]}},
        {"query": flt("owner_id", ">", 1), "sort": "updated_at"},
        {"query": flt("owner_id", ">", 1), "sort": {"field": "nickname"}},
        {"query": flt("owner_id", ">", 1), "sort": {"field": "tag_id"}},
        {"query": flt("owner_id", ">", 1), "pagination": {"per_page": 151}},
        {"query": flt("owner_id", ">", 1), "pagination": {"per_page": 0}},
        {"query": flt("owner_id", ">", 1), "pagination": {"per_page": "lots"}},
    ],
)
def test_malformed_bodies_are_rejected(body):
    assert error_of(body).code in {"parameter_invalid", "parameter_not_found"}


@pytest.mark.parametrize("order", ["desc", "asc", "ASCENDING", 1])
def test_sort_order_other_than_ascending_or_descending(order):
    err = error_of({"query": flt("owner_id", ">", 1), "sort": {"order": order}})
    assert err.code == "invalid_sort_order"


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64!",
        base64.b64encode(b"{}").decode(),
        base64.b64encode(b"[1, 2, 3]").decode(),
        base64.b64encode(b"[1, 2]").decode(),
        42,
    ],
)
def test_invalid_cursor_is_a_client_error(cursor):
    body = {"query": flt("owner_id", ">", 1), "pagination": {"starting_after": cursor}}
    err = error_of(body)
    assert err.code == "client_error" and "starting_after" in err.message


# --- order and cursors --------------------------------------------------------------------------

TIES = [
    {"id": "e", "updated_at": 3, "name": "Eve"},
    {"id": "b", "updated_at": 1, "name": "bob"},
    {"id": "d", "updated_at": 2, "name": None},
    {"id": "a", "updated_at": 1, "name": "Al"},
    {"id": "c", "updated_at": 2, "name": "Cy"},
    {"id": "f", "updated_at": None, "name": "Fay"},
]
EVERYONE = flt("id", "!=", "nobody")


def test_default_order_is_updated_at_descending_ties_by_id_nulls_last():
    plan = compile_search({"query": EVERYONE}, model=CONTACT, timezone="UTC")
    assert plan.sort_field == "updated_at" and plan.descending
    assert [r["id"] for r in paginate(TIES, plan)[0]] == ["e", "d", "c", "b", "a", "f"]


def test_ascending_order_and_other_sort_fields():
    asc = {"query": EVERYONE, "sort": {"field": "updated_at", "order": "ascending"}}
    assert walk(TIES, asc) == ["a", "b", "c", "d", "e", "f"]
    by_name = {"query": EVERYONE, "sort": {"field": "name", "order": "ascending"}}
    assert walk(TIES, by_name) == ["a", "c", "e", "f", "b", "d"]  # full value order, nulls last


@pytest.mark.parametrize("per_page", [1, 2, 4, 5, 6, 7])
@pytest.mark.parametrize("order", ["ascending", "descending"])
@pytest.mark.parametrize("cached", [False, True])
def test_cursor_walk_sees_every_record_exactly_once(per_page, order, cached):
    records = [
        {"id": f"r{i:03d}", "updated_at": T0 + (i * 7) % 5 if i % 9 else None} for i in range(23)
    ]
    body = {
        "query": flt("id", "^", "r"),
        "pagination": {"per_page": per_page},
        "sort": {"field": "updated_at", "order": order},
    }
    kw = {"cache_key": ("walk", per_page, order)} if cached else {}
    seen = walk(records, body, **kw)
    assert sorted(seen) == sorted(r["id"] for r in records)
    assert len(seen) == len(set(seen))


def test_cursor_looks_like_intercoms_keyset_and_pages_are_counted():
    body = {"query": EVERYONE, "pagination": {"per_page": 2}}
    plan = compile_search(body, model=CONTACT, timezone="UTC")
    page = search_page(TIES, plan)
    assert page.next_cursor is not None and page.next_cursor.startswith("Wz")
    assert orjson.loads(base64.b64decode(page.next_cursor)) == [2, "d"]
    assert (page.page, page.per_page, page.total_pages, page.total_count) == (1, 2, 3, 6)
    body["pagination"]["starting_after"] = page.next_cursor
    second = search_page(TIES, compile_search(body, model=CONTACT, timezone="UTC"))
    assert second.page == 2 and [r["id"] for r in second.items] == ["c", "b"]


def test_default_page_sizes():
    assert compile_search({"query": EVERYONE}, model=CONTACT, timezone="UTC").per_page == 50
    plan = compile_search({"query": flt("id", "=", "1")}, model=CONVERSATION, timezone="UTC")
    assert plan.per_page == 20


def test_record_edited_between_pages_comes_back_later_and_nothing_is_skipped():
    records = [{"id": f"r{i}", "updated_at": T0 + i} for i in range(10)]
    body = {
        "query": flt("id", "^", "r"),
        "pagination": {"per_page": 3},
        "sort": {"field": "updated_at", "order": "ascending"},
    }
    plan = compile_search(body, model=CONTACT, timezone="UTC")
    first, cursor, _ = paginate(records, plan, cache_key=("edit", 1))
    assert [r["id"] for r in first] == ["r0", "r1", "r2"]
    records[1] = {"id": "r1", "updated_at": T0 + 100}  # edited: moves to the end
    records[5] = {"id": "r5", "updated_at": T0 - 50}  # edited backwards: now before the cursor
    seen = [r["id"] for r in first]
    version = 2
    while cursor:
        body["pagination"]["starting_after"] = cursor
        plan = compile_search(body, model=CONTACT, timezone="UTC")
        items, cursor, _ = paginate(records, plan, cache_key=("edit", version))
        seen.extend(r["id"] for r in items)
    assert seen.count("r1") == 2 and seen[-1] == "r1"
    untouched = {f"r{i}" for i in range(10)} - {"r5"}
    assert untouched <= set(seen)


def test_cache_key_controls_reuse_of_the_match_list():
    records = [{"id": "a", "updated_at": 1}, {"id": "b", "updated_at": 2}]
    plan = compile_search({"query": EVERYONE}, model=CONTACT, timezone="UTC")
    assert paginate(records, plan, cache_key=("cache", 1))[2] == 2
    records.append({"id": "c", "updated_at": 3})
    assert paginate(records, plan, cache_key=("cache", 1))[2] == 2  # same key: the cached list
    assert paginate(records, plan, cache_key=("cache", 2))[2] == 3  # new version: recomputed
    assert paginate(records, plan)[2] == 3  # no key: never cached
