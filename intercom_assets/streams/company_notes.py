"""Company notes (API version 2.16 on): `GET /companies/{id}/notes` for every live company.

A note does not move its company's `updated_at` and nothing lists notes across companies, so
the one exact path is each company's list, every run: one request per live company (notes
come 50 a page, newest first; a company rarely has more). Each company's notes are replaced
as a set (`company_notes`, a child table of `companies`). On versions before 2.16 the endpoint
does not exist: the run asks nothing and notes `api_version`.
"""

from typing import Any

import polars as pl

from intercom_assets.api import IntercomClient, IntercomNotFound, iter_cursor_pages
from intercom_assets.warehouse import TableSpec

from .children import ChildStream
from .companies import SHAPE as COMPANIES
from .shape import TIMESTAMP, Shape, encode, field
from .sync import Run
from .versions import V2_16, at_least

NOTE_FIELDS = (
    field("id", nullable=False),
    field("company_id", nullable=False),
    field("type"),
    field("created_at", TIMESTAMP),
    field("author_type", path="author.type"),
    field("author_id", path="author.id"),
    field("author_name", path="author.name"),
    field("author_email", path="author.email"),
    field("body"),
)
NOTES = TableSpec(
    "company_notes",
    tuple(f.spec_column() for f in NOTE_FIELDS),
    primary_key=("id",),
    parent_key="company_id",
    raw=True,
)
"""A child table of `companies`: each company's notes are replaced as a set."""
NOTE_RECORDS = Shape(NOTES.name, tuple(f for f in NOTE_FIELDS if f.column != "company_id"))

Fetched = tuple[str, list[dict[str, Any]], int]
"""(company id, its notes, pages read)."""


def live_companies(run: Run) -> list[str]:
    """Every live company, on 2.16 and later; none before (the endpoint does not exist)."""
    if not at_least(run.client.api_version, V2_16):
        run.note("api_version", f"{run.client.api_version}: no company notes before 2.16")
        return []
    return sorted(run.warehouse.live_ids("companies").to_list())


def get_notes(client: IntercomClient, company_id: str) -> Fetched | None:
    """The company's notes; None when the company is gone (404)."""
    notes: list[dict[str, Any]] = []
    pages = 0
    try:
        for page in iter_cursor_pages(
            client, f"/companies/{company_id}/notes", per_page=None, items_key="data"
        ):
            pages += 1
            notes.extend(page.items)
    except IntercomNotFound:
        return None
    return company_id, notes, pages


def write_notes(run: Run, fetched: list[Fetched]) -> None:
    """Replace the notes of these companies, in one transaction."""
    notes = [note for _, listed, _ in fetched for note in listed]
    owners = [company_id for company_id, listed, _ in fetched for _ in listed]
    run.report.fetched += len(notes)
    frame = NOTE_RECORDS.read(encode(notes)).with_columns(
        pl.Series("company_id", owners, dtype=pl.String)
    )
    run.write(
        {NOTES.name: frame.select(*NOTES.column_names, "_raw")},
        parents={NOTES.name: pl.Series("company_id", [c for c, _, _ in fetched], pl.String)},
    )


STREAM = ChildStream[str, Fetched](
    name="company_notes",
    description="Notes on every live company (API version 2.16 on)",
    parents="companies",
    tables=(NOTES,),
    reads=COMPANIES.specs()[:1],
    todo=live_companies,
    fetch=get_notes,
    write=write_notes,
    rows=lambda fetched: 1 + len(fetched[1]),
    pages=lambda fetched: fetched[2],
    deps=("companies",),
)
