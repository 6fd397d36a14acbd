"""Parts embedded in their parent's `GET` (a conversation's, a ticket's), at most the newest
500 of them: how a batch of fetched parents is written, the same for both.

Intercom returns only the 500 newest parts of a parent and its true `total_count`. A parent
whose parts all came back has its stored parts replaced as a set (a stored part Intercom no
longer returns is deleted). A parent with more parts than came back (truncated) is replaced
only inside the returned window: a stored part Intercom did not return is kept when it is
not newer than the oldest part returned (its `created_at` is earlier, equal, or unknown), as
it fell out of the window rather than out of the conversation; a part newer than that which
Intercom no longer returns is deleted. The loads table records, per parent, the parts
returned, the true count, whether the answer was truncated and how many stored parts lie
beyond the window (`parts_beyond_window`: kept, older than the oldest returned part).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl

from .children import ChildTable, listed_parts
from .shape import BOOL, INT, TIMESTAMP, Field, Shape, encode, field
from .sync import Run

WINDOW_COLUMN = "created_at"
"""Where a part sits in its parent's list (Intercom lists the newest parts)."""


def load_fields(updated_at: str, *extra: Field) -> tuple[Field, ...]:
    """The columns of a loads table: the parent's id, its `updated_at` loaded (`updated_at`
    names the column), then `extra`, the counts and `truncated`."""
    return (
        field("id", nullable=False),
        field(updated_at, TIMESTAMP),
        field("parts_returned", INT),
        field("total_count", INT),
        *extra,
        field("truncated", BOOL),
        field("parts_beyond_window", INT),
    )


@dataclass(frozen=True)
class CappedParts:
    """The parts a parent's `GET` embeds under `key`, written into `table` with one row per
    parent in `loads` (see the module doc)."""

    key: str
    """Where the record embeds its parts (`conversation_parts`)."""
    table: ChildTable
    loads: Shape
    updated_at: str
    """The loads column that holds the parent's `updated_at` loaded."""
    more: Callable[[dict[str, Any]], dict[str, Any]] = lambda _: {}
    """More loads columns, read from the parent record."""
    truncated_note: str | None = None
    """The report figure that counts truncated parents, if any."""

    def write(self, run: Run, records: list[dict[str, Any]]) -> None:
        """Write the parts of these parents and their loads, in one transaction."""
        owned: list[tuple[str, list[dict[str, Any]]]] = []
        loads: list[dict[str, Any]] = []
        windows: dict[str, datetime | None] = {}
        for record in records:
            parent_id = str(record["id"])
            own, total = listed_parts(record, self.key)
            owned.append((parent_id, own))
            truncated = total > len(own)
            if truncated:
                windows[parent_id] = _oldest(own)
            loads.append(
                {
                    "id": parent_id,
                    self.updated_at: record.get("updated_at"),
                    "parts_returned": len(own),
                    "total_count": total,
                    **self.more(record),
                    "truncated": truncated,
                }
            )
            run.report.fetched += len(own)
        kept = self._beyond_window(run, windows, owned)
        beyond = dict(kept.group_by("parent").len().iter_rows())
        for load in loads:
            load["parts_beyond_window"] = beyond.get(load["id"], 0)
        part_frames, parents = self.table.frames(owned)
        load_frames, _ = self.loads.frames(encode(loads))
        name = self.table.spec.name
        run.write(
            {**part_frames, **load_frames},
            parents=parents,
            keep={name: kept.get_column("id")} if kept.height else None,
        )
        run.tally(f"{name}_beyond_window", kept.height)
        if self.truncated_note is not None:
            run.tally(self.truncated_note, len(windows))

    def _beyond_window(
        self,
        run: Run,
        windows: dict[str, datetime | None],
        owned: list[tuple[str, list[dict[str, Any]]]],
    ) -> pl.DataFrame:
        """`id` and `parent` of the stored parts of truncated parents that lie beyond the
        returned window (`windows`: each truncated parent's oldest returned part's time,
        None when none came back with a time)."""
        empty = pl.DataFrame(schema={"id": pl.String(), "parent": pl.String()})
        if not windows:
            return empty
        spec = self.table.spec
        parent_key = spec.parent_key or ""
        stored = run.warehouse.read_columns(
            spec.name, ["id", parent_key, WINDOW_COLUMN], parents=list(windows)
        )
        if stored.height == 0:
            return empty
        returned = pl.DataFrame(
            {
                "id": [str(p.get("id")) for pid, own in owned if pid in windows for p in own],
                parent_key: [pid for pid, own in owned if pid in windows for _ in own],
            },
            schema={"id": pl.String(), parent_key: pl.String()},
        )
        edges = pl.DataFrame(
            {parent_key: list(windows), "_edge": list(windows.values())},
            schema={parent_key: pl.String(), "_edge": stored.schema[WINDOW_COLUMN]},
        )
        at, edge = pl.col(WINDOW_COLUMN), pl.col("_edge")
        return (
            stored.join(returned, on=["id", parent_key], how="anti")
            .join(edges, on=parent_key, how="left")
            .filter(edge.is_null() | at.is_null() | (at <= edge))
            .select("id", pl.col(parent_key).alias("parent"))
        )


def _oldest(parts: list[dict[str, Any]]) -> datetime | None:
    """The earliest `created_at` (unix seconds) of these parts, as a UTC time."""
    times = [p.get(WINDOW_COLUMN) for p in parts]
    seconds = [t for t in times if isinstance(t, int | float) and not isinstance(t, bool)]
    return datetime.fromtimestamp(min(seconds), UTC) if seconds else None
