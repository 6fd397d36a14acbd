"""Intercom's search language (POST /contacts/search, /conversations/search) over in-memory records.

``compile_search`` checks a request body and turns it into a ``SearchPlan``: a predicate compiled
once, a sort order and the page request. ``paginate`` applies a plan to a sequence of records and
returns one page.

Semantics (API 2.14), including the choices the API reference leaves open:

- Query: a single filter ``{"field", "operator", "value"}`` or a group ``{"operator": "AND"|"OR",
  "value": [...]}``. A group may mix filters and groups; groups nest at most 2 levels deep; a
  group holds 1 to 15 items.
- Operators by field type. Contacts: string ``= != IN NIN ~ !~ ^ $``; integer ``= != IN NIN > <
  >= <=``; date ``= > <``; boolean ``= != IN NIN``; ``tag_id`` ``= !=``; ``segment_id`` ``= != IN
  NIN``. Conversations: every type takes ``= != IN NIN``; integers and dates add ``> <``; strings
  and id lists add ``~ !~ ^ $``; ``>=``/``<=`` are rejected.
- Contact dates match whole days in the workspace time zone: ``=`` the value's day, ``>`` from
  00:00 of the next day, ``<`` before 00:00 of the value's day. Conversation dates are exact to the
  second and ``>``/``<`` are strict.
- Strings compare case-insensitively. ``source.body`` (conversations) matches ``= != IN NIN``
  against its words (HTML stripped), and ``~ !~ ^ $`` against the whole text.
- Missing values are null and match no comparison, ``!=``, ``NIN`` and ``!~`` included, except the
  null filters ``= null`` (the value is missing) and ``!= null`` (the value is present). Id lists
  (``tag_id``, ``segment_id``, ``contact_ids``, ``teammate_ids``, ``tag_ids``) are memberships: a
  missing list is empty, so ``tag_id != T`` matches contacts without tags. They are read from the
  record's private full list (``_tag_ids``, ``_segment_ids``, ``_contact_ids``, ``_teammate_ids``)
  when present, else from the embedded public list.
- Sort: ``sort.field`` defaults to ``updated_at``, ``sort.order`` to ``descending``; any other
  order is ``invalid_sort_order``. Values sort by their full value, nulls last in both orders, ties
  broken by ``id`` in the same direction, so the order is total.
- Pages: ``per_page`` defaults to 50 (contacts) or 20 (conversations); a value outside 1..150 is an
  error (``parameter_invalid``), not clamped. ``starting_after`` is base64 of the JSON keyset
  ``[sort value, id]`` of the previous page's last record; the next page starts strictly after it,
  so a record edited between pages moves in the order (with ascending ``updated_at`` it comes back
  later as a duplicate, never skipped).
"""

import base64
import binascii
import html
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import orjson

Record = Mapping[str, Any]
Predicate = Callable[[Record], bool]
Getter = Callable[[Record], Any]
OrderKey = tuple[bool, int, Any, str]  # (is null, type rank, value, id)

MAX_PER_PAGE = 150
MAX_GROUP_DEPTH = 2
MAX_GROUP_SIZE = 15
DEFAULT_SORT_FIELD = "updated_at"
CACHE_SIZE = 32

# Field kinds: how a value is read, compared and which operators apply.
STRING, INTEGER, DATE, BOOLEAN, IDS, TEXT = "string", "integer", "date", "boolean", "ids", "text"
SCALAR_OPS = frozenset({"=", "!=", "IN", "NIN"})
ORDER_OPS = frozenset({">", "<"})
STRING_OPS = frozenset({"~", "!~", "^", "$"})
ALL_OPS = SCALAR_OPS | ORDER_OPS | STRING_OPS | {">=", "<="}

KIND_NAMES = {
    STRING: "a string",
    INTEGER: "an integer",
    DATE: "a date (unix timestamp)",
    BOOLEAN: "a boolean",
    IDS: "a string id",
    TEXT: "a string",
}
# data_type of a custom data attribute -> field kind
CUSTOM_ATTRIBUTE_KINDS = {
    "string": STRING,
    "integer": INTEGER,
    "float": INTEGER,
    "boolean": BOOLEAN,
    "date": DATE,
    "datetime": DATE,
}
CUSTOM_PREFIX = "custom_attributes."
INVALID_CURSOR_MESSAGE = (
    "Invalid starting_after param. Please try again using a starting_after value from a "
    "paginated response"
)


class SearchError(Exception):
    """A search request Intercom would answer with 400 and this error code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Field:
    """A searchable field: its kind and how to read it from a record."""

    name: str
    kind: str
    get: Getter


# --- reading records ---------------------------------------------------------------------------


def path_getter(path: str) -> Getter:
    keys = path.split(".")
    if len(keys) == 1:
        (key,) = keys
        return lambda r: r.get(key)

    def get(record: Record) -> Any:
        value: Any = record
        for key in keys:
            if not isinstance(value, Mapping):
                return None
            value = value.get(key)
        return value

    return get


def _custom_getter(name: str) -> Getter:
    def get(record: Record) -> Any:
        attrs = record.get("custom_attributes")
        return attrs.get(name) if isinstance(attrs, Mapping) else None

    return get


def ids_getter(private: str | None, path: str | None, list_key: str | None) -> Getter:
    """Reads an id list from a private list field, else from ``record[path][list_key][*].id``."""
    outer = path_getter(path) if path else None

    def get(record: Record) -> list[Any]:
        if private is not None:
            ids = record.get(private)
            if ids is not None:
                return list(ids)
        if outer is None:
            return []
        container = outer(record)
        items = container.get(list_key) if isinstance(container, Mapping) else None
        if not isinstance(items, list):
            return []
        return [item.get("id") for item in items if isinstance(item, Mapping)]

    return get


def make_fields(kinds: Mapping[str, str], **special: tuple[str, Getter]) -> dict[str, Field]:
    fields = {name: Field(name, kind, path_getter(name)) for name, kind in kinds.items()}
    fields.update({name: Field(name, kind, get) for name, (kind, get) in special.items()})
    return fields


# --- values ------------------------------------------------------------------------------------


def _number(value: Any) -> int | float | None:
    """A record's numeric value, or None when it is missing or not a number."""
    if type(value) is int or type(value) is float:
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return None
    return None


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.casefold()
    if value is None or isinstance(value, bool | Mapping | list):
        return None
    return str(value).casefold()


_TAG = re.compile(r"<[^>]*>")
_WORD = re.compile(r"\w+")


def _plain(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return html.unescape(_TAG.sub(" ", value)).casefold()


def _words(value: Any) -> list[str]:
    plain = _plain(value)
    return _WORD.findall(plain) if plain else []


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _query_value(field: Field, value: Any) -> Any:
    """The filter value converted to the field's kind; SearchError when it has the wrong type."""
    kind = field.kind
    converted: Any = None
    if kind in (INTEGER, DATE):
        if isinstance(value, bool):
            converted = None
        elif isinstance(value, int):
            converted = value
        elif isinstance(value, float) and math.isfinite(value):
            converted = int(value) if kind == DATE else value
        elif isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            converted = int(value)
    elif kind == BOOLEAN:
        if isinstance(value, bool):
            converted = value
        elif isinstance(value, str) and value.lower() in ("true", "false"):
            converted = value.lower() == "true"
    elif isinstance(value, str):
        converted = value.casefold()
    elif isinstance(value, int) and not isinstance(value, bool):
        converted = str(value)
    if converted is None:
        raise SearchError(
            "parameter_invalid",
            f"value {value!r} for field '{field.name}' must be {KIND_NAMES[kind]}",
        )
    return converted


# --- compiling filters -------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SearchModel:
    """A searchable resource: its fields, the operators each field kind takes, its defaults.

    Compiled queries are cached per model object, so build one model per resource, once.
    """

    name: str
    """The model's name in error messages (`contact`, `conversation`)."""
    fields: Mapping[str, Field] = dataclass_field(repr=False)
    operators: Mapping[str, frozenset[str]] = dataclass_field(repr=False)
    """Field kind -> the operators it takes."""
    default_per_page: int = 20
    whole_day_dates: bool = False
    """Dates match whole days in the workspace time zone (contacts), else exact seconds."""
    custom_attributes: bool = False
    """`custom_attributes.<name>` fields are searchable (typed by the data attributes)."""
    field_operators: Mapping[str, frozenset[str]] = dataclass_field(default_factory=dict)
    """Per-field operator sets that replace the kind's (contacts' `tag_id`)."""


@dataclass(frozen=True)
class _Context:
    model: SearchModel
    tz: ZoneInfo
    custom_types: Mapping[str, str]


def _resolve_field(name: Any, ctx: _Context, value: Any) -> Field:
    if not isinstance(name, str) or not name:
        raise SearchError("parameter_invalid", f"field must be a non-empty string, not {name!r}")
    known = ctx.model.fields.get(name)
    if known is not None:
        return known
    if (
        ctx.model.custom_attributes
        and name.startswith(CUSTOM_PREFIX)
        and len(name) > len(CUSTOM_PREFIX)
    ):
        attr = name[len(CUSTOM_PREFIX) :]
        data_type = ctx.custom_types.get(attr)
        if data_type is not None:
            kind = CUSTOM_ATTRIBUTE_KINDS.get(data_type, STRING)
        else:
            kind = _infer_kind(value)
        return Field(name, kind, _custom_getter(attr))
    raise SearchError("parameter_invalid", f"'{name}' is not a searchable {ctx.model.name} field")


def _infer_kind(value: Any) -> str:
    """The kind of an undeclared custom attribute, from the type of the value searched for."""
    sample = value[0] if isinstance(value, list) and value else value
    if isinstance(sample, bool):
        return BOOLEAN
    if isinstance(sample, int | float):
        return INTEGER
    return STRING


def _day_start(day: date, tz: ZoneInfo) -> int:
    """The first second of ``day`` in ``tz`` (the first instant after a gap at midnight)."""
    return int(datetime.combine(day, time(), tzinfo=tz).timestamp())


def _day_bounds(ts: int, tz: ZoneInfo) -> tuple[int, int]:
    """[start, end) of the local calendar day holding ``ts``."""
    day = datetime.fromtimestamp(ts, tz).date()
    return _day_start(day, tz), _day_start(day + timedelta(days=1), tz)


def _compile_filter(node: Mapping[str, Any], ctx: _Context) -> Predicate:
    op = node.get("operator")
    if op not in ALL_OPS:
        raise SearchError("parameter_invalid", f"unknown filter operator {op!r}")
    if "value" not in node:
        raise SearchError("parameter_invalid", f"filter on {node.get('field')!r} needs a 'value'")
    value = node["value"]
    field = _resolve_field(node.get("field"), ctx, value)
    special = ctx.model.field_operators.get(field.name)
    allowed = special if special is not None else ctx.model.operators.get(field.kind, frozenset())
    if op not in allowed:
        kind = field.name if special is not None else field.kind
        raise SearchError(
            "parameter_invalid",
            f"operator '{op}' is not supported for field '{field.name}' ({kind}); "
            f"use one of {', '.join(sorted(allowed))}",
        )
    if value is None:
        return _null_filter(field, op)
    if op in ("IN", "NIN"):
        if not isinstance(value, list):
            raise SearchError(
                "parameter_invalid", f"operator {op} on '{field.name}' needs an array value"
            )
        values = frozenset(_query_value(field, v) for v in value)
        return _membership(field, op == "IN", values)
    if isinstance(value, list | Mapping):
        raise SearchError(
            "parameter_invalid",
            f"value for field '{field.name}' must be {KIND_NAMES[field.kind]}, not an array",
        )
    converted = _query_value(field, value)
    if field.kind == DATE and ctx.model.whole_day_dates:
        return _contact_date(field, op, converted, ctx.tz)
    if field.kind == IDS:
        return _ids_filter(field.get, op, converted)
    if field.kind == TEXT:
        if op == "=":
            return _ids_filter(lambda r: _words(field.get(r)), op, converted)
        if op == "!=":
            words = _ids_filter(lambda r: _words(field.get(r)), op, converted)
            return lambda r: field.get(r) is not None and words(r)
        return _scalar(lambda r: _plain(field.get(r)), op, converted)
    return _scalar(_normalized_getter(field), op, converted)


def _normalized_getter(field: Field) -> Getter:
    get = field.get
    if field.kind in (INTEGER, DATE):
        return lambda r: _number(get(r))
    if field.kind == BOOLEAN:
        return lambda r: _bool(get(r))
    if field.kind == TEXT:
        return lambda r: _plain(get(r))
    return lambda r: _text(get(r))


def _null_filter(field: Field, op: str) -> Predicate:
    if op not in ("=", "!="):
        raise SearchError(
            "parameter_invalid", f"a null value on '{field.name}' works only with = and !="
        )
    want_null = op == "="
    if field.kind == IDS:
        get_ids = field.get
        return lambda r: (not get_ids(r)) is want_null
    get = _normalized_getter(field)
    return lambda r: (get(r) is None) is want_null


def _membership(field: Field, inside: bool, values: frozenset[Any]) -> Predicate:
    if field.kind == IDS:
        get_ids = field.get
        if inside:
            return lambda r: any(_text(v) in values for v in get_ids(r))
        return lambda r: not any(_text(v) in values for v in get_ids(r))
    if field.kind == TEXT:
        get_text = field.get
        if inside:
            return lambda r: any(w in values for w in _words(get_text(r)))
        return lambda r: (t := get_text(r)) is not None and not any(w in values for w in _words(t))
    get = _normalized_getter(field)
    if inside:
        return lambda r: (v := get(r)) is not None and v in values
    return lambda r: (v := get(r)) is not None and v not in values


def _contact_date(field: Field, op: str, ts: int, tz: ZoneInfo) -> Predicate:
    try:
        start, end = _day_bounds(ts, tz)
    except (OverflowError, ValueError, OSError) as exc:
        raise SearchError("parameter_invalid", f"{ts} is out of range for '{field.name}'") from exc
    get = _normalized_getter(field)
    if op == "=":
        return lambda r: (v := get(r)) is not None and start <= v < end
    if op == ">":
        return lambda r: (v := get(r)) is not None and v >= end
    return lambda r: (v := get(r)) is not None and v < start


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda v, q: v == q,
    "!=": lambda v, q: v != q,
    ">": lambda v, q: v > q,
    "<": lambda v, q: v < q,
    ">=": lambda v, q: v >= q,
    "<=": lambda v, q: v <= q,
    "~": lambda v, q: q in v,
    "!~": lambda v, q: q not in v,
    "^": lambda v, q: v.startswith(q),
    "$": lambda v, q: v.endswith(q),
}


def _scalar(get: Getter, op: str, q: Any) -> Predicate:
    if op == "=":
        return lambda r: get(r) == q
    if op == "!=":
        return lambda r: (v := get(r)) is not None and v != q
    compare = _COMPARE[op]
    return lambda r: (v := get(r)) is not None and compare(v, q)


def _ids_filter(get_list: Getter, op: str, q: str) -> Predicate:
    if op == "=":
        return lambda r: any(_text(v) == q for v in get_list(r))
    if op == "!=":
        return lambda r: not any(_text(v) == q for v in get_list(r))
    if op == "!~":
        return lambda r: not any(q in t for v in get_list(r) if (t := _text(v)) is not None)
    compare = _COMPARE[op]
    return lambda r: any(compare(t, q) for v in get_list(r) if (t := _text(v)) is not None)


def _compile_node(node: Any, ctx: _Context, depth: int) -> Predicate:
    if not isinstance(node, Mapping):
        raise SearchError("parameter_invalid", "each query item must be an object")
    if node.get("operator") not in ("AND", "OR"):
        return _compile_filter(node, ctx)
    if depth >= MAX_GROUP_DEPTH:
        raise SearchError(
            "parameter_invalid", f"AND/OR groups can nest at most {MAX_GROUP_DEPTH} levels deep"
        )
    items = node.get("value")
    if not isinstance(items, list) or not items:
        raise SearchError("parameter_invalid", f"{node['operator']} needs a non-empty array value")
    if len(items) > MAX_GROUP_SIZE:
        raise SearchError(
            "parameter_invalid",
            f"an {node['operator']} group holds at most {MAX_GROUP_SIZE} filters, got {len(items)}",
        )
    parts = tuple(_compile_node(item, ctx, depth + 1) for item in items)
    if len(parts) == 1:
        return parts[0]
    if node["operator"] == "AND":
        return _all_of(parts)
    return _any_of(parts)


def _all_of(parts: tuple[Predicate, ...]) -> Predicate:
    def every(record: Record) -> bool:
        for part in parts:  # noqa: SIM110 - a plain loop is faster than all() over a generator
            if not part(record):
                return False
        return True

    return every


def _any_of(parts: tuple[Predicate, ...]) -> Predicate:
    def some(record: Record) -> bool:
        for part in parts:  # noqa: SIM110 - a plain loop is faster than any() over a generator
            if part(record):
                return True
        return False

    return some


# --- sorting and cursors -----------------------------------------------------------------------


def _sort_key(value: Any) -> tuple[int, Any] | None:
    """A comparable key for any sort value (numbers, then strings, then booleans); None is null."""
    if value is None:
        return None
    if isinstance(value, bool):
        return (2, value)
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return None


def _encode_cursor(value: Any, record_id: str) -> str:
    sortable = value if _sort_key(value) is not None else None
    return base64.b64encode(orjson.dumps([sortable, record_id])).decode()


def _decode_cursor(cursor: Any) -> tuple[Any, str]:
    try:
        if not isinstance(cursor, str):
            raise ValueError(cursor)
        decoded = orjson.loads(base64.b64decode(cursor.encode("ascii"), validate=True))
    except (ValueError, binascii.Error, UnicodeEncodeError) as exc:
        raise SearchError("client_error", INVALID_CURSOR_MESSAGE) from exc
    if not (isinstance(decoded, list) and len(decoded) == 2 and isinstance(decoded[1], str)):
        raise SearchError("client_error", INVALID_CURSOR_MESSAGE)
    if decoded[0] is not None and _sort_key(decoded[0]) is None:
        raise SearchError("client_error", INVALID_CURSOR_MESSAGE)
    return decoded[0], decoded[1]


# --- plans -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Query:
    """The cacheable part of a plan: filter and order (no pagination)."""

    signature: bytes
    predicate: Predicate
    sort_field: str
    sort_get: Getter
    descending: bool


@dataclass(frozen=True)
class SearchPlan:
    """A checked search request: predicate, order and the page asked for."""

    model: SearchModel
    query: _Query
    per_page: int
    starting_after: tuple[Any, str] | None

    @property
    def sort_field(self) -> str:
        return self.query.sort_field

    @property
    def descending(self) -> bool:
        return self.query.descending

    def matches(self, record: Record) -> bool:
        return self.query.predicate(record)


def compile_search(
    body: Any,
    *,
    model: SearchModel,
    timezone: str,
    custom_attribute_types: Mapping[str, str] | None = None,
) -> SearchPlan:
    """Check a search body and compile it; raises SearchError for anything Intercom rejects.

    ``custom_attribute_types`` maps contact custom attribute names to their data attribute
    ``data_type`` (``date`` ones then match whole days); an undeclared attribute takes its type
    from the value searched for.
    """
    if not isinstance(body, Mapping):
        raise SearchError("parameter_invalid", "the request body must be a JSON object")
    if "query" not in body:
        raise SearchError("parameter_not_found", "query is required")
    sort = body.get("sort")
    if sort is not None and not isinstance(sort, Mapping):
        raise SearchError("parameter_invalid", "sort must be an object")
    try:
        signature = orjson.dumps(
            [
                model.name,
                timezone,
                body["query"],
                sort,
                sorted((custom_attribute_types or {}).items()),
            ],
            option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
        )
    except TypeError as exc:
        raise SearchError("parameter_invalid", "the query must be plain JSON") from exc
    query = _compile_query(model, signature)
    per_page, starting_after = _pagination(body.get("pagination"), model)
    return SearchPlan(model, query, per_page, starting_after)


@lru_cache(maxsize=256)
def _compile_query(model: SearchModel, signature: bytes) -> _Query:
    _name, timezone, query, sort, custom_types = orjson.loads(signature)
    ctx = _Context(model, ZoneInfo(timezone), dict(custom_types))
    predicate = _compile_node(query, ctx, 0)
    sort = sort or {}
    order = sort.get("order", "descending")
    if order not in ("ascending", "descending"):
        raise SearchError(
            "invalid_sort_order",
            f"Invalid sort order '{order}'. Must be one of: ascending, descending",
        )
    sort_field = sort.get("field", DEFAULT_SORT_FIELD)
    field = _resolve_field(sort_field, ctx, None)
    if field.kind == IDS:
        raise SearchError("parameter_invalid", f"cannot sort on the id list '{sort_field}'")
    return _Query(signature, predicate, sort_field, field.get, order == "descending")


def _pagination(pagination: Any, model: SearchModel) -> tuple[int, tuple[Any, str] | None]:
    if pagination is None:
        return model.default_per_page, None
    if not isinstance(pagination, Mapping):
        raise SearchError("parameter_invalid", "pagination must be an object")
    per_page = pagination.get("per_page", model.default_per_page)
    if isinstance(per_page, str) and per_page.isdigit():
        per_page = int(per_page)
    if isinstance(per_page, bool) or not isinstance(per_page, int):
        raise SearchError("parameter_invalid", "per_page must be an integer")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise SearchError("parameter_invalid", f"per_page must be between 1 and {MAX_PER_PAGE}")
    cursor = pagination.get("starting_after")
    return per_page, (_decode_cursor(cursor) if cursor is not None else None)


# --- matching, ordering and paging -------------------------------------------------------------


@dataclass(frozen=True)
class _Matches:
    """Matching records in result order, with their order keys."""

    records: list[Record]
    keys: list[OrderKey]


def _order_key(value: Any, record_id: Any) -> OrderKey:
    key = _sort_key(value)
    if key is None:
        return (True, 0, 0, str(record_id))
    return (False, key[0], key[1], str(record_id))


def _match(records: Sequence[Record], query: _Query) -> _Matches:
    predicate, get = query.predicate, query.sort_get
    keyed = [(_order_key(get(r), r.get("id")), r) for r in records if predicate(r)]
    if query.descending:
        present = [item for item in keyed if not item[0][0]]
        missing = [item for item in keyed if item[0][0]]
        present.sort(key=_first, reverse=True)
        missing.sort(key=_first, reverse=True)
        keyed = present + missing
    else:
        keyed.sort(key=_first)  # nulls carry True first, so they come last
    return _Matches([r for _, r in keyed], [k for k, _ in keyed])


def _first(item: tuple[OrderKey, Record]) -> OrderKey:
    return item[0]


def _is_after(key: OrderKey, cursor: OrderKey, descending: bool) -> bool:
    """Whether ``key`` comes strictly after ``cursor`` in the result order (nulls last)."""
    if key[0] != cursor[0]:
        return key[0]
    return key > cursor if not descending else key < cursor


def _start_index(matches: _Matches, cursor: tuple[Any, str], descending: bool) -> int:
    """Index of the first match strictly after the cursor (binary search)."""
    target = _order_key(*cursor)
    lo, hi = 0, len(matches.keys)
    while lo < hi:
        mid = (lo + hi) // 2
        if _is_after(matches.keys[mid], target, descending):
            hi = mid
        else:
            lo = mid + 1
    return lo


class _MatchCache:
    """A small thread-safe LRU of match lists keyed by (query signature, caller's data key)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[tuple[bytes, Hashable], _Matches] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[bytes, Hashable]) -> _Matches | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[bytes, Hashable], matches: _Matches) -> None:
        with self._lock:
            self._items[key] = matches
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_CACHE = _MatchCache(CACHE_SIZE)


@dataclass(frozen=True)
class SearchPage:
    """One page of results and the figures for Intercom's ``pages`` object."""

    items: list[Record]
    next_cursor: str | None
    total_count: int
    page: int
    per_page: int
    total_pages: int


def search_page(
    records: Sequence[Record], plan: SearchPlan, *, cache_key: Hashable | None = None
) -> SearchPage:
    """The page of ``records`` that ``plan`` asks for.

    With ``cache_key`` the sorted match list is kept in a small LRU under (query, cache_key), so
    walking every page of one query filters and sorts once. The key must change whenever the
    records change, and must differ between record sets (e.g. ``(store id, model, version)``).
    """
    matches = None
    if cache_key is not None:
        key = (plan.query.signature, cache_key)
        matches = _CACHE.get(key)
        if matches is None:
            matches = _match(records, plan.query)
            _CACHE.put(key, matches)
    else:
        matches = _match(records, plan.query)
    start = 0
    if plan.starting_after is not None:
        start = _start_index(matches, plan.starting_after, plan.descending)
    end = start + plan.per_page
    items = matches.records[start:end]
    total = len(matches.records)
    next_cursor = None
    if end < total and items:
        last = items[-1]
        next_cursor = _encode_cursor(plan.query.sort_get(last), str(last.get("id")))
    return SearchPage(
        items=items,
        next_cursor=next_cursor,
        total_count=total,
        page=start // plan.per_page + 1,
        per_page=plan.per_page,
        total_pages=math.ceil(total / plan.per_page),
    )


def paginate(
    records: Sequence[Record], plan: SearchPlan, *, cache_key: Hashable | None = None
) -> tuple[list[Record], str | None, int]:
    """``(items, next_cursor, total_count)`` of the page ``plan`` asks for (see ``search_page``)."""
    page = search_page(records, plan, cache_key=cache_key)
    return page.items, page.next_cursor, page.total_count


def clear_cache() -> None:
    """Forget every cached match list."""
    _CACHE.clear()
