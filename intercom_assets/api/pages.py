"""Iterators over Intercom's pagination models; each yields one `Page` at a time.

Nothing here holds more than one page: callers stream pages into their sinks.

- `iter_cursor_pages`: GET lists whose `pages.next` is `{starting_after}` or a full URL.
- `iter_search_pages`: POST `/…/search` with the cursor in the body.
- `iter_numbered_pages`: `?page=P&per_page=N` until `pages.total_pages`.
- `EventsWalk`: `GET /events`, following `pages.next` (older) and remembering `pages.since`.
- The companies scroll lives in `intercom_assets.api.scroll`.
"""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

import msgspec

from intercom_assets.api.client import BodyNotAnObject, IntercomClient, Params
from intercom_assets.api.errors import IntercomProtocolError

MAX_PER_PAGE = 150
ITEM_KEYS = (
    "data",
    "conversations",
    "companies",
    "contacts",
    "events",
    "activity_logs",
    "tickets",
    "admins",
    "teams",
    "segments",
    "notes",
    "tags",
)
ENVELOPE_KEYS = ("type", "pages", "total_count", "scroll_param")


@dataclass(frozen=True)
class Page:
    """One page: its records as raw JSON, the collection's `total_count` and the raw `pages`.

    `raw_items` holds each record's JSON text exactly as the API sent it (a slice of the
    body), so a consumer can decode it straight into typed columns; `items` decodes them
    into dicts on first use (and keeps them).
    """

    raw_items: list[bytes] = field(repr=False)
    total_count: int | None
    pages: dict[str, Any] | None = field(repr=False)
    number: int = 1
    """1-based position of the page in this walk."""
    restarts: int = 0
    """Companies scroll only: how many times the walk has started over before this page."""

    @cached_property
    def items(self) -> list[dict[str, Any]]:
        """The records decoded into dicts (decoded once, on first use)."""
        return [msgspec.json.decode(raw) for raw in self.raw_items]


@dataclass(frozen=True, slots=True)
class PageBody:
    """What a page decoder reads from a body: the envelope fields and the raw records."""

    type: Any
    pages: Any
    total_count: Any
    scroll_param: Any
    raw_items: list[bytes]

    def page(self, number: int, restarts: int = 0) -> Page:
        """This body as a `Page`."""
        total, pages = self.total_count, self.pages
        return Page(
            raw_items=self.raw_items,
            total_count=total if isinstance(total, int) else None,
            pages=pages if isinstance(pages, dict) else None,
            number=number,
            restarts=restarts,
        )


AnyJson = list[msgspec.Raw] | dict[str, Any] | str | int | float | bool | None
"""Any JSON value; an array is split into one `msgspec.Raw` slice per element, undecoded."""


@lru_cache(maxsize=64)
def page_decoder(items_key: str | None, *, if_present: bool = False) -> Callable[[bytes], PageBody]:
    """A `decode=` callable for `IntercomClient` that reads a page without decoding records.

    The records are the array under `items_key`; anything else there raises
    `IntercomProtocolError`. With `items_key=None`, or with `if_present=True` and no
    `items_key` in the body (the `/events` walk), they are the first array found under
    `ITEM_KEYS`, or none. A body that is not a JSON object raises `BodyNotAnObject`;
    invalid JSON raises msgspec's `DecodeError`: the client retries both.

    One decode reads the envelope and splits every array under a record key into one
    `msgspec.Raw` slice of the body per record; no record is decoded.
    """
    if items_key in ENVELOPE_KEYS:
        raise ValueError(f"{items_key!r} is an envelope key, not a record list")
    strict = items_key is not None and not if_present
    keys = [k for k in dict.fromkeys((items_key, *ITEM_KEYS)) if k is not None]
    if strict:
        keys = keys[:1]
    names = [f"r{i}" for i in range(len(keys))]  # record keys need not be identifiers
    envelope = msgspec.defstruct(
        "PageEnvelope",
        [(key, Any, None) for key in ENVELOPE_KEYS]
        + [(name, AnyJson, msgspec.UNSET) for name in names],
        rename=dict(zip(names, keys, strict=True)),
    )
    decoder = msgspec.json.Decoder(envelope)
    missing = f"response has no list under {items_key!r}"

    def decode(body: bytes) -> PageBody:
        try:
            env = decoder.decode(body)
        except msgspec.ValidationError as exc:  # every field takes any JSON: not an object
            raise BodyNotAnObject(str(exc)) from exc
        values = [getattr(env, name) for name in names]
        if items_key is not None and (strict or values[0] is not msgspec.UNSET):
            if not isinstance(values[0], list):
                raise IntercomProtocolError(missing)
            raws = values[0]
        else:
            raws = next((value for value in values if isinstance(value, list)), [])
        # the envelope's class is made at run time: its fields are read by name
        fields = {key: getattr(env, key) for key in ENVELOPE_KEYS}
        return PageBody(**fields, raw_items=[bytes(r) for r in raws])

    return decode


def iter_cursor_pages(
    client: IntercomClient,
    path: str,
    *,
    params: Params | None = None,
    per_page: int | None = MAX_PER_PAGE,
    items_key: str | None = None,
    route: str | None = None,
) -> Iterator[Page]:
    """Walk a GET list: `pages.next` is `{"starting_after": …}` or a URL; no `next` ends it."""
    query: dict[str, Any] = dict(params or {})
    if per_page is not None:
        query["per_page"] = per_page
    url: str = path
    seen: set[str] = set()
    number = 0
    decode = page_decoder(items_key)
    while True:
        body = client.get(url, query, route=route, decode=decode)
        number += 1
        page = body.page(number)
        client.counters.page()
        yield page
        nxt = (page.pages or {}).get("next")
        if isinstance(nxt, dict) and nxt.get("starting_after"):
            token = str(nxt["starting_after"])
            query["starting_after"] = token
        elif isinstance(nxt, str) and nxt:
            token, url, query = nxt, nxt, {}
        else:
            return
        if token in seen:
            raise IntercomProtocolError(f"cursor repeated while paging {path}: stopping", path=path)
        seen.add(token)


def iter_search_pages(
    client: IntercomClient,
    path: str,
    query: Mapping[str, Any],
    *,
    sort_field: str | None = "updated_at",
    ascending: bool = True,
    per_page: int = MAX_PER_PAGE,
    items_key: str | None = None,
) -> Iterator[Page]:
    """Walk a POST search (`/contacts/search`, …); the cursor goes in the body's pagination."""
    body: dict[str, Any] = {"query": dict(query), "pagination": {"per_page": per_page}}
    if sort_field:
        body["sort"] = {"field": sort_field, "order": "ascending" if ascending else "descending"}
    seen: set[str] = set()
    number = 0
    decode = page_decoder(items_key)
    while True:
        response = client.post(path, body, decode=decode)
        number += 1
        page = response.page(number)
        client.counters.page()
        yield page
        nxt = (page.pages or {}).get("next")
        cursor = nxt.get("starting_after") if isinstance(nxt, dict) else None
        if not cursor:
            return
        if cursor in seen:
            raise IntercomProtocolError(
                f"cursor repeated while searching {path}: stopping", path=path
            )
        seen.add(cursor)
        body["pagination"] = {"per_page": per_page, "starting_after": cursor}


def iter_numbered_pages(
    client: IntercomClient,
    path: str,
    *,
    method: str = "GET",
    params: Params | None = None,
    json: Any = None,
    per_page: int = 60,
    items_key: str | None = None,
    first_page: int = 1,
) -> Iterator[Page]:
    """Walk `?page=P&per_page=N` (GET or POST) until `pages.total_pages` or an empty page."""
    page_no = first_page
    number = 0
    decode = page_decoder(items_key)
    while True:
        query = {**(params or {}), "page": page_no, "per_page": per_page}
        body = client.request(method, path, params=query, json=json, decode=decode)
        number += 1
        page = body.page(number)
        client.counters.page()
        yield page
        total_pages = (page.pages or {}).get("total_pages")
        current = (page.pages or {}).get("page", page_no)
        if not page.raw_items or not isinstance(total_pages, int) or current >= total_pages:
            return
        page_no = int(current) + 1


class EventsWalk:
    """Pages of `GET /events` for one contact, newest first.

    Start from `params` (e.g. `{"type": "user", "intercom_user_id": id}`) or from a
    `since_url` stored by the previous run. Iterating follows `pages.next` (older events)
    to the end; afterwards `since_url` holds the first page's `pages.since`, the cursor to
    store for the next run (or the previous one if the API gave none).
    """

    def __init__(
        self,
        client: IntercomClient,
        *,
        params: Params | None = None,
        since_url: str | None = None,
        per_page: int | None = None,
    ) -> None:
        if (params is None) == (since_url is None):
            raise ValueError("EventsWalk needs exactly one of params= or since_url=")
        self.client = client
        self.params = dict(params or {})
        if per_page is not None:
            self.params["per_page"] = per_page
        self.start_url = since_url
        self.since_url = since_url

    def __iter__(self) -> Iterator[Page]:
        url = self.start_url or "/events"
        query: dict[str, Any] = {} if self.start_url else dict(self.params)
        seen: set[str] = set()
        number = 0
        decode = page_decoder("events", if_present=True)
        while True:
            body = self.client.get(url, query, route="GET /events", decode=decode)
            number += 1
            page = body.page(number)
            self.client.counters.page()
            since = (page.pages or {}).get("since")
            if number == 1 and isinstance(since, str):
                self.since_url = since
            yield page
            nxt = (page.pages or {}).get("next")
            if not isinstance(nxt, str) or not nxt or not page.raw_items:
                return
            if nxt in seen:
                raise IntercomProtocolError("events cursor repeated: stopping", path="/events")
            seen.add(nxt)
            url, query = nxt, {}
