"""Contacts (users and leads) with their tags and companies; deletes and merges by sweep.

A run searches the window (`POST /contacts/search`, whole days asked, exact seconds kept by
the client), fetches the full tag and company lists of contacts that embed only the first 10
(`has_more`), then probes `GET /contacts?per_page=1`: when its `total_count` differs from the
warehouse's live contacts (or in full mode) it sweeps `GET /contacts` (150 a page). The
sweep upserts every contact (unchanged rows are not written), rebuilds every membership
(tag changes do not move `updated_at`) and soft-deletes contacts that vanished, after asking
`GET /contacts/{id}` on version 2.16 whether each was merged (410 with a canonical `Link`,
recorded in `contact_merges`) or deleted / archived (404).
"""

import re
import time
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec
import polars as pl

from intercom_assets.api import (
    CONTACT_SEARCH,
    IntercomGone,
    IntercomNotFound,
    fan_out,
    iter_cursor_pages,
)

from .base import LiveCount
from .searched import SearchStream
from .shape import BOOL, INT, JSON, TIMESTAMP, Link, RawRecord, Shape, encode, field, ids_at
from .sync import Run

SWEEP_PER_PAGE = 150
MERGE_API_VERSION = "2.16"

_DEVICE = ("app_name", "app_version", "device", "os_version", "sdk_version")

SHAPE = Shape(
    "contacts",
    (
        field("id", nullable=False),
        field("type"),
        field("external_id"),
        field("workspace_id"),
        field("role"),
        field("email"),
        field("email_domain"),
        field("phone"),
        field("name"),
        field("owner_id"),
        field("has_hard_bounced", BOOL),
        field("marked_email_as_spam", BOOL),
        field("unsubscribed_from_emails", BOOL),
        field("created_at", TIMESTAMP),
        field("updated_at", TIMESTAMP),
        field("signed_up_at", TIMESTAMP),
        field("last_seen_at", TIMESTAMP),
        field("last_replied_at", TIMESTAMP),
        field("last_contacted_at", TIMESTAMP),
        field("last_email_opened_at", TIMESTAMP),
        field("last_email_clicked_at", TIMESTAMP),
        field("language_override"),
        field("browser"),
        field("browser_version"),
        field("browser_language"),
        field("os"),
        *(field(f"android_{name}") for name in _DEVICE),
        field("android_last_seen_at", TIMESTAMP),
        *(field(f"ios_{name}") for name in _DEVICE),
        field("ios_last_seen_at", TIMESTAMP),
        field("avatar_image_url", path="avatar.image_url"),
        field("location_country", path="location.country"),
        field("location_region", path="location.region"),
        field("location_city", path="location.city"),
        field("social_profiles", JSON, "social_profiles.data"),
        field("custom_attributes", JSON),
        field("tags_total_count", INT, "tags.total_count"),
        field("companies_total_count", INT, "companies.total_count"),
        field("notes_total_count", INT, "notes.total_count"),
    ),
    links=(
        Link("contact_tags", "contact_id", "tag_id", ids_at("tags.data")),
        Link("contact_companies", "contact_id", "company_id", ids_at("companies.data")),
    ),
)

MERGES = Shape(
    "contact_merges",
    (
        field("id", nullable=False),
        field("target_id"),
        field("detected_at", TIMESTAMP),
    ),
)
"""Merged-away contacts: `id` is the source (gone), `target_id` the contact it became."""

Full = dict[str, dict[str, list[Any]]]


LIVE_COUNT = LiveCount("contacts", "/contacts")


def write_contacts(run: Run, batch: Sequence[RawRecord]) -> pl.Series:
    """Fetch the full lists of contacts embedding only 10, then write the batch."""
    return STREAM.write(run, batch)


class _Listed(msgspec.Struct):
    """An embedded list's paging fields (`tags`, `companies`)."""

    has_more: Any = None
    url: Any = None


class _Lists(msgspec.Struct):
    """The fields of a contact that say whether its embedded lists are complete."""

    id: Any = None
    tags: _Listed | None = None
    companies: _Listed | None = None


_LISTS = msgspec.json.Decoder(_Lists)


def _lists(raw: RawRecord) -> _Lists:
    """A contact's list paging fields, read without decoding the rest of the record."""
    try:
        return _LISTS.decode(raw)
    except msgspec.ValidationError:  # a list field of another shape: read it the slow way
        record = msgspec.json.decode(raw)
        lists = {
            key: _Listed(value.get("has_more"), value.get("url"))
            for key in ("tags", "companies")
            if isinstance(value := record.get(key), dict)
        }
        return _Lists(record.get("id"), **lists)


def full_memberships(run: Run, batch: Sequence[RawRecord]) -> Full:
    """`{link table: {contact id: every member id}}` for contacts with `has_more` lists."""
    calls: list[tuple[str, str, str]] = []
    for raw in batch:
        record = _lists(raw)
        for table, key in (("contact_tags", "tags"), ("contact_companies", "companies")):
            embedded = getattr(record, key)
            if embedded is not None and embedded.has_more:
                url = embedded.url or f"/contacts/{record.id}/{key}"
                calls.append((table, str(record.id), str(url)))
    full: Full = {"contact_tags": {}, "contact_companies": {}}
    if not calls:
        return full
    client = run.client

    def fetch(call: tuple[str, str, str]) -> tuple[list[Any], int]:
        table, _, url = call
        if table == "contact_tags":
            return ids_of(client.get(url).get("data")), 1
        ids: list[Any] = []
        pages = 0
        for page in iter_cursor_pages(client, url, per_page=None, items_key="companies"):
            ids.extend(ids_of(page.items))
            pages += 1
        return ids, pages

    for result in fan_out(calls, fetch, max_in_flight=run.ctx.max_in_flight):
        ids, pages = result.unwrap()
        table, contact_id, _ = result.item
        full[table][contact_id] = ids
        run.report.pages += pages
    run.tally("sublists_fetched", len(calls))
    return full


def ids_of(items: Any) -> list[Any]:
    if not isinstance(items, list):
        return []
    return [item.get("id") for item in items if isinstance(item, dict)]


def sweep(run: Run) -> None:
    """List every contact: upsert, rebuild memberships, soft-delete and classify the vanished."""
    seen: set[str] = set()
    pages = iter_cursor_pages(run.client, "/contacts", per_page=SWEEP_PER_PAGE, items_key="data")
    for batch in run.raw_batches(pages):
        ids = write_contacts(run, batch)
        seen.update(ids.to_list())
    live = set(run.warehouse.live_ids("contacts").to_list())
    vanished = sorted(live - seen)
    merges, still_there = classify_vanished(run, vanished)
    seen.update(still_there)
    if merges:
        now = int(time.time())
        records = [{"id": s, "target_id": t or None, "detected_at": now} for s, t in merges.items()]
        run.write_records(MERGES, encode(records))
    deleted = run.soft_delete_missing("contacts", pl.Series("id", sorted(seen), dtype=pl.String))
    run.note("contacts_swept", len(seen))
    run.note("contacts_vanished", deleted)
    run.note("merges_found", len(merges))
    run.note("deleted_or_archived", deleted - len(merges))


def classify_vanished(run: Run, ids: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """Ask 2.16 about each vanished contact: merged (410 + canonical link) or gone (404).

    Returns the merges `{source: target}` and the ids that still answer 200 (not vanished).
    """
    client = run.client

    def probe(contact_id: str) -> str | None:
        try:
            client.request(
                "GET", f"/contacts/{contact_id}", headers={"Intercom-Version": MERGE_API_VERSION}
            )
        except IntercomGone as gone:
            return canonical_target(gone.canonical) or ""
        except IntercomNotFound:
            return None
        return contact_id

    merges: dict[str, str] = {}
    alive: list[str] = []
    for result in fan_out(ids, probe, max_in_flight=run.ctx.max_in_flight):
        run.report.pages += 1
        answer = result.unwrap()
        if answer == result.item:
            alive.append(result.item)
        elif answer is not None:
            merges[result.item] = answer
    return merges, alive


_CANONICAL = re.compile(r"<([^>]+)>\s*;\s*rel=\"?canonical\"?")


def canonical_target(link: str | None) -> str | None:
    """The contact id in `Link: </contacts/{target}>; rel="canonical"`."""
    if not link:
        return None
    match = _CANONICAL.search(link)
    if match is None:
        return None
    return match.group(1).rstrip("/").rsplit("/", 1)[-1] or None


STREAM = SearchStream(
    name="contacts",
    description="Intercom contacts (users and leads) with tags and companies",
    shape=SHAPE,
    search=CONTACT_SEARCH,
    live_count=LIVE_COUNT,
    deps=("companies",),
    extra_tables=MERGES.specs(),
    complete=full_memberships,
    sweep=sweep,
    sweep_when_counts_differ=True,
)
