"""Contact notes: `GET /contacts/{id}/notes` for every live contact whose note count moved since
its notes were last loaded; its notes are replaced as a set.

A contact embeds only note references (`{type, id, url}`, at most 10, `has_more` beyond), never
a note's body or author, so every changed contact is listed through `/contacts/{id}/notes`
(150 a page: one call for all but the busiest contacts). What changed is read from the
`contacts` table alone: its `notes_total_count` (the embedded list's `total_count`) against
the count loaded (`contact_note_loads`). A note added or deleted does not move a contact's
`updated_at`: the count arrives with the contacts sweep of the daily run, and the notes in the
same run. Contacts without notes cost nothing. Not window-bound: it follows `contacts`.
"""

from typing import Any

import polars as pl

from intercom_assets.api import IntercomClient

from .children import ChildStream, ChildTable, list_or_gone
from .contacts import SHAPE as CONTACTS
from .shape import AUTHOR, INT, TIMESTAMP, Shape, encode, field
from .sync import Run

PER_PAGE = 150

NOTE_FIELDS = (
    field("id", nullable=False),
    field("contact_id", nullable=False),
    field("type"),
    field("created_at", TIMESTAMP),
    field("body"),
    *AUTHOR,
)
NOTE_TABLE = ChildTable.of("contact_notes", "contact_id", NOTE_FIELDS)
"""A child table of `contacts`: each contact's notes are replaced as a set."""
NOTES = NOTE_TABLE.spec

LOADS = Shape(
    "contact_note_loads",
    (
        field("id", nullable=False),
        field("notes_total_count", INT),
    ),
)
"""One row per contact whose notes are loaded (`id` is the contact id)."""

Fetched = tuple[str, list[dict[str, Any]], int]
"""(contact id, its notes, pages read)."""


def changed_contacts(run: Run) -> list[str]:
    """Live contacts whose note count differs from the one their notes were loaded at."""
    contacts = run.warehouse.read_columns("contacts", ["id", "notes_total_count"])
    loads = run.warehouse.read_columns("contact_note_loads", ["id", "notes_total_count"])
    joined = contacts.join(loads, on="id", how="left", suffix="_loaded").with_columns(
        pl.col("notes_total_count").fill_null(0),
        pl.col("notes_total_count_loaded").fill_null(0),
    )
    changed = joined.filter(pl.col("notes_total_count") != pl.col("notes_total_count_loaded"))
    return changed.sort("id").get_column("id").to_list()


def list_notes(client: IntercomClient, contact_id: str) -> Fetched | None:
    """Every note of a contact; None when the contact is gone (404)."""
    listed = list_or_gone(client, f"/contacts/{contact_id}/notes", per_page=PER_PAGE)
    return None if listed is None else (contact_id, *listed)


def write_notes(run: Run, fetched: list[Fetched]) -> None:
    """Replace the notes of these contacts and record their loads, in one transaction."""
    run.report.fetched += sum(len(own) for _, own, _ in fetched)
    note_frames, parents = NOTE_TABLE.frames([(contact_id, own) for contact_id, own, _ in fetched])
    loads = [{"id": contact_id, "notes_total_count": len(own)} for contact_id, own, _ in fetched]
    load_frames, _ = LOADS.frames(encode(loads))
    run.write({**note_frames, **load_frames}, parents=parents)


STREAM = ChildStream[str, Fetched](
    name="contact_notes",
    description="Notes of every contact whose note count moved",
    parents="contacts",
    tables=(NOTES, *LOADS.specs()),
    reads=CONTACTS.specs()[:1],
    todo=changed_contacts,
    fetch=list_notes,
    write=write_notes,
    rows=lambda fetched: 1 + len(fetched[1]),
    pages=lambda fetched: fetched[2],
    deps=("contacts",),
    references={"contact_notes": {"contact_id": "contacts"}},
)
