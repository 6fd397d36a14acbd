"""The sandbox's subscription types, help center, news, activity logs, contact notes and
segments lists answer like Intercom 2.14: bodies match the official OpenAPI description.

Uses the description, its exceptions and the collector of `test_conformance.py`.
"""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from intercom_assets_tests.sandbox.test_conformance import (
    SPEC_EXCEPTIONS,
    SPEC_FILE,
    Collector,
    Reply,
    Spec,
)

pytestmark = pytest.mark.skipif(SPEC_FILE is None, reason="no official OpenAPI description")

# Where live Intercom differs from the 2.14 description for these endpoints.
WORKSPACE_EXCEPTIONS: list[tuple[str, dict[str, Any], str]] = [
    (
        "components/schemas/activity_log_list/properties/pages",
        {"$ref": None, "type": "object"},
        "GET /admins/activity_logs pages with `pages.next` as a URL (as the contact sub-lists do;"
        " clients such as Airbyte's follow it as one), not the cursor object cursor_pages names",
    ),
    (
        "components/schemas/note_list/properties/pages",
        {"$ref": None, "type": "object"},
        "GET /contacts/{id}/notes pages like the other contact sub-lists: `pages.next` is a URL"
        " (docs/sandbox.md), where note_list names cursor_pages",
    ),
]


def collect(client: httpx.Client) -> dict[str, list[Reply]]:
    c = Collector(client)
    c.call("subscription_types", "/subscription_types", "GET", "/subscription_types")
    c.call("help_centers", "/help_center/help_centers", "GET", "/help_center/help_centers")
    c.call("newsfeeds", "/news/newsfeeds", "GET", "/news/newsfeeds")
    c.call("news_items", "/news/news_items", "GET", "/news/news_items")
    for page in (1, 2):
        params = {"per_page": 3, "page": page}
        c.call("collections", "/help_center/collections", "GET", "/help_center/collections",
               params=params)  # fmt: skip
        c.call("articles", "/articles", "GET", "/articles", params=params)
    body = c.call(
        "activity_logs", "/admins/activity_logs", "GET", "/admins/activity_logs",
        params={"created_at_after": "0", "per_page": 7},
    )  # fmt: skip
    while body["pages"].get("next"):
        body = c.call("activity_logs", "/admins/activity_logs", "GET", body["pages"]["next"])
    for kind in ("user", "company"):
        c.call("segments_by_type", "/segments", "GET", "/segments",
               params={"type": kind, "include_count": "true"})  # fmt: skip
    c.call("admins_with_avatars", "/admins", "GET", "/admins", params={"display_avatar": "true"})
    contacts = client.get("/contacts", params={"per_page": 150}).json()["data"]
    heavy = [x["id"] for x in contacts if x["notes"]["has_more"]]
    for contact_id in heavy[:2]:
        for page in (1, 2):
            url = f"/contacts/{contact_id}/notes"
            params = {"per_page": 7, "page": page}
            c.call("contact_notes_paged", "/contacts/{contact_id}/notes", "GET", url, params=params)
    segment = client.get("/segments", params={"type": "user"}).json()["segments"][0]["id"]
    search = {"query": {"field": "segment_id", "operator": "=", "value": segment}}
    c.call("contacts_by_segment", "/contacts/search", "POST", "/contacts/search", json=search)
    return c.replies


ENDPOINTS = [
    "subscription_types", "help_centers", "newsfeeds", "news_items", "collections", "articles",
    "activity_logs",
    "segments_by_type", "admins_with_avatars", "contact_notes_paged", "contacts_by_segment",
]  # fmt: skip


@pytest.fixture(scope="module")
def spec() -> Spec:
    assert SPEC_FILE is not None
    return Spec(SPEC_FILE, [*SPEC_EXCEPTIONS, *WORKSPACE_EXCEPTIONS])


@pytest.fixture(scope="module")
def replies() -> Iterator[dict[str, list[Reply]]]:
    from intercom_assets.sandbox import Sandbox

    sb = Sandbox(size="tiny", seed=1)
    headers = {"Authorization": "Bearer sandbox", "Intercom-Version": "2.14"}
    with httpx.Client(transport=sb.transport(), base_url=sb.base_url, headers=headers) as http:
        yield collect(http)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_bodies_match_the_official_schema(spec: Spec, replies, endpoint: str):
    answered = replies.get(endpoint, [])
    assert answered, f"no {endpoint} replies collected"
    problems = [
        f"{reply.method} {reply.url} [{reply.status}] {error}"
        for reply in answered
        for error in spec.errors(reply)
    ]
    assert not problems, f"{len(problems)} schema violations:\n" + "\n".join(problems[:20])
