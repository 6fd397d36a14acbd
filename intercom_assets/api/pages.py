"""Iterators over Intercom's pagination models; each yields one `Page` at a time.

Nothing here holds more than one page: callers stream pages into their sinks.

- `iter_cursor_pages`: GET lists whose `pages.next` is `{starting_after}` or a full URL.
- `iter_search_pages`: POST `/…/search` with the cursor in the body.
- `iter_numbered_pages`: `?page=P&per_page=N` until `pages.total_pages`.
- `EventsWalk`: `GET /events`, following `pages.next` (older) and remembering `pages.since`.
- The companies scroll lives in `intercom_assets.api.scroll`.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from intercom_assets.api.client import IntercomClient, Params
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


@dataclass(frozen=True)
class Page:
    """One page: its records, the collection's `total_count` and the raw `pages` object."""

    items: list[dict[str, Any]]
    total_count: int | None
    pages: dict[str, Any] | None = field(repr=False)
    number: int = 1
    """1-based position of the page in this walk."""
    restarts: int = 0
    """Companies scroll only: how many times the walk has started over before this page."""


def items_of(body: Mapping[str, Any], items_key: str | None = None) -> list[dict[str, Any]]:
    """The record list of a response: `items_key`, else the first known list key."""
    if items_key is not None:
        value = body.get(items_key)
        if not isinstance(value, list):
            raise IntercomProtocolError(f"response has no list under {items_key!r}")
        return value
    for key in ITEM_KEYS:
        value = body.get(key)
        if isinstance(value, list):
            return value
    return []


def page_of(body: Mapping[str, Any], items_key: str | None, number: int, restarts: int = 0) -> Page:
    """Wrap a decoded response body as a `Page`."""
    pages = body.get("pages")
    total = body.get("total_count")
    return Page(
        items=items_of(body, items_key),
        total_count=total if isinstance(total, int) else None,
        pages=pages if isinstance(pages, dict) else None,
        number=number,
        restarts=restarts,
    )


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
    while True:
        body = client.get(url, query, route=route)
        number += 1
        page = page_of(body, items_key, number)
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
    while True:
        response = client.post(path, body)
        number += 1
        page = page_of(response, items_key, number)
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
    while True:
        query = {**(params or {}), "page": page_no, "per_page": per_page}
        body = client.request(method, path, params=query, json=json)
        number += 1
        page = page_of(body, items_key, number)
        client.counters.page()
        yield page
        total_pages = (page.pages or {}).get("total_pages")
        current = (page.pages or {}).get("page", page_no)
        if not page.items or not isinstance(total_pages, int) or current >= total_pages:
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
        while True:
            body = self.client.get(url, query, route="GET /events")
            number += 1
            page = page_of(body, "events" if "events" in body else None, number)
            self.client.counters.page()
            if number == 1 and isinstance((page.pages or {}).get("since"), str):
                self.since_url = page.pages["since"]  # type: ignore[index]
            yield page
            nxt = (page.pages or {}).get("next")
            if not isinstance(nxt, str) or not nxt or not page.items:
                return
            if nxt in seen:
                raise IntercomProtocolError("events cursor repeated: stopping", path="/events")
            seen.add(nxt)
            url, query = nxt, {}
