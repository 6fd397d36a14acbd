"""The Intercom 2.14 read endpoints: each takes the parsed request and returns a JSON body."""

import bisect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import orjson

from intercom_assets.sandbox.errors import ApiError
from intercom_assets.sandbox.pagination import (
    decode_cursor,
    encode_cursor,
    list_body,
    per_page,
    positive_int,
)
from intercom_assets.sandbox.store import Record, public

if TYPE_CHECKING:
    from intercom_assets.sandbox.core import SandboxCore

COMPANY_LIST_CAP = 10_000
DEFAULT_CONTACTS_PER_PAGE = 10
DEFAULT_CONVERSATIONS_PER_PAGE = 20
DEFAULT_COMPANIES_PER_PAGE = 15
DEFAULT_SUBLIST_PER_PAGE = 50
DEFAULT_EVENTS_PER_PAGE = 15


@dataclass(frozen=True)
class Call:
    """One parsed API request."""

    params: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    base_url: str
    version: str = "2.14"
    """The `Intercom-Version` the request asked for."""


Handler = Callable[["SandboxCore", Call], bytes]


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


# -- workspace metadata -------------------------------------------------------------------------


def get_me(core: "SandboxCore", call: Call) -> bytes:
    return dumps(core.store.me)


def list_admins(core: "SandboxCore", call: Call) -> bytes:
    store = core.store
    return dumps(
        {"type": "admin.list", "admins": [store.admins[i] for i in store.sorted_ids("admins")]}
    )


def get_admin(core: "SandboxCore", call: Call) -> bytes:
    admin = core.store.admins.get(call.params["id"])
    if admin is None:
        raise ApiError(404, "admin_not_found", "Admin not found")
    return dumps(admin)


def list_teams(core: "SandboxCore", call: Call) -> bytes:
    store = core.store
    return dumps(
        {"type": "team.list", "teams": [store.teams[i] for i in store.sorted_ids("teams")]}
    )


def list_tags(core: "SandboxCore", call: Call) -> bytes:
    store = core.store
    return dumps({"type": "list", "data": [store.tags[i] for i in store.sorted_ids("tags")]})


def segment_json(core: "SandboxCore", segment: Record, with_count: bool) -> Record:
    out = public(segment)
    if with_count:
        out["count"] = core.store.segment_counts().get(segment["id"], 0)
    return out


def list_segments(core: "SandboxCore", call: Call) -> bytes:
    with_count = flag(call.query, "include_count")
    store = core.store
    segments = [
        segment_json(core, store.segments[i], with_count) for i in store.sorted_ids("segments")
    ]
    return dumps({"type": "segment.list", "segments": segments, "pages": {}})


def list_data_attributes(core: "SandboxCore", call: Call) -> bytes:
    model = call.query.get("model")
    if model is not None and model not in ("contact", "company", "conversation"):
        raise ApiError(
            400,
            "parameter_invalid",
            f"model must be contact, company or conversation, got {model!r}",
        )
    archived = flag(call.query, "include_archived")
    data = [
        a
        for a in core.store.data_attributes
        if (model is None or a["model"] == model) and (archived or not a["archived"])
    ]
    return dumps({"type": "list", "data": data})


def flag(query: Mapping[str, str], name: str) -> bool:
    raw = query.get(name, "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise ApiError(400, "parameter_invalid", f"{name} must be true or false, got {raw!r}")
    return raw in ("true", "1")


# -- companies ----------------------------------------------------------------------------------


def company_or_404(core: "SandboxCore", company_id: str) -> Record:
    company = core.store.companies.get(company_id)
    if company is None:
        raise ApiError(404, "company_not_found", "Company Not Found")
    return company


def scroll_companies(core: "SandboxCore", call: Call) -> bytes:
    store, registry = core.store, core.scrolls
    param = call.query.get("scroll_param")
    scroll = registry.active()
    if not param:
        if scroll is not None:
            raise ApiError(400, "scroll_exists", "scroll already exists for this workspace")
        scroll = registry.open(list(store.sorted_ids("companies")))
    elif scroll is None or scroll.param != param:
        raise ApiError(404, "not_found", "scroll_param not found: the scroll expired or finished")
    if core.faults.take_scroll_fault(scroll.pages_served):
        registry.close()
        raise ApiError(
            500,
            "server_error",
            "Request failed due to an internal network error. Please restart the scroll operation.",
        )
    chunk = scroll.company_ids[scroll.position : scroll.position + core.scroll_page_size]
    scroll.position += len(chunk)
    scroll.pages_served += 1
    registry.touch(scroll)
    if not chunk:
        registry.close()  # the empty page ends the scroll; its param is gone from now on
    items = [store.json_of("companies", store.companies[i]) for i in chunk if i in store.companies]
    return list_body(
        {"type": "list"},
        "data",
        items,
        {"pages": None, "total_count": len(scroll.company_ids), "scroll_param": scroll.param},
    )


def companies_page(
    core: "SandboxCore", call: Call, companies: list[Record], order: str = "desc"
) -> bytes:
    size = per_page(call.query, DEFAULT_COMPANIES_PER_PAGE)
    page = positive_int(call.query, "page", 1)
    if (page - 1) * size >= COMPANY_LIST_CAP:
        raise ApiError(400, "bad_request", "page limit reached, please use scroll API")
    if order not in ("asc", "desc"):
        raise ApiError(400, "parameter_invalid", f"order must be asc or desc, got {order!r}")
    companies.sort(key=lambda c: (c["last_request_at"], c["id"]), reverse=order == "desc")
    total = min(len(companies), COMPANY_LIST_CAP)
    chunk = companies[(page - 1) * size : page * size]
    store = core.store
    pages = {
        "type": "pages",
        "page": page,
        "per_page": size,
        "total_pages": math.ceil(total / size),
    }
    return list_body(
        {"type": "list"},
        "data",
        [store.json_of("companies", c) for c in chunk],
        {"pages": pages, "total_count": total},
    )


def list_companies_post(core: "SandboxCore", call: Call) -> bytes:
    companies = [c for c in core.store.companies.values() if c["user_count"] > 0]
    return companies_page(core, call, companies, call.query.get("order", "desc"))


def get_companies(core: "SandboxCore", call: Call) -> bytes:
    query, store = call.query, core.store
    if "company_id" in query or "name" in query:
        key = "company_id" if "company_id" in query else "name"
        for company in store.companies.values():
            if company[key] == query[key]:
                return store.json_of("companies", company)
        raise ApiError(404, "company_not_found", "Company Not Found")
    if "tag_id" in query:
        chosen = [c for c in store.companies.values() if query["tag_id"] in c["_tag_ids"]]
    elif "segment_id" in query:
        chosen = [c for c in store.companies.values() if query["segment_id"] in c["_segment_ids"]]
    else:
        chosen = [c for c in store.companies.values() if c["user_count"] > 0]
    return companies_page(core, call, chosen)


def get_company(core: "SandboxCore", call: Call) -> bytes:
    return core.store.json_of("companies", company_or_404(core, call.params["id"]))


def company_segments(core: "SandboxCore", call: Call) -> bytes:
    company = company_or_404(core, call.params["id"])
    return dumps({"type": "list", "data": company["segments"]["segments"]})


def company_contacts(core: "SandboxCore", call: Call) -> bytes:
    company_id = company_or_404(core, call.params["id"])["id"]
    store = core.store
    ids = [
        i for i in store.sorted_ids("contacts") if company_id in store.contacts[i]["_company_ids"]
    ]
    return cursor_page(
        core, call, "contacts", ids, "data", {"type": "list"}, DEFAULT_SUBLIST_PER_PAGE
    )


# -- contacts -----------------------------------------------------------------------------------


def cursor_page(
    core: "SandboxCore",
    call: Call,
    kind: str,
    ids: list[str],
    key: str,
    head: Mapping[str, object],
    default_size: int,
) -> bytes:
    """A page of a keyset-paginated GET list (`pages.next.starting_after`)."""
    size = per_page(call.query, default_size)
    cursor = call.query.get("starting_after")
    start = 0
    if cursor:
        last = decode_cursor(cursor)
        if kind == "conversations":
            start = bisect.bisect_right(ids, _numeric_key(last), key=_numeric_key)
        else:
            start = bisect.bisect_right(ids, last)
    chunk = ids[start : start + size]
    table: dict[str, Record] = getattr(core.store, kind)
    pages: dict[str, object] = {
        "type": "pages",
        "page": start // size + 1,
        "per_page": size,
        "total_pages": math.ceil(len(ids) / size),
    }
    if start + size < len(ids):
        pages["next"] = {"per_page": size, "starting_after": encode_cursor(chunk[-1])}
    items = [core.store.json_of(kind, table[i]) for i in chunk]
    return list_body(head, key, items, {"total_count": len(ids), "pages": pages})


def _numeric_key(value: str) -> tuple[int, str]:
    return (len(value), value)


def list_contacts(core: "SandboxCore", call: Call) -> bytes:
    ids = core.store.sorted_ids("contacts")
    return cursor_page(
        core, call, "contacts", ids, "data", {"type": "list"}, DEFAULT_CONTACTS_PER_PAGE
    )


def contact_or_404(core: "SandboxCore", contact_id: str) -> Record:
    contact = core.store.contacts.get(contact_id)
    if contact is None:
        raise ApiError(404, "not_found", "User Not Found")
    return contact


def get_contact(core: "SandboxCore", call: Call) -> bytes:
    contact_id = call.params["id"]
    target = merge_target(core, contact_id)
    if target is not None and reports_merges(call.version):
        raise ApiError(
            410,
            "contact_merged",
            f"Contact {contact_id} was merged into {target}",
            [("link", f'</contacts/{target}>; rel="canonical"')],
        )
    return core.store.json_of("contacts", contact_or_404(core, contact_id))


MAX_MERGE_HOPS = 3


def merge_target(core: "SandboxCore", contact_id: str) -> str | None:
    """Where a merged-away contact lives now (following up to 3 merges), else None."""
    merged = core.store.merged_contact_ids
    target = merged.get(contact_id)
    for _ in range(MAX_MERGE_HOPS - 1):
        if target is None or target not in merged:
            break
        target = merged[target]
    return target


def reports_merges(version: str) -> bool:
    """Versions 2.16 and Preview answer 410 `contact_merged` for a merged-away contact."""
    if version == "Preview":
        return True
    major, _, minor = version.partition(".")
    return (int(major), int(minor or 0)) >= (2, 16)


def contact_tags(core: "SandboxCore", call: Call) -> bytes:
    contact = contact_or_404(core, call.params["id"])
    tags = core.store.tags
    return dumps({"type": "list", "data": [tags[t] for t in contact["_tag_ids"] if t in tags]})


def contact_segments(core: "SandboxCore", call: Call) -> bytes:
    contact = contact_or_404(core, call.params["id"])
    segments = core.store.segments
    return dumps({"type": "list", "data": [public(segments[s]) for s in contact["_segment_ids"]]})


def link_page(call: Call, path: str, total: int) -> tuple[int, int, dict[str, object]]:
    """Page-number paging whose `pages.next` is a URL (contact sub-lists)."""
    size = per_page(call.query, DEFAULT_SUBLIST_PER_PAGE)
    page = positive_int(call.query, "page", 1)
    total_pages = math.ceil(total / size)
    nxt = f"{call.base_url}{path}?{urlencode({'page': page + 1, 'per_page': size})}"
    pages = {
        "type": "pages",
        "next": nxt if page < total_pages else None,
        "page": page,
        "per_page": size,
        "total_pages": total_pages,
    }
    return (page - 1) * size, size, pages


def contact_companies(core: "SandboxCore", call: Call) -> bytes:
    contact = contact_or_404(core, call.params["id"])
    store = core.store
    ids = [c for c in contact["_company_ids"] if c in store.companies]
    start, size, pages = link_page(call, f"/contacts/{contact['id']}/companies", len(ids))
    items = [store.json_of("companies", store.companies[c]) for c in ids[start : start + size]]
    return list_body(
        {"type": "list"}, "companies", items, {"total_count": len(ids), "pages": pages}
    )


def contact_notes(core: "SandboxCore", call: Call) -> bytes:
    contact = contact_or_404(core, call.params["id"])
    ids = contact["_note_ids"]
    start, size, pages = link_page(call, f"/contacts/{contact['id']}/notes", len(ids))
    notes = [core.store.notes[n] for n in ids[start : start + size]]
    return dumps({"type": "list", "data": notes, "total_count": len(ids), "pages": pages})


# -- search -------------------------------------------------------------------------------------


def search(core: "SandboxCore", call: Call, model: str) -> bytes:
    from intercom_assets.sandbox.search import SearchError, compile_search, search_page

    try:
        body = orjson.loads(call.body or b"{}")
    except orjson.JSONDecodeError:
        raise ApiError(400, "bad_request", "the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "the request body must be a JSON object")
    try:
        plan = compile_search(
            body,
            model=model,  # type: ignore[arg-type]
            timezone=core.store.timezone,
            custom_attribute_types=core.custom_attribute_types() if model == "contact" else None,
        )
        kind = "contacts" if model == "contact" else "conversations"
        records, cache_key = core.searchable_with_key(kind)
        page = search_page(records, plan, cache_key=cache_key)
    except SearchError as exc:
        raise ApiError(400, exc.code, exc.message) from None
    items, total = page.items, page.total_count
    pages: dict[str, object] = {
        "type": "pages",
        "page": page.page,
        "per_page": page.per_page,
        "total_pages": page.total_pages,
    }
    if page.next_cursor:
        pages["next"] = {"per_page": page.per_page, "starting_after": page.next_cursor}
    store = core.store
    rendered = [store.json_of(kind, r) for r in items]
    if model == "contact":
        return list_body({"type": "list"}, "data", rendered, {"total_count": total, "pages": pages})
    return list_body(
        {"type": "conversation.list"},
        "conversations",
        rendered,
        {"total_count": total, "pages": pages},
    )


def search_contacts(core: "SandboxCore", call: Call) -> bytes:
    return search(core, call, "contact")


def search_conversations(core: "SandboxCore", call: Call) -> bytes:
    return search(core, call, "conversation")


# -- conversations ------------------------------------------------------------------------------


def list_conversations(core: "SandboxCore", call: Call) -> bytes:
    ids = core.store.sorted_ids("conversations")
    return cursor_page(
        core,
        call,
        "conversations",
        ids,
        "conversations",
        {"type": "conversation.list"},
        DEFAULT_CONVERSATIONS_PER_PAGE,
    )


def get_conversation(core: "SandboxCore", call: Call) -> bytes:
    conversation = core.store.conversations.get(call.params["id"])
    if conversation is None:
        raise ApiError(404, "not_found", "Resource Not Found")
    return dumps(core.store.conversation_with_parts(conversation))


# -- data events --------------------------------------------------------------------------------

IDENTIFIERS = ("user_id", "intercom_user_id", "email")


def list_events(core: "SandboxCore", call: Call) -> bytes:
    query, store = call.query, core.store
    if query.get("type") != "user":
        raise ApiError(400, "parameter_invalid", "type must be 'user'")
    given = [name for name in IDENTIFIERS if query.get(name)]
    if len(given) != 1:
        raise ApiError(
            400,
            "parameter_invalid",
            "exactly one of user_id, intercom_user_id or email is required",
        )
    ident = given[0]
    contact = core.find_contact(ident, query[ident])
    if contact is None:
        raise ApiError(404, "not_found", "User Not Found")
    if flag(query, "summary"):
        return dumps(event_summary(store.events.get(contact["id"], []), contact))
    size = per_page(query, DEFAULT_EVENTS_PER_PAGE)
    before = _millis(query, "before")
    since = _millis(query, "since")
    events = [
        e
        for e in store.listable_events(contact["id"])
        if (since is None or e["created_at"] * 1000 > since)
    ]
    newest_ms = events[0]["created_at"] * 1000 if events else (since or store.now * 1000)
    if before is not None:
        events = [e for e in events if e["created_at"] * 1000 < before]
    chunk = events[:size]
    base = {"type": "user", ident: query[ident]}
    pages: dict[str, str] = {}
    if len(events) > size:
        nxt = {**base, "before": chunk[-1]["created_at"] * 1000, "per_page": size}
        if since is not None:
            nxt["since"] = since
        pages["next"] = f"{call.base_url}/events?{urlencode(nxt)}"
    pages["since"] = f"{call.base_url}/events?{urlencode({**base, 'since': newest_ms})}"
    return dumps({"type": "event.list", "events": chunk, "pages": pages})


def event_summary(events: list[Record], contact: Record) -> Record:
    """`event.summary`: per event name its first and last time (ISO 8601) and count, all time."""
    by_name: dict[str, list[int]] = {}
    for event in events:
        by_name.setdefault(event["event_name"], []).append(event["created_at"])
    summary: Record = {"type": "event.summary", "intercom_user_id": contact["id"]}
    if contact["email"]:
        summary["email"] = contact["email"]
    if contact["external_id"]:
        summary["user_id"] = contact["external_id"]
    summary["events"] = [
        {
            "name": name,
            "first": _iso(min(times)),
            "last": _iso(max(times)),
            "count": len(times),
            "description": f"Sandbox event {name!r}",
        }
        for name, times in sorted(by_name.items())
    ]
    return summary


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def _millis(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ApiError(
            400, "parameter_invalid", f"{name} must be a unix time in milliseconds"
        ) from None


# -- the route table ----------------------------------------------------------------------------

ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/me", get_me),
    ("GET", "/admins", list_admins),
    ("GET", "/admins/{id}", get_admin),
    ("GET", "/teams", list_teams),
    ("GET", "/tags", list_tags),
    ("GET", "/segments", list_segments),
    ("GET", "/data_attributes", list_data_attributes),
    ("GET", "/companies/scroll", scroll_companies),
    ("POST", "/companies/list", list_companies_post),
    ("GET", "/companies", get_companies),
    ("GET", "/companies/{id}", get_company),
    ("GET", "/companies/{id}/segments", company_segments),
    ("GET", "/companies/{id}/contacts", company_contacts),
    ("GET", "/contacts", list_contacts),
    ("POST", "/contacts/search", search_contacts),
    ("GET", "/contacts/{id}", get_contact),
    ("GET", "/contacts/{id}/tags", contact_tags),
    ("GET", "/contacts/{id}/companies", contact_companies),
    ("GET", "/contacts/{id}/notes", contact_notes),
    ("GET", "/contacts/{id}/segments", contact_segments),
    ("GET", "/conversations", list_conversations),
    ("POST", "/conversations/search", search_conversations),
    ("GET", "/conversations/{id}", get_conversation),
    ("GET", "/events", list_events),
]
