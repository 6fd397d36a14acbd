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

from intercom_assets.api import EventsWalk, IntercomClient, IntercomNotFound

from .children import ChildStream
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
    events: list[bytes]
    since_url: str | None
    pages: int
    mark: int
    """The contact's activity mark when it was checked (stored with its cursor)."""


def walk(client: IntercomClient, todo: tuple[str, str | None, int]) -> Checked | None:
    """One contact's new events, from its stored `since` URL (all listable ones at first);
    None when the contact is gone (404)."""
    contact_id, since_url, mark = todo
    if since_url:
        events = EventsWalk(client, since_url=since_url)
    else:
        events = EventsWalk(client, params={"type": "user", "intercom_user_id": contact_id})
    found: list[bytes] = []
    pages = 0
    try:
        for page in events:
            found.extend(page.raw_items)
            pages += 1
    except IntercomNotFound:
        return None
    return Checked(contact_id, found, events.since_url, pages, mark)


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


def write_events(run: Run, checked: list[Checked]) -> None:
    """The events of these contacts and their new cursors, in one transaction."""
    raws = [raw for contact in checked for raw in contact.events]
    run.report.fetched += len(raws)
    frames, _ = SHAPE.frames(raws)
    cursors = pl.DataFrame(
        {
            "id": pl.Series([c.contact_id for c in checked], dtype=pl.String),
            "cursor": pl.Series(
                [orjson.dumps({"since": c.since_url, "mark": c.mark}).decode() for c in checked],
                dtype=pl.String,
            ),
        }
    )
    run.write(frames, event_cursors=cursors)


STREAM = ChildStream[tuple[str, str | None, int], Checked](
    name="events",
    description="Intercom data events per contact, resumed from per-contact cursors",
    parents="contacts",
    tables=SHAPE.specs(),
    reads=CONTACTS.specs()[:1],
    todo=lambda run: contacts_to_check(run, full=run.ctx.full),
    fetch=walk,
    write=write_events,
    rows=lambda checked: 1 + len(checked.events),
    pages=lambda checked: checked.pages,
    deps=("contacts",),
)
