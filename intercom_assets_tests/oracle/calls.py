"""API facts the call minimums are built from (Intercom's limits, not the loader's choices)."""

import math
from collections.abc import Iterable
from typing import Any

SEARCH_MAX_PAGE = 150
"""`POST /contacts/search`, `/conversations/search` and `GET /contacts`: at most 150 a page."""
SCROLL_PAGE = 50
"""`GET /companies/scroll`: 50 a page, fixed by Intercom; the empty page ends the scroll."""
SUBLIST_MAX_PAGE = 150
"""`GET /contacts/{id}/companies`: `per_page` up to 150 (default 50)."""
EVENTS_PAGE = 15
"""`GET /events`: 15 a page (Intercom takes no `per_page` there)."""
FEED_PAGE = 60
"""`GET /conversations/deleted` (2.16): `per_page` up to 60."""
EMBEDDED = 10
"""A contact embeds at most 10 tags and 10 companies (`has_more` beyond)."""


def pages(records: int, size: int) -> int:
    """Pages to read `records` (one, to learn that there are none)."""
    return max(1, math.ceil(records / size))


def sublist_calls(contacts: Iterable[dict[str, Any]]) -> int:
    """Requests for the full tag and company lists of contacts embedding only the first 10:
    `/contacts/{id}/tags` is one unpaginated list, `/contacts/{id}/companies` is paged."""
    calls = 0
    for contact in contacts:
        if contact["tags"]["total_count"] > EMBEDDED:
            calls += 1
        if contact["companies"]["total_count"] > EMBEDDED:
            calls += math.ceil(contact["companies"]["total_count"] / SUBLIST_MAX_PAGE)
    return calls
