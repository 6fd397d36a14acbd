"""Data events: `GET /events?type=user&intercom_user_id=…` per contact, from its own cursor.

Intercom has no workspace-wide event listing. A contact is checked when its `updated_at` or
`last_seen_at` moved past the mark stored with its cursor (every contact at first, every
live contact in full mode); its events are read from the stored `pages.since` cursor (all
listable events the first time) and the new cursor is stored with the mark under the
contact's id in the `events` stream's state, in the same transaction as the events. A
cursor keeps only `/events?<query>`: the client resolves it against its own base URL, so a
changed base URL (region, proxy, another port) keeps working, and absolute URLs stored by
earlier versions are rebased the same way when read. Events are never soft-deleted.
Intercom lists only events younger than 90 days: older ones are out of reach.
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import polars as pl

from intercom_assets.api import EventsWalk, IntercomNotFound, fan_out
from intercom_assets.warehouse import StateUpdate

from .base import StreamContext, StreamReport
from .contacts import SHAPE as CONTACTS
from .shape import JSON, TIMESTAMP, Shape, field
from .sync import Run, read_columns

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
class Checked:
    """One contact's walk: its events, the cursor to store and the pages read."""

    contact_id: str
    events: list[dict[str, Any]]
    since_url: str | None
    pages: int


@dataclass(frozen=True)
class EventsStream:
    name: str = "events"
    description: str = "Intercom data events per contact, resumed from per-contact cursors"
    tables = SHAPE.specs()
    deps: tuple[str, ...] = ("contacts",)
    windowed: bool = False

    def run(self, ctx: StreamContext) -> StreamReport:
        ctx.warehouse.register(CONTACTS.specs()[:1])  # read only
        ctx.warehouse.migrate(self.tables)
        run = Run(ctx, self.name)
        todo = contacts_to_check(run, full=ctx.full)
        run.note("contacts_checked", len(todo))
        client = ctx.client

        def walk(item: tuple[str, str | None, int]) -> Checked | None:
            contact_id, since_url, _ = item
            if since_url:
                events = EventsWalk(client, since_url=since_url)
            else:
                params = {"type": "user", "intercom_user_id": contact_id}
                events = EventsWalk(client, params=params)
            found: list[dict[str, Any]] = []
            pages = 0
            try:
                for page in events:
                    found.extend(page.items)
                    pages += 1
            except IntercomNotFound:
                return None
            return Checked(contact_id, found, events.since_url, pages)

        marks = {contact_id: mark for contact_id, _, mark in todo}
        events: list[dict[str, Any]] = []
        cursors: dict[str, dict[str, Any]] = {}
        failure: Exception | None = None
        gone = 0
        for result in fan_out(todo, walk, max_in_flight=ctx.max_in_flight):
            if result.error is not None:
                failure = result.error
                break
            checked = result.value
            if checked is None:
                gone += 1
                continue
            run.report.pages += checked.pages
            run.report.fetched += len(checked.events)
            events.extend(checked.events)
            since = cursor_path(checked.since_url)
            cursors[checked.contact_id] = {"since": since, "mark": marks[checked.contact_id]}
            if len(events) >= ctx.batch_size or len(cursors) >= ctx.batch_size:
                write_events(run, events, cursors)
                events, cursors = [], {}
        if cursors:
            write_events(run, events, cursors)
        run.note("contacts_gone", gone)
        if failure is not None:
            raise failure
        return run.finish()


def contacts_to_check(run: Run, *, full: bool) -> list[tuple[str, str | None, int]]:
    """(contact id, stored since cursor, activity mark) of the contacts to check, by id."""
    contacts = read_columns(run.warehouse, "contacts", ["id", "updated_at", "last_seen_at"])
    marks = contacts.select(
        "id",
        pl.max_horizontal(pl.col("updated_at").dt.epoch("s"), pl.col("last_seen_at").dt.epoch("s"))
        .fill_null(0)
        .alias("mark"),
    )
    ids: list[str] = []
    since: list[str | None] = []
    stored_mark: list[int | None] = []
    for contact_id, value in run.warehouse.read_state(run.name).items():
        cursor = parse_cursor(value)
        ids.append(contact_id)
        since.append(cursor_path(cursor.get("since")))
        stored_mark.append(cursor.get("mark"))
    stored = pl.DataFrame(
        {
            "id": pl.Series(ids, dtype=pl.String),
            "since": pl.Series(since, dtype=pl.String),
            "stored_mark": pl.Series(stored_mark, dtype=pl.Int64),
        }
    )
    joined = marks.join(stored, on="id", how="left")
    if not full:
        joined = joined.filter(
            pl.col("stored_mark").is_null() | (pl.col("mark") > pl.col("stored_mark"))
        )
    return list(joined.sort("id").select("id", "since", "mark").iter_rows())


def parse_cursor(value: Any) -> dict[str, Any]:
    """A stored cursor: `{"since": "/events?...", "mark": unix seconds}` (a bare URL, as
    earlier versions stored, is accepted)."""
    if isinstance(value, dict):
        return value
    return {"since": value} if isinstance(value, str) and value else {}


def cursor_path(url: str | None) -> str | None:
    """The cursor to store for a `pages.since` URL: `/events?<query>`, without scheme, host
    or path prefix, so the client resolves it against its current base URL."""
    if not url:
        return None
    query = urlsplit(url).query
    return f"/events?{query}" if query else None


def write_events(
    run: Run, events: list[dict[str, Any]], cursors: dict[str, dict[str, Any]]
) -> None:
    """The events and their contacts' cursors, in one transaction."""
    frames, _ = SHAPE.frames(events)
    run.write(frames, state=StateUpdate(run.name, cursors))


STREAM = EventsStream()
