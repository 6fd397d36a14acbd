"""What a stream is, what it gets for one run, and what it reports back.

A stream is one Intercom resource: it knows which endpoint serves it, how it is synced
(full snapshot, time window, or per parent) and how its records are shaped into tables. It
uses `intercom_assets.api` to fetch and `intercom_assets.warehouse` to write; it never
writes SQL and knows nothing of Dagster. The Dagster layer builds one asset per stream.
"""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from intercom_assets.api import IntercomClient, Workspace
from intercom_assets.warehouse import TableCounts, TableSpec, Warehouse, WriteResult

DEFAULT_BATCH_SIZE = 10000
"""Records shaped and written per transaction: memory holds at most two batches (one being
written while the next is shaped)."""


@dataclass(frozen=True)
class Window:
    """The time window a run covers: `start <= updated_at < end`.

    `start=None` means "everything before `end`": the first partition of the asset's
    history also covers every record last changed before it.
    """

    start: datetime | None
    end: datetime

    def __post_init__(self) -> None:
        if self.end.tzinfo is None or (self.start is not None and self.start.tzinfo is None):
            raise ValueError("window bounds must be timezone-aware datetimes")
        if self.start is not None and self.start >= self.end:
            raise ValueError(f"empty window: start {self.start} is not before end {self.end}")


@dataclass
class StreamContext:
    """Everything one stream run gets."""

    client: IntercomClient
    warehouse: Warehouse
    window: Window
    workspace: Workspace
    full: bool = False
    """Full mode: sweep the whole resource (deletes, merges, membership drift)."""
    max_in_flight: int = 8
    allow_empty_listings: bool = False
    """Let an empty complete listing soft-delete every stored row (refused otherwise)."""
    events_recheck_days: int = 7
    """Every contact's events are re-read at least this often (events that move neither
    `updated_at` nor `last_seen_at` arrive within this bound)."""
    batch_size: int = DEFAULT_BATCH_SIZE
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("intercom_assets"))
    progress: Callable[[str, int], None] | None = None
    """Called with (stream name, records fetched so far) after each batch, when set."""


@dataclass
class StreamReport:
    """What one run did: records fetched, rows per outcome per table, and stream extras."""

    stream: str
    fetched: int = 0
    """Records received from the API (before dedupe)."""
    pages: int = 0
    """API pages (or single-record GETs) that delivered them."""
    tables: dict[str, TableCounts] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, result: WriteResult) -> None:
        """Adds one transaction's counts."""
        for table, counts in result.tables.items():
            self.tables[table] = _sum(self.tables.get(table), counts)

    def uncount(self, table: str, outcome: str, rows: int) -> None:
        """Take up to `rows` back from one outcome of a table (a repeat counted once)."""
        counts = self.tables.get(table)
        if counts is not None and rows > 0:
            taken = min(rows, getattr(counts, outcome))
            self.tables[table] = replace(counts, **{outcome: getattr(counts, outcome) - taken})

    def total(self, outcome: str) -> int:
        """Rows with that outcome (`inserted`, `updated`, ...) over every table."""
        return sum(getattr(counts, outcome) for counts in self.tables.values())


@dataclass(frozen=True)
class LiveCount:
    """How many live records a stream's entity table should hold, asked with one cheap call.

    `GET <path>?per_page=1` answers Intercom's `total_count`; `positive_column` restricts the
    stored side to rows where that column is above zero, for endpoints that count only such
    records (`GET /companies` counts companies that have users).
    """

    table: str
    path: str
    positive_column: str | None = None
    counts: str | None = None
    """What Intercom's count holds when that is not every live record (said by the check
    and the demo): "companies with users only (user_count > 0)"."""

    def intercom_total(self, client: IntercomClient) -> int:
        """Intercom's count (one request)."""
        return int(client.get(self.path, {"per_page": 1}).get("total_count") or 0)

    def stored(self, warehouse: Warehouse) -> int:
        """The warehouse's count of the same records."""
        if self.positive_column is None:
            return warehouse.count_live(self.table)
        values = warehouse.read_columns(self.table, [self.positive_column])[self.positive_column]
        return int((values > 0).sum())


Reference = str | tuple[str, ...]
"""The entity table a column points to, or the tables it may point to (a ticket's linked
object is a conversation or a ticket)."""


def targets(reference: Reference) -> tuple[str, ...]:
    """The tables a reference may point to."""
    return (reference,) if isinstance(reference, str) else reference


@dataclass(frozen=True)
class PartCap:
    """A check a parts stream declares: Intercom returns at most the newest 500 parts of a
    parent; `loads` records per parent whether its answer was `truncated`."""

    parts: str
    """The parts table (the check is attached to it)."""
    loads: str
    """Its loads table: one row per parent, with `truncated` and the counts."""
    parents: str
    """What a parent is, plural (`conversations`): names the check's figures."""


@dataclass(frozen=True, kw_only=True)
class Stream:
    """One Intercom resource, synced into its tables: what it declares, and `run`.

    The declarations are all the Dagster layer reads: its assets (one per table), their
    lineage (`deps`, `references`), partitions (`windowed`), checks (`references`,
    `live_count`, `checks`) and which runs sweep it (`searched`). The kinds of stream
    (`SnapshotStream`, `SearchStream`, `ChildStream`, ...) add how a run fetches and writes.
    """

    name: str
    """Short snake_case name; the asset key of its entity table is `intercom/<name>`."""
    description: str
    """One line for the asset's description."""
    tables: tuple[TableSpec, ...] = ()
    """The tables it writes; the first is its entity table."""
    deps: tuple[str, ...] = ()
    """Streams that must be loaded first (load order)."""
    references: Mapping[str, Mapping[str, Reference]] = field(default_factory=dict)
    """Per table, the entity table each referencing column points to:
    `{"contact_tags": {"contact_id": "contacts", "tag_id": "tags"}}`. A table's lineage
    follows them, and the reference of its parent key is its `parents` check."""
    windowed: bool = False
    """A run fetches only the records of its time window: the stream's assets are
    partitioned by day."""
    searched: bool = False
    """Read through Intercom's search by `updated_at`: the change sensor probes it
    (`newest_change`) and the daily run sweeps it (full mode)."""
    live_count: LiveCount | None = None
    """How to compare the stored live rows with Intercom's count, where Intercom has one."""
    checks: tuple[PartCap, ...] = ()
    """Checks of its own, besides every table's primary key, parents and live count."""

    def __post_init__(self) -> None:
        own = {spec.name: spec for spec in self.tables}
        for table, columns in self.references.items():
            if table not in own:
                raise ValueError(f"{self.name}: references name {table!r}, not one of its tables")
            unknown = set(columns) - set(own[table].column_names)
            if unknown:
                raise KeyError(f"{self.name}: {table} declares no column {sorted(unknown)}")

    def run(self, ctx: StreamContext) -> StreamReport:
        """Fetches what the run covers and makes the tables match it."""
        raise NotImplementedError(f"{type(self).__name__} does not say how it runs")

    def newest_change(
        self, client: IntercomClient, since: int | None, timezone: str | None
    ) -> int | None:
        """The newest `updated_at` among records changed since `since` (one call); only a
        `searched` stream can tell."""
        raise NotImplementedError(f"{self.name} is not searched: it has no change probe")


def _sum(a: TableCounts | None, b: TableCounts) -> TableCounts:
    if a is None:
        return b
    return TableCounts(
        inserted=a.inserted + b.inserted,
        updated=a.updated + b.updated,
        unchanged=a.unchanged + b.unchanged,
        deleted=a.deleted + b.deleted,
        revived=a.revived + b.revived,
        duplicates=a.duplicates + b.duplicates,
        replaced_parents=a.replaced_parents + b.replaced_parents,
        kept=a.kept + b.kept,
    )
