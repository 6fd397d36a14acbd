"""The fewest API calls a run needs (`minimum_calls`), from the truth and Intercom's limits
(page sizes, fixed lists), not from the loader's code: the end-to-end test and the exactness
scenario hold the loader's requests to it."""

import math
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from .columns import on_216

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


PAGE = 150
"""`GET /help_center/collections`, `/articles`, `/admins/activity_logs`,
`/contacts/{id}/notes`: up to 150 a page."""
COUNTED = ("contacts", "conversations", "companies")
"""Streams with a `live_count` check: one count request in every run of the stream."""

Truth = Mapping[str, Any]


def mark(contact: Mapping[str, Any]) -> int:
    """A contact's activity mark: when its `updated_at` or `last_seen_at` last moved."""
    return max(contact["updated_at"], contact["last_seen_at"] or 0)


def removed(before: Iterable[Mapping[str, Any]], after: Iterable[Mapping[str, Any]]) -> set[str]:
    """Ids in `before` that `after` no longer lists."""
    return {r["id"] for r in before} - {r["id"] for r in after}


def new_events(truth: Truth, contact_id: str, seen: set[str]) -> list[dict[str, Any]]:
    """The contact's events in `truth` not among `seen`."""
    return [e for e in truth["events"].get(contact_id, []) if e["id"] not in seen]


def in_window(
    records: Iterable[Mapping[str, Any]], window: tuple[int, int], key: str = "updated_at"
) -> list[Mapping[str, Any]]:
    """The records whose `key` lies in `window` (`[start, end)`, unix seconds)."""
    start, end = window
    return [r for r in records if start <= r[key] < end]


def contacts_swept(last: Mapping[str, Truth], truth: Truth, full: Collection[str]) -> bool:
    """Whether a run of `contacts` lists every contact: in full mode, or when contacts
    vanished since its last run (Intercom's count differs from the warehouse's)."""
    return "contacts" in full or bool(removed(last["contacts"]["contacts"], truth["contacts"]))


def contacts_listed(
    last: Mapping[str, Truth], truth: Truth, window: tuple[int, int], full: Collection[str]
) -> list[Mapping[str, Any]]:
    """The contacts a run of `contacts` writes: all of them when it sweeps, else the
    window's."""
    if contacts_swept(last, truth, full):
        return list(truth["contacts"])
    return in_window(truth["contacts"], window)


def notes_counts(truth: Truth, contacts: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Each contact's note count in `truth`."""
    notes = truth["contact_notes"]
    return {c["id"]: len(notes.get(c["id"], [])) for c in contacts}


def minimum_calls(
    last: Mapping[str, Truth],
    truth: Truth,
    window: tuple[int, int],
    streams: Collection[str],
    *,
    full: Collection[str] = (),
    notes_listed: Mapping[str, int],
) -> dict[str, int]:
    """The fewest requests a run of `streams` over the partition `window` needs, one term a
    line; a term is only counted for the streams the run loads.

    From Intercom's limits and the truth alone: `last[stream]` is the truth when the stream
    last ran (what the warehouse then held for it), `truth` the truth now (its `api_version`,
    default 2.14, says whether 2.16's routes exist). `full`: the streams the run sweeps (full
    mode). `notes_listed`: each contact's note count when `contacts` last listed it (what the
    warehouse's `notes_total_count` says). The events re-check is not a run's term.

    Not counted, so they must fit in a budget's 10%: `GET /me` once a run, the contact count
    probe once a window run, and the change sensor's probes (ticks are not runs).
    """
    window_contacts = in_window(truth["contacts"], window)
    sweep_contacts = "contacts" in full
    swept = contacts_swept(last, truth, full)
    listed = contacts_listed(last, truth, window, full)
    gone = removed(last["contacts"]["contacts"], truth["contacts"])
    v216 = on_216(truth)
    users = {c["id"] for c in truth["contacts"] if c["role"] == "user"}
    told = {s for s, m in truth["contact_merges"].items() if v216 and m["target_id"] in users}
    conversations = truth["conversations"]
    window_conversations = in_window(conversations, window)
    sweep_conversations = "conversations" in full
    seen_conversations = conversations if sweep_conversations else window_conversations
    parts_loaded = {c["id"]: c["updated_at"] for c in last["conversation_parts"]["conversations"]}
    tickets = truth["tickets"]
    window_tickets = in_window(tickets, window)
    sweep_tickets = "tickets" in full
    seen_tickets = tickets if sweep_tickets else window_tickets
    ticket_parts_loaded = {t["id"]: t["updated_at"] for t in last["ticket_parts"]["tickets"]}
    newly_deleted = set(truth["deleted_conversation_ids"]) - set(
        last["conversations"]["deleted_conversation_ids"]
    )
    events_since = last["events"]["now"]
    seen_events = {e["id"] for listed in last["events"]["events"].values() for e in listed}
    moved = [c for c in listed if mark(c) > events_since]
    notes = notes_counts(truth, listed)
    notes_moved = [n for c, n in notes.items() if n != notes_listed.get(c, 0)]
    contact_segments = {s["id"] for s in truth["segments"]} - set(truth["company_segment_ids"])
    members = Counter(s for ids in truth["contact_segments"].values() for s in ids)
    activity = in_window(truth["activity_logs"], window, "created_at")
    terms = {
        # The `live_count` checks run in their stream's step: one count request each.
        **{f"{s} count check": (s, 1) for s in COUNTED},
        # One unpaginated list each; data attributes once per model (3).
        "tags": ("tags", 1),
        "segments": ("segments", 1),
        "admins": ("admins", 1),
        "teams": ("teams", 1),
        "data_attributes": ("data_attributes", 3),
        # Every scroll page, and the empty page that says it is over.
        "companies": ("companies", pages(len(truth["companies"]), SCROLL_PAGE) + 1),
        # Window run: the window's contacts, 150 a page, and the full tag / company lists of
        # those embedding only the first 10.
        "contact search": (
            "contacts",
            0 if sweep_contacts else pages(len(window_contacts), SEARCH_MAX_PAGE),
        ),
        "contact sub-lists": ("contacts", 0 if sweep_contacts else sublist_calls(window_contacts)),
        # Sweep (full mode, or contacts vanished): every contact, 150 a page, the full lists of
        # the heavy ones, and one GET (2.16) per vanished contact (merged or not); on 2.16
        # not those merged into a live user, whose listed merge history tells the merge.
        "contact sweep": ("contacts", swept * pages(len(truth["contacts"]), SEARCH_MAX_PAGE)),
        "contact sweep sub-lists": ("contacts", swept * sublist_calls(truth["contacts"])),
        "vanished contacts": ("contacts", len(gone - told)),
        # Window run: the window's conversations; full mode: all of them (150 a page).
        "conversation search": (
            "conversations",
            0 if sweep_conversations else pages(len(window_conversations), SEARCH_MAX_PAGE),
        ),
        "conversation sweep": (
            "conversations",
            sweep_conversations * pages(len(conversations), SEARCH_MAX_PAGE),
        ),
        # One GET per conversation the run lists whose `updated_at` moved since its parts
        # were loaded.
        "conversation parts": (
            "conversation_parts",
            sum(1 for c in seen_conversations if parts_loaded.get(c["id"]) != c["updated_at"]),
        ),
        # Tickets: small unpaginated lists, a window (or a sweep) like conversations, one GET
        # per ticket the run lists whose `updated_at` moved since its parts were loaded.
        "ticket states": ("ticket_states", 1),
        "ticket types": ("ticket_types", 1),
        "ticket search": (
            "tickets",
            0 if sweep_tickets else pages(len(window_tickets), SEARCH_MAX_PAGE),
        ),
        "ticket sweep": ("tickets", sweep_tickets * pages(len(tickets), SEARCH_MAX_PAGE)),
        "ticket parts": (
            "ticket_parts",
            sum(1 for t in seen_tickets if ticket_parts_loaded.get(t["id"]) != t["updated_at"]),
        ),
        # 2.16: the deleted-conversations feed, newest first (one page to learn nothing is
        # new), in every conversations run; every live company's notes (one list each).
        "deleted-conversations feed": (
            "conversations",
            v216 * pages(len(newly_deleted), FEED_PAGE),
        ),
        "company notes": ("company_notes", v216 * len(truth["companies"])),
        # One walk per contact the run lists whose activity moved since `events` last ran:
        # the pages of its events not listed then (one page to learn there are none).
        "events of moved contacts": (
            "events",
            sum(pages(len(new_events(truth, c["id"], seen_events)), EVENTS_PAGE) for c in moved),
        ),
        # Unpaginated lists, and numbered pages of up to 150.
        "subscription_types": ("subscription_types", 1),
        "help_centers": ("help_centers", 1),
        "newsfeeds": ("newsfeeds", 1),
        "news_items": ("news_items", 1),
        "help_center_collections": (
            "help_center_collections",
            pages(len(truth["help_center_collections"]), PAGE),
        ),
        "articles": ("articles", pages(len(truth["articles"]), PAGE)),
        # The partition's entries (a partition read after it ended is never read again: the
        # daily run reads yesterday once).
        "admin activity logs": ("admin_activity_logs", pages(len(activity), PAGE)),
        # One listing per contact the run lists whose note count moved since it was listed.
        "contact notes": ("contact_notes", sum(pages(n, PAGE) for n in notes_moved)),
        # The contact segments, then one search per segment (150 a page).
        "contact segments": (
            "contact_segments",
            1 + sum(pages(members[s], SEARCH_MAX_PAGE) for s in contact_segments),
        ),
    }
    return {term: n for term, (stream, n) in terms.items() if stream in streams and n}
