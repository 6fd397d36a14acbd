"""Searched streams: resources read by an `updated_at` window through Intercom's search API.

A `SearchStream` declares a resource (its shape, its `SearchSemantics`: search path, window
field, day- or second-granular matching) and the shared mechanics do the rest: search the
run's window ascending, write batches (each in one transaction), optionally complete each
batch first (contacts fetch their full tag and company lists), and answer the two questions
the Dagster layer asks of a stream: the newest change since a mark (`newest_change`, the
change sensor's probe) and how many live records Intercom holds (`live_count`, a check).

A sweep lists the whole resource and finds what no window can see: records deleted, or
changed without their `updated_at` moving. By default it is the search itself over all time
(every record, ascending), then the ids not seen are soft-deleted; a stream can bring its own
(contacts list `GET /contacts` and classify merges). A run sweeps in full mode
(`StreamContext.full`: the daily run that closes a day) and, where a stream asks for it,
whenever Intercom's count of live records differs from the warehouse's (`live_count`, one
request after the window).

History: the stream's state keeps how far back its stored history reaches (`HISTORY_KEY`).
It becomes `BEGINNING` once a window open at the start (the first partition's) or a sweep ran
completely. Until then a run whose window starts later would leave everything before its
start unloaded and still succeed, so its window is widened to the beginning (and the report
says so: `window_widened_from`). A stream whose table already holds rows but whose state has
no `HISTORY_KEY` was loaded by a version that did not record it: its history counts as
complete, and that is recorded (`history_recorded`).
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from intercom_assets.api import IntercomClient, SearchSemantics, SearchWindow
from intercom_assets.api.search import read_stamps
from intercom_assets.warehouse import StateUpdate, TableSpec
from intercom_assets.warehouse.spec import frame_dtype

from .base import Stream, StreamContext, StreamReport, Window
from .shape import RawRecord, Shape
from .sync import Run, concat_ids, record_ref

EPOCH = datetime(1970, 1, 2, tzinfo=UTC)
"""Search start when a window has none (`updated_at` is never earlier)."""
RESUME_KEY = "search"
"""State key of an unfinished window search: `{"window": [start, end], "after": seconds}`."""
HISTORY_KEY = "history_from"
"""State key of how far back the stored history reaches: `BEGINNING` or `NOTHING`."""
BEGINNING = "beginning"
"""Every record up to the latest window was loaded: no run needs to look further back."""
NOTHING = "nothing"
"""No window from the beginning has completed yet (recorded before the stream's first batch,
so rows of an unfinished first load are never taken for a complete history)."""
WIDENED_KEY = "window_widened_from"
"""Report figure: the requested window start of a run widened to the beginning."""
PROBE_PAGE = 5
"""Records the change sensor's probe asks for: the newest with a numeric `updated_at` counts."""
SWEEP_MARGIN = timedelta(days=1)
"""A sweep searches up to a day past the clock: nothing updated during the walk is missed."""

Complete = Callable[[Run, Sequence[RawRecord]], Mapping[str, Mapping[Any, Sequence[Any]]]]
"""Fetches what a batch's records embed only in part: `{link table: {id: every member}}`."""


@dataclass(frozen=True, kw_only=True)
class SearchStream(Stream):
    """A resource searched by time window; see the module docstring."""

    shape: Shape
    search: SearchSemantics
    extra_tables: tuple[TableSpec, ...] = ()
    """Tables the stream writes besides its shape's (contact merges, ...)."""
    complete: Complete | None = None
    sweep: Callable[[Run], None] | None = None
    """Lists the whole resource: upserts, rebuilds memberships, soft-deletes the vanished
    (default: `sweep_by_search`)."""
    sweep_when_counts_differ: bool = False
    """Also sweep after a window run whose `live_count` differs from Intercom's (one request):
    worth it where the sweep does not read the search index (which lags by minutes)."""
    deletions: Callable[[Run], None] | None = None
    """Runs last in every run: soft-deletes what a deletion feed lists, where the API version
    has one (conversations on 2.16), so deletes arrive before the next sweep."""
    windowed: bool = True
    searched: bool = True

    def __post_init__(self) -> None:
        if not self.tables:
            object.__setattr__(self, "tables", (*self.shape.specs(), *self.extra_tables))
        super().__post_init__()

    def run(self, ctx: StreamContext) -> StreamReport:
        ctx.warehouse.migrate(self.tables)
        run = Run(ctx, self.name)
        history = self.history(run)
        if not ctx.full:
            self.search_window(run, history)
            history = BEGINNING  # the window reached back as far as needed
        if ctx.full or (self.sweep_when_counts_differ and self.count_differs(run)):
            (self.sweep or self.sweep_by_search)(run)
            if history != BEGINNING:  # a sweep lists every record
                run.write({}, state=StateUpdate(self.name, {HISTORY_KEY: BEGINNING}))
        if self.deletions is not None:
            run.wait()
            self.deletions(run)
        return run.finish()

    def history(self, run: Run) -> str:
        """How far back the stored history reaches (`BEGINNING` or `NOTHING`), recorded on the
        stream's first run: rows already stored without a record came from a version that did
        not keep one, and count as a complete history."""
        return stored_history(run, self.name, self.shape.table)

    def count_differs(self, run: Run) -> bool:
        """Whether Intercom's count of live records differs from the warehouse's (a record
        vanished or was missed): one request; False without a `live_count`."""
        if self.live_count is None:
            return False
        run.wait()
        total = self.live_count.intercom_total(run.client)
        live = self.live_count.stored(run.warehouse)
        run.report.pages += 1
        run.note("probe_total_count", total)
        run.note("probe_live_count", live)
        return total != live

    def sweep_by_search(self, run: Run) -> None:
        """Every record through the search (all time, ascending), written like a window's;
        then the live ids not seen are soft-deleted."""
        end = datetime.now(UTC) + SWEEP_MARGIN
        search = SearchWindow(
            run.client,
            self.search,
            EPOCH,
            end,
            workspace_timezone=run.ctx.workspace.timezone,
            keep_unplaced=True,
        )
        seen = [self.write(run, batch) for batch in run.raw_batches(search.iter_pages())]
        ids = concat_ids(seen, self.tables[0])
        deleted = run.soft_delete_missing(self.shape.table, ids.unique())
        run.note(f"{self.shape.table}_swept", len(ids))
        run.note(f"{self.shape.table}_vanished", deleted)

    def search_window(self, run: Run, history: str = BEGINNING) -> None:
        """Write the records updated in the run's window, batch by batch, resuming after the
        last batch an interrupted run of the same window committed.

        Unless the stored `history` reaches back to the beginning, a window with a start is
        widened to the beginning (noted as `window_widened_from`); the completed window then
        records `HISTORY_KEY: BEGINNING` in the transaction that clears the resume mark.

        Each batch commits with the window and the newest `updated_at` it holds (state key
        `search`); the search is ascending, so everything up to that second is stored, and a
        re-run of the window starts there (records edited since moved later, so none is
        skipped). A completed window clears the mark.
        """
        window = widen(run, self.name, history, run.ctx.window)
        key = _window_key(window)
        mark = run.warehouse.read_state(self.name, [RESUME_KEY]).get(RESUME_KEY)
        start = window.start or EPOCH
        if isinstance(mark, dict) and mark.get("window") == key:
            start = max(start, datetime.fromtimestamp(int(mark["after"]), UTC))
            run.note("resumed_from", start.isoformat())
        if start >= window.end:
            return
        search = SearchWindow(
            run.client, self.search, start, window.end,
            workspace_timezone=run.ctx.workspace.timezone, keep_unplaced=True,
        )  # fmt: skip
        for batch in run.raw_batches(search.iter_pages()):
            self.write(run, batch, resume=key)
        done: dict[str, Any] = {RESUME_KEY: None}
        if history != BEGINNING:
            done[HISTORY_KEY] = BEGINNING
        run.write({}, state=StateUpdate(self.name, done))
        run.note("search_scanned", search.scanned)

    def write(
        self, run: Run, batch: Sequence[RawRecord], *, resume: list[str | None] | None = None
    ) -> pl.Series:
        """Complete the batch where its records embed only part of a list, write it (with the
        resume mark of window `resume`, when given); return the ids of the batch.

        Records this run already wrote as they are now (contacts: found by the window's
        search, then listed by the sweep) are neither written nor counted again. A record
        whose window field is not a number (no window can place it) or that its tables
        cannot hold is quarantined (`Run.fit`); the others are written, and the resume mark
        is the newest of theirs. The ids returned include quarantined records that have one
        (still listed: not deleted)."""
        table, key = self.shape.table, self.shape.key
        fresh, keys, changed = run.first_sight(table, key, batch)
        dtype = frame_dtype(self.tables[0].column(key).dtype)
        if dtype == pl.String:
            keys = [None if k is None else str(k) for k in keys]
        ids = pl.Series(key, keys, dtype=dtype, strict=False).drop_nulls()
        if not fresh:
            return ids
        fresh = self.placed(run, fresh)
        full = self.complete(run, fresh) if self.complete is not None else None
        frames, parents = run.fit(self.shape, fresh, full)
        state = None
        newest = frames[table].get_column(self.search.field).max()
        if resume is not None and isinstance(newest, datetime):
            mark = {"window": resume, "after": int(newest.timestamp())}
            state = StateUpdate(self.name, {RESUME_KEY: mark})
        run.write(frames, parents=parents, state=state, repeats={table: changed})
        return ids

    def placed(self, run: Run, batch: Sequence[RawRecord]) -> list[RawRecord]:
        """The records of `batch` whose window field is a number; the others are quarantined
        (they would hold no place in any window, nor in the resume mark)."""
        field, table = self.search.field, self.shape.table
        stamps = read_stamps(list(batch), field)
        kept: list[RawRecord] = []
        for raw, (record_id, stamp) in zip(batch, stamps, strict=True):
            if type(stamp) in (int, float):
                kept.append(raw)
                continue
            who = f"record {record_id!r}" if record_id is not None else "a record"
            error = (
                f"{table}: {who} has {field} = {stamp!r}, which column {field!r} (unix seconds)"
                " cannot hold: no window can place it"
            )
            run.reject(record_ref(record_id, raw), field, error, raw, table)
        return kept

    def newest_change(
        self, client: IntercomClient, since: int | None, timezone: str | None
    ) -> int | None:
        """The newest `updated_at` among records updated since `since` (all when None), with
        one search call: `per_page=PROBE_PAGE`, sorted by the window field descending; the
        first numeric one counts (a malformed newest record, which runs quarantine, does not
        hide the changes behind it).

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
            "pagination": {"per_page": PROBE_PAGE},
            "sort": {"field": search.field, "order": "descending"},
        }
        page = client.post(search.path, body)
        records = page.get("data") or page.get(self.shape.table) or []
        for record in records:
            newest = record.get(search.field) if isinstance(record, dict) else None
            if isinstance(newest, int | float) and not isinstance(newest, bool):
                return int(newest)
        return None


def stored_history(run: Run, name: str, table: str) -> str:
    """How far back stream `name`'s stored history reaches (`BEGINNING` or `NOTHING`),
    recorded on its first run: rows already in `table` without a record came from a version
    that did not keep one, and count as a complete history (noted as `history_recorded`)."""
    stored = run.warehouse.read_state(name, [HISTORY_KEY])
    if HISTORY_KEY in stored:
        return BEGINNING if stored[HISTORY_KEY] == BEGINNING else NOTHING
    totals = run.warehouse.totals(table)
    rows = totals.live + totals.deleted
    found = BEGINNING if rows else NOTHING
    run.write({}, state=StateUpdate(name, {HISTORY_KEY: found}))
    run.note(
        "history_recorded",
        f"complete: the table already held {rows} rows" if rows else "nothing loaded yet",
    )
    return found


def widen(run: Run, name: str, history: str, window: Window) -> Window:
    """The window a run of stream `name` must read: `window` itself once the stored
    `history` reaches back to the beginning (or the window has no start); otherwise widened
    to the beginning, logged and noted as `window_widened_from`."""
    if history == BEGINNING or window.start is None:
        return window
    run.ctx.log.warning(
        "%s: history not loaded yet; widening the window from %s to the beginning",
        name,
        window.start.isoformat(),
    )
    run.note(WIDENED_KEY, window.start.isoformat())
    return Window(None, window.end)


def _window_key(window: Window) -> list[str | None]:
    return [window.start.isoformat() if window.start else None, window.end.isoformat()]
