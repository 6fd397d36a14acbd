"""Search windows: the records of one search updated in [start, end).

What differs between searches is a value, `SearchSemantics`, that the caller passes:
the search path, the window field and how finely the API matches it. A `"day"` search
(contacts) matches timestamps by whole days in the workspace's time zone (`>` starts at the
next day, `<` ends before the given day), so the window asks for the days that cover it and
keeps exact seconds on the client. A `"second"` search (conversations) honours seconds, so
its query is exact; records are still filtered on the client. Both sort by the field
ascending, 150 per page: a record edited during the walk moves later and may be seen twice
(dedupe by `id`), never skipped. A record without a numeric window field is an error, never
dropped in silence.
"""

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

import msgspec

from intercom_assets.api.client import IntercomClient
from intercom_assets.api.errors import IntercomWindowFieldError
from intercom_assets.api.pages import MAX_PER_PAGE, Page, iter_search_pages

UTC = ZoneInfo("UTC")
Granularity = Literal["day", "second"]
Filter = dict[str, Any]


@dataclass(frozen=True)
class SearchSemantics:
    """How one resource's search matches a time window.

    `path` is the search endpoint (`/contacts/search`), `field` the timestamp the window is
    on, and `granularity` how the API compares it: `"day"` by whole days in the workspace's
    time zone, `"second"` exactly.
    """

    path: str
    granularity: Granularity
    field: str = "updated_at"

    def __post_init__(self) -> None:
        if self.granularity not in ("day", "second"):
            raise ValueError(f"granularity must be 'day' or 'second', not {self.granularity!r}")

    @property
    def record_name(self) -> str:
        """What one record is called in messages: `contact` for `/contacts/search`."""
        return self.path.strip("/").split("/")[0].removesuffix("s")

    def window_filters(
        self,
        start: datetime,
        end: datetime,
        *,
        workspace_timezone: str | tzinfo | None = None,
        caller_timezone: str | tzinfo | None = None,
    ) -> list[Filter]:
        """The filters (`>` then `<`) whose matches cover [start, end).

        Day-granular: `> noon of the day before start's local day` matches from 00:00 of that
        day, `< noon of the day after the last second's local day` up to its end. When the
        workspace's time zone is unknown, or the caller's differs from it, one more day is
        added on each side. Second-granular: exactly `> start-1` and `< end`.
        """
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("search windows need timezone-aware datetimes")
        if end <= start:
            raise ValueError(
                f"empty search window: start {start.isoformat()} >= end {end.isoformat()}"
            )
        first, stop = math.ceil(start.timestamp()), math.ceil(end.timestamp())
        if self.granularity == "second":
            return [self._filter(">", first - 1), self._filter("<", stop)]
        ws_tz, caller_tz = as_tz(workspace_timezone), as_tz(caller_timezone)
        tz = ws_tz or caller_tz or UTC
        same = ws_tz is not None and caller_tz is not None and str(ws_tz) == str(caller_tz)
        widen = timedelta(days=0 if same else 1)
        first_day = datetime.fromtimestamp(first, tz).date() - widen
        last_day = datetime.fromtimestamp(stop - 1, tz).date() + widen
        return [
            self._filter(">", _noon(first_day - timedelta(days=1), tz)),
            self._filter("<", _noon(last_day + timedelta(days=1), tz)),
        ]

    def _filter(self, operator: str, value: int) -> Filter:
        return {"field": self.field, "operator": operator, "value": value}


CONTACT_SEARCH = SearchSemantics("/contacts/search", "day")
CONVERSATION_SEARCH = SearchSemantics("/conversations/search", "second")


def as_tz(value: str | tzinfo | None) -> tzinfo | None:
    """A tzinfo from an IANA name (as `GET /me` reports it) or a tzinfo; None stays None."""
    if value is None or isinstance(value, tzinfo):
        return value
    return ZoneInfo(value)


def _noon(day: date, tz: tzinfo) -> int:
    """Unix seconds of local noon of `day` (noon: never in a DST gap or fold)."""
    return int(datetime.combine(day, time(12), tzinfo=tz).timestamp())


@lru_cache(maxsize=16)
def _stamp_decoder(field: str) -> msgspec.json.Decoder[Any]:
    stamp = msgspec.defstruct(
        "Stamp", [("id", Any, None), ("value", Any, None)], rename={"value": field}
    )
    return msgspec.json.Decoder(stamp)


def read_stamps(raw_items: list[bytes], field: str) -> list[tuple[Any, Any]]:
    """`(id, field value)` of each raw record (None when absent), without decoding records."""
    decode = _stamp_decoder(field).decode
    return [(stamp.id, stamp.value) for stamp in map(decode, raw_items)]


class SearchWindow:
    """The records of `search` with `start <= field < end`, streamed page by page.

    Iterate for records, or call `iter_pages()` for pages already filtered to the window.
    `pages` counts the search pages requested, `scanned` the records they held and `kept`
    those inside the window. `extra_filters` are ANDed with the time filters (at most 13).
    A record whose window field is missing or not a number raises `IntercomWindowFieldError`,
    or with `keep_unplaced=True` is passed on with every page it comes in (counted in
    `unplaced`) for the caller to deal with.
    """

    def __init__(
        self,
        client: IntercomClient,
        search: SearchSemantics,
        start: datetime,
        end: datetime,
        *,
        workspace_timezone: str | tzinfo | None = None,
        caller_timezone: str | tzinfo | None = None,
        extra_filters: Sequence[Filter] = (),
        per_page: int = MAX_PER_PAGE,
        keep_unplaced: bool = False,
    ) -> None:
        filters = search.window_filters(
            start, end, workspace_timezone=workspace_timezone, caller_timezone=caller_timezone
        )
        if len(extra_filters) > 13:
            raise ValueError("Intercom allows at most 15 filters in one AND group")
        self.client = client
        self.search = search
        self.start, self.end = start, end
        self.per_page = per_page
        self.query: Filter = {"operator": "AND", "value": [*filters, *extra_filters]}
        self.pages = 0
        self.scanned = 0
        self.kept = 0
        self.keep_unplaced = keep_unplaced
        self.unplaced = 0

    def iter_pages(self) -> Iterator[Page]:
        """Search pages with their items filtered to the window (pages may end up empty)."""
        search = self.search
        lo, hi = self.start.timestamp(), self.end.timestamp()
        pages = iter_search_pages(
            self.client, search.path, self.query, sort_field=search.field, per_page=self.per_page
        )
        for page in pages:
            self.pages += 1
            raws = page.raw_items
            self.scanned += len(raws)
            kept = []
            for raw, (record_id, stamp) in zip(raws, read_stamps(raws, search.field), strict=True):
                if type(stamp) not in (int, float):
                    if self.keep_unplaced:
                        self.unplaced += 1
                        kept.append(raw)
                        continue
                    raise IntercomWindowFieldError(
                        search.path, search.record_name, record_id, search.field, stamp
                    )
                if lo <= stamp < hi:
                    kept.append(raw)
            self.kept += len(kept)
            yield Page(kept, page.total_count, page.pages, page.number)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for page in self.iter_pages():
            yield from page.items
