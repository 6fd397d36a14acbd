"""What the resources' endpoints share: the parsed request, list and page builders, search."""

import bisect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from intercom_assets.sandbox.core import SandboxCore
from intercom_assets.sandbox.errors import ApiError
from intercom_assets.sandbox.pagination import decode_cursor, encode_cursor, list_body, per_page
from intercom_assets.sandbox.search import SearchError, SearchModel, compile_search, search_page
from intercom_assets.sandbox.store import Store, numeric_id
from intercom_assets.sandbox.versions import rendering, version_at_least


@dataclass(frozen=True)
class Call:
    """One parsed API request."""

    params: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    base_url: str
    version: str = "2.14"
    """The `Intercom-Version` the request asked for."""


Handler = Callable[[SandboxCore, Call], bytes]


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def require_version(call: Call, minimum: tuple[int, int]) -> None:
    """400 `intercom_version_invalid` for an endpoint the request's version does not have."""
    if not version_at_least(call.version, minimum):
        raise ApiError(
            400,
            "intercom_version_invalid",
            "Requested resource is not available in current API version.",
        )


def one_of(query: Mapping[str, str], name: str, allowed: Sequence[str]) -> str | None:
    """The parameter `name`, None when absent or empty; 400 when it is none of `allowed`."""
    value = query.get(name) or None
    if value is not None and value not in allowed:
        raise ApiError(
            400, "parameter_invalid", f"{name} must be one of {', '.join(allowed)}, got {value!r}"
        )
    return value


def sort_order(query: Mapping[str, str]) -> str:
    """The `order` parameter (`asc` or `desc`, default `desc`); 400 for anything else."""
    return one_of(query, "order", ("asc", "desc")) or "desc"


def flag(query: Mapping[str, str], name: str) -> bool:
    raw = query.get(name, "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise ApiError(400, "parameter_invalid", f"{name} must be true or false, got {raw!r}")
    return raw in ("true", "1")


def record_json(store: Store, kind: str, record: Mapping[str, Any], version: str) -> bytes:
    """A record's JSON as the request's `Intercom-Version` sends it (`versions.py`), cached."""
    later = rendering(kind, version)
    if later is None:
        return store.json_of(kind, record)
    return store.json_of(kind, record, later.name, later.reshape)


def list_of(store: Store, kind: str, head: Mapping[str, object], key: str) -> bytes:
    """Every live record of a kind, sorted by id, as `{**head, key: [...]}` (no paging)."""
    table = store.tables[kind]
    return dumps({**head, key: [table[i] for i in store.sorted_ids(kind)]})


def cursor_page(
    core: SandboxCore,
    call: Call,
    kind: str,
    ids: list[str],
    key: str,
    head: Mapping[str, object],
    default_size: int,
    render: Callable[[Any], bytes] | None = None,
) -> bytes:
    """A page of a keyset-paginated GET list (`pages.next.starting_after`); `render` makes an
    item's JSON (default: the record's cached JSON, as the request's version sends it)."""
    size = per_page(call.query, default_size)
    cursor = call.query.get("starting_after")
    start = 0
    if cursor:
        last = decode_cursor(cursor)
        if core.store.numeric_ids(kind):
            start = bisect.bisect_right(ids, numeric_id(last), key=numeric_id)
        else:
            start = bisect.bisect_right(ids, last)
    chunk = ids[start : start + size]
    table = core.store.tables[kind]
    pages: dict[str, object] = {
        "type": "pages",
        "page": start // size + 1,
        "per_page": size,
        "total_pages": math.ceil(len(ids) / size),
    }
    if start + size < len(ids):
        pages["next"] = {"per_page": size, "starting_after": encode_cursor(chunk[-1])}
    if render is None:
        items = [record_json(core.store, kind, table[i], call.version) for i in chunk]
    else:
        items = [render(table[i]) for i in chunk]
    return list_body(head, key, items, {"total_count": len(ids), "pages": pages})


def search_route(model: SearchModel, kind: str, head: Mapping[str, object], key: str) -> Handler:
    """The handler of `POST /<kind>/search` over the searchable records of a store table."""

    def search(core: SandboxCore, call: Call) -> bytes:
        try:
            body = orjson.loads(call.body or b"{}")
        except orjson.JSONDecodeError:
            raise ApiError(400, "bad_request", "the request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "bad_request", "the request body must be a JSON object")
        custom_types = core.custom_attribute_types(model.name) if model.custom_attributes else None
        try:
            plan = compile_search(
                body,
                model=model,
                timezone=core.store.timezone,
                custom_attribute_types=custom_types,
            )
            records, cache_key = core.searchable_with_key(kind)
            page = search_page(records, plan, cache_key=cache_key)
        except SearchError as exc:
            raise ApiError(400, exc.code, exc.message) from None
        pages: dict[str, object] = {
            "type": "pages",
            "page": page.page,
            "per_page": page.per_page,
            "total_pages": page.total_pages,
        }
        if page.next_cursor:
            pages["next"] = {"per_page": page.per_page, "starting_after": page.next_cursor}
        rendered = [record_json(core.store, kind, r, call.version) for r in page.items]
        return list_body(head, key, rendered, {"total_count": page.total_count, "pages": pages})

    return search
