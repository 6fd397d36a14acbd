"""Contact segment membership: one contacts search by `segment_id` per contact segment.

Membership moves with a contact's attributes (its `updated_at` moves), with segments created,
edited or deleted, and with time (rules such as "last seen more than 30 days ago"), none of
which a per-contact path sees without re-reading every contact. So every run asks each contact
segment (`GET /segments?type=user`) for its members (`POST /contacts/search`,
`segment_id = <id>`, 150 a page) and replaces the whole membership: each live contact's links
are rebuilt, links of segments no longer listed go with them. Cost per run: 1 + the sum over
segments of ceil(members / 150); on the bench workspace that is several times fewer calls than
`GET /contacts/{id}/segments` for each contact changed in a day (`bench/contact_segments.py`).
"""

from typing import Any

import polars as pl

from intercom_assets.api import IntercomClient, fan_out, iter_cursor_pages, iter_search_pages

from .base import Stream, StreamContext, StreamReport
from .contacts import SHAPE as CONTACTS
from .shape import Link, ids_at
from .sync import Run

SEARCH_PATH = "/contacts/search"
PER_PAGE = 150
LINK = Link("contact_segments", "contact_id", "segment_id", ids_at("data"))

Members = tuple[list[str], int]
"""(member contact ids, pages read)."""


def contact_segment_ids(client: IntercomClient) -> tuple[list[str], int]:
    """The ids of the contact (user and lead) segments, and the pages read."""
    ids: list[str] = []
    pages = 0
    for page in iter_cursor_pages(
        client, "/segments", params={"type": "user"}, per_page=None, items_key="segments"
    ):
        pages += 1
        ids.extend(str(item["id"]) for item in page.items)
    return ids, pages


def members(client: IntercomClient, segment_id: str) -> Members:
    query = {"field": "segment_id", "operator": "=", "value": segment_id}
    ids: list[str] = []
    pages = 0
    for page in iter_search_pages(client, SEARCH_PATH, query, per_page=PER_PAGE, items_key="data"):
        pages += 1
        ids.extend(str(item["id"]) for item in page.items)
    return ids, pages


class ContactSegmentsStream(Stream):
    """Every contact segment's members, every run (see the module doc)."""

    def run(self, ctx: StreamContext) -> StreamReport:
        ctx.warehouse.register(CONTACTS.specs()[:1])  # read only
        ctx.warehouse.migrate(self.tables)
        run = Run(ctx, self.name)
        segments, pages = contact_segment_ids(ctx.client)
        run.report.pages += pages
        parents: list[str] = []
        links: list[str] = []
        for result in fan_out(
            segments, lambda s: members(ctx.client, s), max_in_flight=ctx.max_in_flight
        ):
            ids, pages = result.unwrap()
            run.report.pages += pages
            run.report.fetched += len(ids)
            parents.extend(ids)
            links.extend([result.item] * len(ids))
        run.note("segments_searched", len(segments))
        frame = pl.DataFrame(
            {LINK.parent: parents, LINK.member: links},
            schema={LINK.parent: pl.String, LINK.member: pl.String},
        ).unique()
        live = ctx.warehouse.live_ids("contacts").cast(pl.String)
        every: Any = pl.concat([live, frame.get_column(LINK.parent)]).unique().sort()
        run.write({LINK.table: frame}, parents={LINK.table: every.rename(LINK.parent)})
        return run.finish()


STREAM = ContactSegmentsStream(
    name="contact_segments",
    description="Contact segment membership, rebuilt by one search per segment",
    tables=(LINK.spec(),),
    deps=("contacts", "segments"),
    references={"contact_segments": {"contact_id": "contacts", "segment_id": "segments"}},
)
