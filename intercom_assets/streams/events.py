"""Data events: `GET /events?type=user&intercom_user_id=…` per contact, from its own cursor.

Intercom has no workspace-wide event listing. A contact is checked when its `updated_at` or
`last_seen_at` moved past the mark stored with its cursor, when its last check is
`events_recheck_days - 1` days old by Intercom's clock (so with the daily run, events that move
neither timestamp reach the warehouse within `events_recheck_days`; first checks are spread
evenly over the interval, so a fixed share of the contacts is due each day), on its first run,
and in full mode. Its events are read from the stored `pages.since` cursor
(all listable events the first time) and the new cursor is stored with the mark and the time
of the check under the contact's id in the `events` stream's state, in the same transaction
as the events. A
cursor keeps only `/events?<query>`: the client resolves it against its own base URL, so a
changed base URL (region, proxy, another port) keeps working. Events are never dropped:
Intercom lists only events younger than 90 days, and the warehouse keeps older ones (it is the
history). Events of a soft-deleted contact are soft-deleted with it (and revived with it).
"""

import zlib
from dataclasses import dataclass
from typing import TypedDict, cast
from urllib.parse import urlsplit

import polars as pl

from intercom_assets.api import EventsWalk, IntercomClient, IntercomNotFound
from intercom_assets.warehouse import StateUpdate, WriteResult

from .children import ChildStream
from .contacts import SHAPE as CONTACTS
from .shape import JSON, TIMESTAMP, Shape, field, key_of
from .sync import Run

DAY = 86_400

SHAPE = Shape(
    "events",
    (
        field("id", nullable=False),
        field("contact_id", path="intercom_user_id"),
        field("type"),
        field("event_name"),
        field("created_at", TIMESTAMP),
        field("user_id"),
        field("email"),
        field("metadata", JSON),
    ),
)


@dataclass(frozen=True)
class Due:
    """A contact to check: its stored cursor, its activity mark and the time of this check."""

    contact_id: str
    since: str | None
    mark: int
    checked: int


@dataclass(frozen=True)
class Checked:
    """One contact's walk: its events (raw records), the cursor to store and the pages read."""

    due: Due
    events: list[bytes]
    since: str | None
    pages: int


def walk(client: IntercomClient, due: Due) -> Checked | None:
    """One contact's new events, from its stored cursor (all listable ones at first);
    None when the contact is gone (404)."""
    if due.since:
        events = EventsWalk(client, since_url=due.since)
    else:
        events = EventsWalk(client, params={"type": "user", "intercom_user_id": due.contact_id})
    found: list[bytes] = []
    pages = 0
    try:
        for page in events:
            found.extend(page.raw_items)
            pages += 1
    except IntercomNotFound:
        return None
    return Checked(due, found, cursor_path(events.since_url), pages)


def contacts_to_check(run: Run) -> list[Due]:
    """The contacts to check in this run, by id: new ones, those whose activity moved, those
    due for their periodic re-check, and every live one in full mode.

    A contact is due when its last check is `events_recheck_days - 1` days old: with a run
    at least daily (the daily schedule), every contact's events are then read at least every
    `events_recheck_days` days. The clock is Intercom's (the `Date` of the client's latest
    answer; the window's end when there is none, or when that is earlier).
    """
    server = run.client.server_time()
    end = run.ctx.window.end
    now = int((min(server, end) if server is not None else end).timestamp())
    interval = max(run.ctx.events_recheck_days - 1, 0) * DAY
    contacts = run.warehouse.read_columns("contacts", ["id", "updated_at", "last_seen_at"])
    marks = contacts.select(
        "id",
        pl.max_horizontal(pl.col("updated_at").dt.epoch("s"), pl.col("last_seen_at").dt.epoch("s"))
        .fill_null(0)
        .alias("mark"),
    )
    stored = stored_cursors(run)
    joined = marks.join(stored, on="id", how="left")
    new = pl.col("stored_mark").is_null()
    moved = pl.col("mark") > pl.col("stored_mark")
    due = pl.col("checked") <= now - interval
    if not run.ctx.full:
        joined = joined.filter(new | moved | due)
    run.note("contacts_new", joined.filter(new).height)
    run.note("contacts_moved", joined.filter(~new & moved).height)
    run.note("contacts_due", joined.filter(~new & ~moved & due).height)
    joined = joined.with_columns(checked=_check_times(joined, now, interval)).sort("id")
    rows = joined.select("id", "since", "mark", "checked").iter_rows()
    return [Due(contact_id, since, mark, checked) for contact_id, since, mark, checked in rows]


def _check_times(contacts: pl.DataFrame, now: int, interval: int) -> pl.Series:
    """The check time to store per contact: now; for first checks, now less a phase that
    spreads them evenly over the interval (ranked by a hash of the id), so the next checks
    fall due a share a day instead of all on one day."""
    first = contacts.get_column("stored_mark").is_null().to_list()
    ids = contacts.get_column("id").to_list()
    newcomers = sorted((zlib.crc32(i.encode()), i) for i, f in zip(ids, first, strict=True) if f)
    phase = {i: rank * interval // len(newcomers) for rank, (_, i) in enumerate(newcomers)}
    return pl.Series(
        "checked", [now - phase[i] if i in phase else now for i in ids], dtype=pl.Int64
    )


def stored_cursors(run: Run) -> pl.DataFrame:
    """id, since, stored_mark, checked of every contact with a stored cursor."""
    ids: list[str] = []
    since: list[str | None] = []
    marks: list[int | None] = []
    checked: list[int | None] = []
    for contact_id, value in run.warehouse.read_state(run.name).items():
        cursor = cast(StoredCursor, value)  # written by `write_events` in this shape
        ids.append(contact_id)
        since.append(cursor["since"])
        marks.append(cursor["mark"])
        checked.append(cursor["checked"])
    return pl.DataFrame(
        {
            "id": pl.Series(ids, dtype=pl.String),
            "since": pl.Series(since, dtype=pl.String),
            "stored_mark": pl.Series(marks, dtype=pl.Int64),
            "checked": pl.Series(checked, dtype=pl.Int64),
        }
    )


class StoredCursor(TypedDict):
    """A contact's events cursor as `write_events` stores it: where its next walk starts
    (`/events?...`, see `cursor_path`; None: from its first event), its activity mark and
    the time of its check."""

    since: str | None
    mark: int
    checked: int


def cursor_path(url: object) -> str | None:
    """The cursor to store for a `pages.since` URL: `/events?<query>`, without scheme, host
    or path prefix, so the client resolves it against its current base URL."""
    if not isinstance(url, str) or not url:
        return None
    query = urlsplit(url).query
    return f"/events?{query}" if query else None


def write_events(run: Run, checked: list[Checked]) -> None:
    """The events of these contacts and their new cursors, in one transaction.

    A contact with an event its table cannot hold (quarantined, see `Run.fit`) keeps its
    previous cursor, with a mark that makes it due on every run: its events are read again
    from there until the quarantined one loads."""
    raws = [raw for contact in checked for raw in contact.events]
    run.report.fetched += len(raws)
    frames, _ = run.fit(SHAPE, raws)
    written = frames[SHAPE.table]
    fitting = None if written.height == len(raws) else set(written.get_column("id").to_list())
    cursors: dict[str, StoredCursor] = {}
    for c in checked:
        if fitting is None or all(key_of(raw, "id") in fitting for raw in c.events):
            cursors[c.due.contact_id] = {
                "since": c.since,
                "mark": c.due.mark,
                "checked": c.due.checked,
            }
        else:
            cursors[c.due.contact_id] = {"since": c.due.since, "mark": -1, "checked": c.due.checked}
    run.write(frames, state=StateUpdate(run.name, cursors))


def follow_contacts(run: Run) -> None:
    """Events of soft-deleted contacts are soft-deleted too (kept, marked as not live), and
    revived with their contact."""
    counts = run.warehouse.follow_parent_deletes(SHAPE.table, "contact_id", CONTACTS.table)
    run.report.add(WriteResult({SHAPE.table: counts}))


STREAM = ChildStream[Due, Checked](
    name="events",
    description="Intercom data events per contact, resumed from per-contact cursors",
    parents="contacts",
    tables=SHAPE.specs(),
    reads=CONTACTS.specs()[:1],
    todo=contacts_to_check,
    fetch=walk,
    write=write_events,
    rows=lambda checked: 1 + len(checked.events),
    pages=lambda checked: checked.pages,
    finish=follow_contacts,
    deps=("contacts",),
)
