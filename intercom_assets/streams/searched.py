"""Searched streams: resources read by an `updated_at` window through Intercom's search API.

A `SearchStream` declares a resource (its shape, its `SearchSemantics`: search path, window
field, day- or second-granular matching) and the shared mechanics do the rest: search the
run's window ascending, write batches (each in one transaction), optionally complete each
batch first (contacts fetch their full tag and company lists), and answer the two questions
the Dagster layer asks of a stream: the newest change since a mark (`newest_change`, the
change sensor's probe) and how many live records Intercom holds (`live_count`, a check).

A sweep (`sweep`) finds what no window can see: records deleted or changed without their
`updated_at` moving. It runs in full mode (`StreamContext.full`) and where the stream's own
`needs_sweep` says so.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl

from intercom_assets.api import IntercomClient, SearchSemantics, SearchWindow
from intercom_assets.warehouse import TableSpec

from .base import LiveCount, StreamContext, StreamReport, Window
from .shape import RawRecord, Shape
from .sync import Run

EPOCH = datetime(1970, 1, 2, tzinfo=UTC)
"""Search start when a window has none (`updated_at` is never earlier)."""

Complete = Callable[[Run, Sequence[RawRecord]], Mapping[str, Mapping[Any, Sequence[Any]]]]
"""Fetches what a batch's records embed only in part: `{link table: {id: every member}}`."""


@dataclass(frozen=True)
class SearchStream:
    """A resource searched by time window; see the module docstring."""

    name: str
    description: str
    shape: Shape
    search: SearchSemantics
    live_count: LiveCount | None = None
    deps: tuple[str, ...] = ()
    extra_tables: tuple[TableSpec, ...] = ()
    """Tables the stream writes besides its shape's (contact merges, ...)."""
    complete: Complete | None = None
    sweep: Callable[[Run], None] | None = None
    """Lists the whole resource: upserts, rebuilds memberships, soft-deletes the vanished."""
    needs_sweep: Callable[[Run], bool] | None = None
    """Asked after a window run: whether this run must sweep too (full mode always does)."""
    windowed: bool = True
    tables: tuple[TableSpec, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tables", (*self.shape.specs(), *self.extra_tables))

    def run(self, ctx: StreamContext) -> StreamReport:
        ctx.warehouse.ensure_tables(self.tables)
        run = Run(ctx, self.name)
        if not ctx.full:
            search = self.window(ctx.client, ctx.window, ctx.workspace.timezone)
            for batch in run.raw_batches(search.iter_pages()):
                self.write(run, batch)
            run.note("search_scanned", search.scanned)
        wanted = ctx.full or (self.needs_sweep is not None and self.needs_sweep(run))
        if wanted and self.sweep is not None:
            self.sweep(run)
        return run.finish()

    def window(self, client: IntercomClient, window: Window, timezone: str | None) -> SearchWindow:
        """The records updated in `window` (for a day-granular search: whole days asked in
        the workspace's time zone, exact seconds kept)."""
        start = window.start or EPOCH
        return SearchWindow(client, self.search, start, window.end, workspace_timezone=timezone)

    def write(self, run: Run, batch: Sequence[RawRecord]) -> pl.Series:
        """Complete the batch where its records embed only part of a list, write it; return
        the ids written."""
        full = self.complete(run, batch) if self.complete is not None else None
        return run.write_records(self.shape, batch, full)

    def newest_change(
        self, client: IntercomClient, since: int | None, timezone: str | None
    ) -> int | None:
        """The newest `updated_at` among records updated since `since` (all when None), with
        one search call: `per_page=1`, sorted by the window field descending.

        A day-granular search cannot ask for seconds, so it asks from the start of `since`'s
        day (one spare day when the time zone is unsure) and the caller compares the answer
        with `since`.
        """
        search = self.search
        if since is None:
            query: dict[str, Any] = {"field": search.field, "operator": ">", "value": 0}
        else:
            start = datetime.fromtimestamp(since, UTC)
            end = datetime.fromtimestamp(since + 1, UTC)
            query = search.window_filters(start, end, workspace_timezone=timezone)[0]
        body = {
            "query": query,
            "pagination": {"per_page": 1},
            "sort": {"field": search.field, "order": "descending"},
        }
        page = client.post(search.path, body)
        records = page.get("data") or page.get(self.shape.table) or []
        newest = records[0].get(search.field) if records else None
        return int(newest) if isinstance(newest, int | float) else None
