"""Contacts (users and leads) with their tags and companies; deletes and merges by sweep.

A run searches the window (`POST /contacts/search`, whole days asked, exact seconds kept by
the client), fetches the full tag and company lists of contacts that embed only the first 10
(`has_more`), then probes `GET /contacts?per_page=1`: when its `total_count` differs from the
warehouse's live contacts (or in full mode) it sweeps `GET /contacts` (150 a page). The
sweep upserts every contact (unchanged rows are not written), rebuilds every membership
(tag changes do not move `updated_at`) and soft-deletes contacts that vanished.

Merges (`contact_merges`: `id` the source, `target_id`, `detected_at`, `merged_at`,
`source_role`). On API version 2.16 and later the sweep lists with
`include_merge_history=true`: every user comes with its `merge_history`, the contacts merged
into it (a plain array, complete: the 2.16 description gives it no paging), which the sweep
takes out of the record before writing it (the contact's `_raw` is the record as the search
and `GET /contacts/{id}` send it) and records, with `merged_at` and `source_role`: merges
not yet recorded, and those recorded without a time (found by the probe below, or on 2.14),
which keep their `detected_at`. So on 2.16 `contact_merges` holds every merge the listed
users' histories tell, also of contacts merged before the warehouse ever saw them. A vanished
contact the histories explain is a merge without a request; every other vanished contact is
asked `GET /contacts/{id}` with `Intercom-Version: 2.16`: 410 with a canonical `Link` is a
merge whose target was not listed with its history (`merged_at` and `source_role` null), 404
a delete or an archive. On 2.14 every vanished contact is asked so (the merges have no time).
"""

import re
import time
from collections.abc import Iterable, Mapping, Sequence
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
from .versions import V2_16, at_least

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
        field("merged_at", TIMESTAMP),
        field("source_role"),
    ),
)
"""Merged-away contacts: `id` is the source (gone), `target_id` the contact it became;
`merged_at` and `source_role` (`lead` or `user`) as the target's 2.16 merge history tells them
(null when it was not read: on 2.14, or the target was not listed)."""
MERGE_HISTORY = {"include_merge_history": "true"}

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
    """List every contact: upsert, rebuild memberships, record merges, soft-delete and
    classify the vanished (see the module docstring)."""
    with_history = at_least(run.client.api_version, V2_16)
    seen: set[str] = set()
    history: dict[str, Merge] = {}
    pages = iter_cursor_pages(
        run.client,
        "/contacts",
        params=MERGE_HISTORY if with_history else None,
        per_page=SWEEP_PER_PAGE,
        items_key="data",
    )
    for batch in run.raw_batches(pages):
        if with_history:
            batch = take_merge_history(batch, history)
        ids = write_contacts(run, batch)
        seen.update(ids.to_list())
    live = set(run.warehouse.live_ids("contacts").to_list())
    vanished = sorted(live - seen)
    explained = [i for i in vanished if i in history]
    probed, still_there = classify_vanished(run, [i for i in vanished if i not in history])
    seen.update(still_there)
    records = merge_records(run, history, probed)
    if records:
        run.write_records(MERGES, encode(records))
    deleted = run.soft_delete_missing("contacts", pl.Series("id", sorted(seen), dtype=pl.String))
    merges = len(explained) + len(probed)
    run.note("contacts_swept", len(seen))
    run.note("contacts_vanished", deleted)
    run.note("merges_found", merges)
    run.note("deleted_or_archived", deleted - merges)
    if with_history:
        run.note("merges_in_history", len(history))
        run.note("vanished_probed", len(vanished) - len(explained))
    run.note("merges_recorded", len(records))


class Merge(msgspec.Struct, frozen=True):
    """One merge as a target's merge history tells it."""

    target_id: str
    source_role: str | None
    merged_at: int | None


_KEY = b'"merge_history"'


def take_merge_history(batch: Sequence[RawRecord], history: dict[str, Merge]) -> list[RawRecord]:
    """The batch without the contacts' `merge_history` (each record otherwise as sent), and
    its items added to `history` (source id -> merge); a history of another shape adds no
    merge (its sources get probed)."""
    out: list[RawRecord] = []
    for raw in batch:
        record = msgspec.json.decode(raw) if _KEY in raw else None
        if not isinstance(record, dict) or "merge_history" not in record:
            out.append(raw)  # no history, or the key sits deeper (a custom attribute)
            continue
        items = record.pop("merge_history")
        out.append(msgspec.json.encode(record))
        for item in items if isinstance(items, list) else ():
            if not isinstance(item, dict) or item.get("source_contact_id") is None:
                continue
            merged_at, role = item.get("merged_at"), item.get("source_contact_role")
            history[str(item["source_contact_id"])] = Merge(
                str(record.get("id")),
                role if isinstance(role, str) else None,
                merged_at if isinstance(merged_at, int) else None,
            )
    return out


def merge_records(
    run: Run, history: Mapping[str, Merge], probed: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The `contact_merges` rows to write: every merge the probe found (without a time), and
    the merges of `history` not recorded yet or recorded without a time (those keep their
    `detected_at`)."""
    now = int(time.time())
    untimed = {"merged_at": None, "source_role": None}
    records = [
        {"id": s, "target_id": t or None, "detected_at": now, **untimed} for s, t in probed.items()
    ]
    if not history:
        return records
    stored = run.warehouse.read_columns(
        "contact_merges", ["id", "detected_at", "merged_at"], live_only=False
    )
    timed = set(stored.filter(pl.col("merged_at").is_not_null()).get_column("id").to_list())
    detected = {
        i: int(at.timestamp())
        for i, at in stored.select("id", "detected_at").iter_rows()
        if at is not None
    }
    for source, merge in sorted(history.items()):
        if source in timed or (source in detected and merge.merged_at is None):
            continue
        records.append(
            {
                "id": source,
                "target_id": merge.target_id,
                "detected_at": detected.get(source, now),
                "merged_at": merge.merged_at,
                "source_role": merge.source_role,
            }
        )
    return records


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
    references={
        "contact_tags": {"contact_id": "contacts", "tag_id": "tags"},
        "contact_companies": {"contact_id": "contacts", "company_id": "companies"},
        "contact_merges": {"target_id": "contacts"},
    },
    complete=full_memberships,
    sweep=sweep,
    sweep_when_counts_differ=True,
)
