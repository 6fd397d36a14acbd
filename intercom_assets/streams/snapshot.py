"""Snapshot streams: small resources listed in full on every run.

A `SnapshotStream` is a declaration: the shape of its tables and the `Listing` that serves
its records (a path, the key that holds the list, query parameters, how it pages). A run
lists everything, writes what changed and soft-deletes what vanished; the window is ignored
(a range run takes one snapshot). The declarations themselves are rows of
`streams.snapshots.SNAPSHOTS`.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import polars as pl

from intercom_assets.api import IntercomClient, Page, iter_cursor_pages, iter_numbered_pages

from .base import Reference, Stream, StreamContext, StreamReport
from .shape import Shape
from .sync import Run, concat_ids


@dataclass(frozen=True)
class Listing:
    """Where a snapshot's records come from: `GET path` with `params`, the records under
    `items`; `paging` is Intercom's cursor paging (`per_page` None: the endpoint's own page
    size) or numbered pages of `per_page`. `each` lists the endpoint once per parameter set
    added to `params` (data attributes: once per model)."""

    path: str
    items: str = "data"
    params: Mapping[str, str] | None = None
    paging: Literal["cursor", "numbered"] = "cursor"
    per_page: int | None = None
    each: tuple[Mapping[str, str], ...] = ({},)

    def pages(self, client: IntercomClient) -> list[Page]:
        """Every page of the listing, read before anything is written."""
        pages: list[Page] = []
        for more in self.each:
            params = {**more, **(self.params or {})} or None
            if self.paging == "numbered":
                pages += iter_numbered_pages(
                    client, self.path, params=params, per_page=self.per_page or 60,
                    items_key=self.items,
                )  # fmt: skip
            else:
                pages += iter_cursor_pages(
                    client, self.path, params=params, per_page=self.per_page, items_key=self.items
                )
        return pages


@dataclass(frozen=True, kw_only=True)
class SnapshotStream(Stream):
    """A resource listed in full on every run: diff it, soft-delete what vanished."""

    shape: Shape
    listing: Listing

    def __post_init__(self) -> None:
        if not self.tables:
            object.__setattr__(self, "tables", self.shape.specs())
        super().__post_init__()

    def run(self, ctx: StreamContext) -> StreamReport:
        ctx.warehouse.migrate(self.tables)
        run = Run(ctx, self.name)
        seen: list[pl.Series] = []
        for batch in run.raw_batches(self.listing.pages(ctx.client)):
            seen.append(run.write_records(self.shape, batch))
        run.soft_delete_missing(self.shape.table, concat_ids(seen, self.tables[0]))
        return run.finish()


def snapshot(
    shape: Shape,
    description: str,
    listing: Listing,
    *,
    deps: tuple[str, ...] = (),
    references: Mapping[str, Mapping[str, Reference]] | None = None,
) -> SnapshotStream:
    """A snapshot stream named after its entity table (one row of `SNAPSHOTS`)."""
    return SnapshotStream(
        name=shape.table,
        description=description,
        shape=shape,
        listing=listing,
        deps=deps,
        references=references or {},
    )
