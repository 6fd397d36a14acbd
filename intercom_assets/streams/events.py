"""Data events: `GET /events?type=user&intercom_user_id=…` per contact, from its own cursor.

Intercom has no workspace-wide event listing. A contact is checked when its `updated_at` or
`last_seen_at` moved past the mark stored with its cursor (every contact at first, every
live contact in full mode); its events are read from the stored `pages.since` URL (all
listable events the first time) and the new `since` URL is stored with the mark in the
warehouse's event cursors, in the same transaction as the events. Events are never
soft-deleted. Intercom lists only events younger than 90 days: older ones are out of reach.
"""

from dataclasses import dataclass
from typing import Any

import orjson
import polars as pl

from intercom_assets.api import EventsWalk, IntercomNotFound, fan_out

from .base import StreamContext, StreamReport
from .contacts import SHAPE as CONTACTS
from .shape import JSON, TIMESTAMP, Shape, encode, field
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
        ctx.warehouse.ensure_tables((CONTACTS.specs()[0], *self.tables))
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
        cursors: list[tuple[str, str]] = []
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
            cursor = {"since": checked.since_url, "mark": marks[checked.contact_id]}
            cursors.append((checked.contact_id, orjson.dumps(cursor).decode()))
            if len(events) >= ctx.batch_size or len(cursors) >= ctx.batch_size:
                write_events(run, events, cursors)
                events, cursors = [], []
        if cursors:
            write_events(run, events, cursors)
        run.note("contacts_gone", gone)
        if failure is not None:
            raise failure
        return run.finish()


def contacts_to_check(run: Run, *, full: bool) -> list[tuple[str, str | None, int]]:
    """(contact id, stored since URL, activity mark) of the contacts to check, by id."""
    contacts = read_columns(run.warehouse, "contacts", ["id", "updated_at", "last_seen_at"])
    marks = contacts.select(
        "id",
        pl.max_horizontal(pl.col("updated_at").dt.epoch("s"), pl.col("last_seen_at").dt.epoch("s"))
        .fill_null(0)
        .alias("mark"),
    )
    stored = run.warehouse.event_cursors()
    since: list[str | None] = []
    stored_mark: list[int | None] = []
    for text in stored.get_column("cursor").to_list():
        cursor = parse_cursor(text)
        since.append(cursor.get("since"))
        stored_mark.append(cursor.get("mark"))
    stored = stored.select("id").with_columns(
        pl.Series("since", since, dtype=pl.String),
        pl.Series("stored_mark", stored_mark, dtype=pl.Int64),
    )
    joined = marks.join(stored, on="id", how="left")
    if not full:
        joined = joined.filter(
            pl.col("stored_mark").is_null() | (pl.col("mark") > pl.col("stored_mark"))
        )
    return list(joined.sort("id").select("id", "since", "mark").iter_rows())


def parse_cursor(text: str | None) -> dict[str, Any]:
    """A stored cursor: `{"since": URL, "mark": unix seconds}` (a bare URL is accepted)."""
    if not text:
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {"since": text}
    return value if isinstance(value, dict) else {"since": text}


def write_events(run: Run, events: list[dict[str, Any]], cursors: list[tuple[str, str]]) -> None:
    """The events and their contacts' cursors, in one transaction."""
    frames, _ = SHAPE.frames(encode(events))
    ids, texts = zip(*cursors, strict=True)
    cursor_frame = pl.DataFrame(
        {"id": pl.Series(ids, dtype=pl.String), "cursor": pl.Series(texts, dtype=pl.String)}
    )
    run.write(frames, event_cursors=cursor_frame)


STREAM = EventsStream()
