"""Search windows: the records of one resource updated in [start, end).

Intercom's contact search matches timestamps by whole days in the workspace's time zone
(`>` starts at the next day, `<` ends before the given day), so a contact window asks for
the days that cover it and keeps exact seconds on the client. Conversation search honours
seconds, so its query is exact, and records are still filtered on the client. Both sort
by `updated_at` ascending, 150 per page: a record edited during the walk moves later
and may be seen twice (dedupe by `id`), never skipped.
"""

import math
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo

import msgspec

from intercom_assets.api.client import IntercomClient
from intercom_assets.api.pages import MAX_PER_PAGE, Page, iter_search_pages

Resource = Literal["contacts", "conversations"]
UTC = ZoneInfo("UTC")


class _Stamp(msgspec.Struct):
    """The one field of a record the window filter reads."""

    updated_at: Any = None


_STAMP = msgspec.json.Decoder(_Stamp)


def updated_ats(raw_items: list[bytes]) -> list[Any]:
    """`updated_at` of each raw record (None when absent), without decoding the records.

    One small decode per record: about 1 µs per contact here, against 2.5 µs for one
    `list[_Stamp]` decode of the records joined into an array.
    """
    decode = _STAMP.decode
    return [decode(raw).updated_at for raw in raw_items]


def as_tz(value: str | tzinfo | None) -> tzinfo | None:
    """A tzinfo from an IANA name (as `GET /me` reports it) or a tzinfo; None stays None."""
    if value is None or isinstance(value, tzinfo):
        return value
    return ZoneInfo(value)


def _check_window(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("search windows need timezone-aware datetimes")
    if end <= start:
        raise ValueError(f"empty search window: start {start.isoformat()} >= end {end.isoformat()}")


def _noon(day: date, tz: tzinfo) -> int:
    """Unix seconds of local noon of `day` (noon: never in a DST gap or fold)."""
    return int(datetime.combine(day, time(12), tzinfo=tz).timestamp())


def first_second(start: datetime) -> int:
    """The first whole unix second at or after `start`."""
    return math.ceil(start.timestamp())


def end_second(end: datetime) -> int:
    """The first whole unix second at or after `end` (records must be strictly below it)."""
    return math.ceil(end.timestamp())


def updated_filter(operator: str, value: int) -> dict[str, Any]:
    """One `updated_at` filter."""
    return {"field": "updated_at", "operator": operator, "value": value}


def contacts_window_filters(
    start: datetime,
    end: datetime,
    *,
    workspace_timezone: str | tzinfo | None,
    caller_timezone: str | tzinfo | None = None,
) -> list[dict[str, Any]]:
    """`updated_at` filters covering [start, end) by whole days in the workspace time zone.

    `updated_at > noon of the day before start's local day` matches from 00:00 of that day;
    `updated_at < noon of the day after the last second's local day` matches up to its end.
    When the workspace's time zone is unknown, or the caller's differs from it, one more day
    is added on each side.
    """
    _check_window(start, end)
    ws_tz, caller_tz = as_tz(workspace_timezone), as_tz(caller_timezone)
    tz = ws_tz or caller_tz or UTC
    same = ws_tz is not None and caller_tz is not None and _same_zone(ws_tz, caller_tz)
    widen = timedelta(days=0 if same else 1)
    first_day = datetime.fromtimestamp(first_second(start), tz).date() - widen
    last_day = datetime.fromtimestamp(end_second(end) - 1, tz).date() + widen
    return [
        updated_filter(">", _noon(first_day - timedelta(days=1), tz)),
        updated_filter("<", _noon(last_day + timedelta(days=1), tz)),
    ]


def conversations_window_filters(start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Exact-second `updated_at` filters for [start, end): `> start-1` and `< end`."""
    _check_window(start, end)
    return [
        updated_filter(">", first_second(start) - 1),
        updated_filter("<", end_second(end)),
    ]


def _same_zone(a: tzinfo, b: tzinfo) -> bool:
    return str(a) == str(b)


class SearchWindow:
    """The records of `resource` with `start <= updated_at < end`, streamed page by page.

    Iterate for records, or call `iter_pages()` for pages already filtered to the window.
    `pages` counts the search pages requested and `scanned` the records they held.
    `extra_filters` are ANDed with the time filters (at most 13 of them).
    """

    def __init__(
        self,
        client: IntercomClient,
        resource: Resource,
        start: datetime,
        end: datetime,
        *,
        workspace_timezone: str | tzinfo | None = None,
        caller_timezone: str | tzinfo | None = None,
        extra_filters: Sequence[dict[str, Any]] = (),
        per_page: int = MAX_PER_PAGE,
    ) -> None:
        if resource == "contacts":
            filters = contacts_window_filters(
                start, end, workspace_timezone=workspace_timezone, caller_timezone=caller_timezone
            )
        elif resource == "conversations":
            filters = conversations_window_filters(start, end)
        else:
            raise ValueError(
                f"no search window for {resource!r}; expected contacts or conversations"
            )
        if len(extra_filters) > 13:
            raise ValueError("Intercom allows at most 15 filters in one AND group")
        self.client = client
        self.resource = resource
        self.start, self.end = start, end
        self.per_page = per_page
        self.query: dict[str, Any] = {"operator": "AND", "value": [*filters, *extra_filters]}
        self.pages = 0
        self.scanned = 0
        self.kept = 0

    def iter_pages(self) -> Iterator[Page]:
        """Search pages with their items filtered to the window (pages may end up empty)."""
        lo, hi = self.start.timestamp(), self.end.timestamp()
        for page in iter_search_pages(
            self.client, f"/{self.resource}/search", self.query, per_page=self.per_page
        ):
            self.pages += 1
            raws = page.raw_items
            self.scanned += len(raws)
            stamps = updated_ats(raws)
            kept = [raw for raw, stamp in zip(raws, stamps, strict=True) if _inside(stamp, lo, hi)]
            self.kept += len(kept)
            yield Page(kept, page.total_count, page.pages, page.number)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for page in self.iter_pages():
            yield from page.items


def _inside(updated_at: Any, lo: float, hi: float) -> bool:
    return isinstance(updated_at, int | float) and lo <= updated_at < hi
