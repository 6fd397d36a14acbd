"""Admin activity logs (the audit trail): `GET /admins/activity_logs`, exactly the run's window
by `created_at`.

Entries never change, so rows are only appended. A window that had ended by Intercom's clock
(its `Date` header) when it was read is closed: every entry in it is stored. The stream's
state keeps the closed time as one list of disjoint `[start, end)` intervals (`CLOSED_KEY`;
adjacent and overlapping windows merge, so day after day it stays one interval), and a later
run of a window inside it reads nothing (0 calls). A window still open (today's partition)
is read again on each run. (Earlier versions kept one `closed:<start>:<end>` key per window;
such keys still count and are folded into the list, and no new one is written.)
`created_at_after` goes out one second before the window's start,
`created_at_before` is its end, and the entries are kept to `start <= created_at < end` here,
so the rows are exactly the window's whether Intercom's bounds are inclusive or not. Rows are
written in batches of `batch_size` entries.

History, as for the searched streams: until a window open at the start (the first
partition's) has been read completely, the stream's state does not record `HISTORY_KEY:
BEGINNING`, and a run whose window starts later is widened to the beginning (the report
says `window_widened_from`), so a first load that misses the first partition leaves no
entries behind. A table holding rows without the record counts as complete.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from intercom_assets.api import iter_cursor_pages
from intercom_assets.warehouse import StateUpdate

from .base import Stream, StreamContext, StreamReport
from .searched import BEGINNING, HISTORY_KEY, stored_history, widen
from .shape import JSON, TIMESTAMP, Shape
from .shape import field as column
from .sync import Run

PATH = "/admins/activity_logs"
PER_PAGE = 150

SHAPE = Shape(
    "admin_activity_logs",
    (
        column("id", nullable=False),
        column("activity_type"),
        column("activity_description"),
        column("created_at", TIMESTAMP),
        column("performed_by_id", path="performed_by.id"),
        column("performed_by_email", path="performed_by.email"),
        column("performed_by_ip", path="performed_by.ip"),
        column("metadata", JSON),
    ),
)


CLOSED_KEY = "closed"
"""State key: the closed time as sorted, disjoint `[start, end]` pairs (unix seconds)."""
LEGACY_PREFIX = "closed:"
"""State keys `closed:<start>:<end>`, one per closed window, as earlier versions wrote them."""

Interval = tuple[int, int]


def closed_intervals(state: Mapping[str, Any]) -> list[Interval]:
    """The closed time recorded in a stream state (the list and any per-window keys)."""
    found = [(int(a), int(b)) for a, b in state.get(CLOSED_KEY) or []]
    for key, value in state.items():
        if key.startswith(LEGACY_PREFIX) and value:
            start, _, end = key.removeprefix(LEGACY_PREFIX).partition(":")
            found.append((int(start), int(end)))
    return merge(found)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint intervals covering the same time (touching ones join)."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def covered(intervals: Sequence[Interval], start: int, end: int) -> bool:
    """Whether `[start, end)` lies inside one of `intervals`."""
    return any(a <= start and end <= b for a, b in intervals)


@dataclass(frozen=True, kw_only=True)
class ActivityLogStream(Stream):
    """Entries read by `created_at` window, appended (see the module doc)."""

    shape: Shape

    def run(self, ctx: StreamContext) -> StreamReport:
        ctx.warehouse.migrate(self.tables)
        run = Run(ctx, self.name)
        history = stored_history(run, self.name, self.shape.table)
        window = widen(run, self.name, history, ctx.window)
        start = int(window.start.timestamp()) if window.start is not None else 0
        end = int(window.end.timestamp())
        closed = closed_intervals(ctx.warehouse.read_state(self.name))
        if covered(closed, start, end):
            run.note("window_already_closed", True)
            return run.finish()
        params: dict[str, Any] = {
            "created_at_after": str(max(start - 1, 0)),
            "created_at_before": str(end),
        }
        pages = iter_cursor_pages(
            ctx.client, PATH, params=params, per_page=PER_PAGE, items_key="activity_logs"
        )
        kept: list[bytes] = []
        for page in pages:
            run.report.pages += 1
            run.report.fetched += len(page.raw_items)
            kept.extend(
                raw
                for raw, entry in zip(page.raw_items, page.items, strict=True)
                if start <= int(entry["created_at"]) < end
            )
            if len(kept) >= ctx.batch_size:
                run.write(self.shape.frames(kept)[0])
                kept = []
        now = ctx.client.server_time()
        ended = now is not None and int(now.timestamp()) >= end
        run.note("window_closed", ended)
        done: dict[str, Any] = {}
        if ended:
            done[CLOSED_KEY] = [list(i) for i in merge([*closed, (start, end)])]
        if history != BEGINNING and window.start is None:
            done[HISTORY_KEY] = BEGINNING  # every entry up to the window's end is stored
        state = StateUpdate(self.name, done) if done else None
        if kept or state is not None:
            run.write(self.shape.frames(kept)[0], state=state)
        return run.finish()


STREAM = ActivityLogStream(
    name="admin_activity_logs",
    description="Intercom admin activity logs by created_at window, append only",
    tables=SHAPE.specs(),
    shape=SHAPE,
    windowed=True,
)
