"""The deleted-conversations feed (`GET /conversations/deleted`, Intercom-Version 2.16 on):
conversations deleted since the feed was last read are soft-deleted in every run, so a delete
reaches the warehouse with the next run of `conversations` instead of the next full sweep.

The feed lists every deleted conversation, newest `deleted_at` first, 60 a page. The stream's
state keeps the newest `deleted_at` read (`FEED_KEY`); a run reads pages until one reaches
back before it (entries at that very second are read again: soft-deleting twice changes
nothing). The first read on a warehouse takes the whole feed. Every entry read is kept in
the table `deleted_conversations` (`id`, `deleted_at`, `metrics_retained`: whether Intercom's
reports keep the conversation's metrics). On versions before 2.16 the feed does not exist and
nothing is asked: the daily sweep finds deletes, and `deleted_conversations` stays empty.
"""

from typing import Any

import polars as pl

from intercom_assets.api import iter_cursor_pages
from intercom_assets.warehouse import StateUpdate

from .shape import BOOL, TIMESTAMP, Shape, encode, field
from .sync import Run
from .versions import V2_16, at_least

FEED_PATH = "/conversations/deleted"
FEED_PER_PAGE = 60
"""The feed's largest page."""
FEED_KEY = "deleted_feed_after"
"""State key: the newest `deleted_at` the feed has given (unix seconds)."""

SHAPE = Shape(
    "deleted_conversations",
    (
        field("id", nullable=False),
        field("type"),
        field("deleted_at", TIMESTAMP),
        field("metrics_retained", BOOL),
    ),
)
"""The feed's entries as read (a deleted conversation's row stays: nothing soft-deletes it)."""


def read_feed(run: Run, after: int | None) -> list[dict[str, Any]]:
    """Feed entries deleted at or after `after` (all when None), newest first."""
    pages = iter_cursor_pages(
        run.client,
        FEED_PATH,
        params={"order": "desc"},
        per_page=FEED_PER_PAGE,
        items_key="conversations",
    )
    entries: list[dict[str, Any]] = []
    for page in pages:
        run.report.pages += 1
        listed = [e for e in page.items if isinstance(e.get("deleted_at"), int)]
        entries.extend(e for e in listed if after is None or e["deleted_at"] >= after)
        if after is not None and any(e["deleted_at"] < after for e in listed):
            break
    return entries


def soft_delete_from_feed(run: Run) -> None:
    """Soft-delete the live conversations the feed lists as deleted since its last read."""
    if not at_least(run.client.api_version, V2_16):
        return
    mark = run.warehouse.read_state(run.name, [FEED_KEY]).get(FEED_KEY)
    entries = read_feed(run, int(mark) if isinstance(mark, int) else None)
    if entries:  # an entry read twice (the feed moved during the walk) is written once
        run.write_records(SHAPE, encode(list({str(e["id"]): e for e in entries}.values())))
    gone = {str(e["id"]) for e in entries}
    live = run.warehouse.live_ids("conversations")
    deleted = 0
    if gone & set(live):
        keep = pl.Series("id", sorted(set(live) - gone), dtype=pl.String)
        deleted = run.soft_delete_missing("conversations", keep)
    newest = max((e["deleted_at"] for e in entries), default=mark)
    if newest is not None and newest != mark:
        run.write({}, state=StateUpdate(run.name, {FEED_KEY: newest}))
    run.note("feed_deleted_listed", len(entries))
    run.note("feed_deleted", deleted)
