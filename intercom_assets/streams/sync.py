"""Mechanics every stream shares: batching pages, writing batches, snapshots, counting.

Stream modules stay declarative: they say where records come from and how they are shaped;
`Run` writes each batch in one transaction and adds its counts to the report.

Batches go to `Warehouse.submit`: while one batch's transaction runs on the warehouse's
writer thread, the stream fetches and shapes the next. A stream ends with `run.finish()`,
which waits for the last batch (and raises its error) before the report is read.
"""

import functools
import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import msgspec
import polars as pl

from intercom_assets.api import IntercomClient, Page
from intercom_assets.warehouse import (
    Rejected,
    Rejections,
    StateUpdate,
    TableSpec,
    Warehouse,
    WriteResult,
)
from intercom_assets.warehouse.spec import frame_dtype

from .base import StreamContext, StreamReport
from .shape import RawRecord, Shape, key_of

T = TypeVar("T")

NO_ID = "no-id:"
"""How `_rejected.record_id` names a record that has no id: this, then a hash of the record."""
QUARANTINED = "records_quarantined"
"""Report figure: records of this run kept out of their table (see `Run.fit`)."""


class EmptyListingError(RuntimeError):
    """A complete listing came back empty for a table that holds live rows."""


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of at most `size` items, in order."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class Run:
    """One stream run: writes batches, counts pages and records, builds the report.

    A row is counted once per run. A run that reads a record twice (contacts: the window's
    search, then the sweep; a search page that shifted) writes it again only when its content
    changed in between (`first_sight`), and a changed repeat keeps the outcome of its first
    write in the counts: inserted + updated + unchanged + revived of an entity table is the
    number of distinct records the run read, and deleted the rows it soft-deleted.
    """

    def __init__(self, ctx: StreamContext, name: str) -> None:
        self.ctx = ctx
        self.name = name
        self.report = StreamReport(name)
        self._sighted: dict[str, dict[Any, int]] = {}
        """Per entity table: key -> content fingerprint of each record this run wrote."""
        self._held: set[str] | None = None
        """Ids of this stream's records held in `_rejected` (read when first needed)."""
        self._rejected_now: set[str] = set()
        self._pending: list[Rejected] = []
        """Records rejected since the last write: they go with the next one."""
        self._unfit: dict[str, set[Any]] = {}
        """Per entity table: keys of the records this run quarantined (see `reject`)."""
        self._fitted: dict[str, str] = {}
        """Entity tables whose batches went through `fit`, with their key column."""

    @property
    def warehouse(self) -> Warehouse:
        return self.ctx.warehouse

    @property
    def client(self) -> IntercomClient:
        return self.ctx.client

    def raw_records(self, pages: Iterable[Page]) -> Iterator[RawRecord]:
        """The raw records (JSON bytes) of `pages`, counting pages and records fetched."""
        for page in pages:
            self.report.pages += 1
            self.report.fetched += len(page.raw_items)
            yield from page.raw_items

    def raw_batches(self, pages: Iterable[Page]) -> Iterator[list[RawRecord]]:
        """The raw records of `pages` in batches of `ctx.batch_size`."""
        return batched(self.raw_records(pages), self.ctx.batch_size)

    def fetched_one(self, records: int = 1) -> None:
        """Count a single-record GET (one page, `records` records)."""
        self.report.pages += 1
        self.report.fetched += records

    def first_sight(
        self, table: str, key: str, batch: Sequence[RawRecord]
    ) -> tuple[list[RawRecord], list[Any], int]:
        """Split `batch` by what this run already wrote into `table`: (the records to write,
        the keys of every record, how many of those to write are repeats whose content
        changed since). A record written earlier in this run with the same content is left
        out: writing it again would change nothing and count it twice."""
        decode = _key_decoder(key)
        sighted = self._sighted.setdefault(table, {})
        unfit = self._unfit.get(table, set())
        fresh: list[RawRecord] = []
        keys: list[Any] = []
        changed = 0
        for raw in batch:
            try:
                record_key = getattr(decode.decode(raw), key)
            except msgspec.DecodeError:  # not a JSON object: `Run.fit` quarantines it
                record_key = None
            keys.append(record_key)
            if record_key is None:  # cannot be told apart: `Run.fit` quarantines it
                fresh.append(raw)
                continue
            fingerprint = hash(bytes(raw))
            before = sighted.get(record_key)
            if before == fingerprint:
                continue
            if before is not None and record_key not in unfit:
                changed += 1
            unfit.discard(record_key)
            sighted[record_key] = fingerprint
            fresh.append(raw)
        return fresh, keys, changed

    def write(
        self,
        frames: Mapping[str, pl.DataFrame],
        *,
        parents: Mapping[str, pl.Series | Sequence[Any]] | None = None,
        state: StateUpdate | None = None,
        repeats: Mapping[str, int] | None = None,
        keep: Mapping[str, pl.Series | Sequence[Any]] | None = None,
    ) -> None:
        """Submit one batch (one transaction); its counts join the report once committed.

        `keep`: as in `Warehouse.write`. `repeats`: per entity table, rows of the batch this
        run wrote before (see `first_sight`); their second write (an update) is not counted
        again."""

        def written(result: WriteResult) -> None:
            self.report.add(result)
            for table, count in (repeats or {}).items():
                self.report.uncount(table, "updated", count)

        rejections = self._rejections(frames)
        self.warehouse.submit(
            frames,
            parents=parents,
            state=state,
            keep=keep,
            rejections=rejections,
            on_written=written,
        )
        if self.ctx.progress is not None:
            self.ctx.progress(self.name, self.report.fetched)

    def wait(self) -> None:
        """Wait until every submitted batch is committed (raising a batch's error)."""
        self.warehouse.wait()

    def finish(self, *, complete: bool = True) -> StreamReport:
        """Wait for the last submitted batch (raising its error) and return the report.

        A `complete` run (it read everything it set out to read) resolves the held records
        without an id that it did not receive again: such a record cannot be matched with
        its well-formed version, so not being sent again is what tells it was mended."""
        gone: list[str] = []
        if complete and self._held:
            gone = [i for i in self._held if NO_ID in i and i not in self._rejected_now]
            self._held.difference_update(gone)
        if gone or self._pending:
            rejected, self._pending = self._pending, []
            self.warehouse.submit({}, rejections=Rejections(self.name, rejected, gone))
        self.wait()
        return self.report

    # -- records that do not fit -----------------------------------------------------------

    def fit(
        self,
        shape: Shape,
        raws: Sequence[RawRecord],
        full: Mapping[str, Mapping[Any, Sequence[Any]]] | None = None,
    ) -> tuple[dict[str, pl.DataFrame], dict[str, pl.Series]]:
        """`shape.frames` of the records of `raws` its tables can hold; the others
        (`Shape.fitted`) are quarantined: recorded in the warehouse's `_rejected` table with
        the next `write` (same transaction), logged, and counted (`records_quarantined`). A
        held record written well-formed later is resolved by that write."""
        frames, parents, misfits = shape.fitted(raws, full)
        self._fitted[shape.table] = shape.key
        for misfit in misfits:
            ref = self.ref(shape.table, record_ref(misfit.key, misfit.raw))
            self.reject(ref, misfit.field, misfit.error, misfit.raw, shape.table)
        return frames, parents

    def ref(self, table: str, record_id: str) -> str:
        """A record's `_rejected.record_id`: its id, prefixed with `<table>:` when `table` is
        not the stream's entity table (named after the stream), so ids of its tables never
        meet."""
        return record_id if table == self.name else f"{table}:{record_id}"

    def reject(
        self, record_id: str, field: str, error: str, raw: RawRecord, table: str | None = None
    ) -> None:
        """Quarantine one record (see `fit`): `record_id` as `record_ref` gives it. With
        `table` (its entity table), its well-formed version later in the run counts as a
        first write (`first_sight`); the same record again is not rejected twice."""
        if table is not None:
            key = record_id if table == self.name else record_id.removeprefix(f"{table}:")
            self._unfit.setdefault(table, set()).add(key)
        self._held_ids().add(record_id)
        self._rejected_now.add(record_id)
        self._pending.append(Rejected(record_id, field, error, bytes(raw).decode(errors="replace")))
        self.ctx.log.error("%s: record quarantined (see _rejected): %s", self.name, error)
        self.tally(QUARANTINED, 1)

    def _held_ids(self) -> set[str]:
        if self._held is None:
            stored = self.warehouse.rejected(self.name).get_column("record_id")
            self._held = set(stored.to_list())
        return self._held

    def _rejections(self, frames: Mapping[str, pl.DataFrame]) -> Rejections | None:
        """The rejections to write with `frames`: the records rejected since the last write,
        and the held records these frames now hold well-formed."""
        rejected, self._pending = self._pending, []
        resolved: list[str] = []
        held = self._held_ids() if self._fitted else set()
        for table, key in self._fitted.items():
            if held and table in frames:
                ids = frames[table].get_column(key).cast(pl.String).drop_nulls().to_list()
                refs = (self.ref(table, i) for i in ids)
                resolved += [i for i in refs if i in held]
        held.difference_update(resolved)
        if not rejected and not resolved:
            return None
        return Rejections(self.name, rejected, resolved)

    def write_records(
        self,
        shape: Shape,
        raws: Sequence[RawRecord],
        full: Mapping[str, Mapping[Any, Sequence[Any]]] | None = None,
    ) -> pl.Series:
        """Shape raw records (`Page.raw_items`, or `shape.encode(...)` of records built in
        Python) into the entity and link frames and write them; return their ids. `full` as
        in `Shape.frames`."""
        frames, parents = self.fit(shape, raws, full)
        self.write(frames, parents=parents)
        ids = frames[shape.table].get_column(shape.key)
        if ids.len() == len(raws):
            return ids
        # a quarantined record with an id is still listed: its stored row is no delete
        keys = [k for k in (key_of(raw, shape.key) for raw in raws) if k is not None]
        return pl.Series(shape.key, keys, dtype=ids.dtype, strict=False).drop_nulls()

    def soft_delete_missing(self, table: str, seen: pl.Series | Sequence[Any]) -> int:
        """After a complete listing: soft-delete live rows not seen; return how many.

        An empty listing of a table that holds live rows is refused (`EmptyListingError`)
        unless the run allows it (`StreamContext.allow_empty_listings`): a transient empty
        answer must not soft-delete a whole table.
        """
        if len(seen) == 0:
            live = self.warehouse.count_live(table)
            if live == 0:
                return 0
            if not self.ctx.allow_empty_listings:
                raise EmptyListingError(
                    f"{self.name}: Intercom listed no {table}, but the warehouse holds {live}"
                    f" live {table}; refusing to soft-delete them all. If they are really gone,"
                    " run again with empty listings allowed (INTERCOM_ASSETS_ALLOW_EMPTY_LISTINGS)"
                )
        counts = self.warehouse.soft_delete_missing(table, seen, allow_empty=True)
        self.report.add(WriteResult({table: counts}))
        self._resolve_unlisted(table, seen)
        return counts.deleted

    def _resolve_unlisted(self, table: str, seen: pl.Series | Sequence[Any]) -> None:
        """Held records of `table` that a complete listing no longer holds are gone from
        Intercom: resolved (nothing of theirs is left to load)."""
        held = self._held_ids()
        if table not in self._fitted or not held:
            return
        listed = {self.ref(table, str(i)) for i in seen if i is not None}
        gone = [
            i
            for i in held
            if self._owner(i) == table
            and NO_ID not in i
            and i not in listed
            and i not in self._rejected_now
        ]
        if gone:
            held.difference_update(gone)
            self.warehouse.submit({}, rejections=Rejections(self.name, resolved=gone))

    def _owner(self, ref: str) -> str:
        """The table of a `_rejected.record_id` this run named (see `ref`)."""
        for table in self._fitted:
            if table != self.name and ref.startswith(f"{table}:"):
                return table
        return self.name

    def note(self, key: str, value: Any) -> None:
        """Set one stream-specific figure of the report (`extra`)."""
        self.report.extra[key] = value

    def tally(self, key: str, count: int) -> None:
        """Add `count` to one stream-specific figure of the report (`extra`)."""
        self.report.extra[key] = self.report.extra.get(key, 0) + count


def record_ref(key: Any, raw: RawRecord) -> str:
    """How `_rejected.record_id` names a record: its key as text, or for a record without
    one `no-id:` and the start of its content's SHA-256 (the same record sent again is the
    same row)."""
    if key is not None:
        return str(key)
    return NO_ID + hashlib.sha256(bytes(raw)).hexdigest()[:16]


def concat_ids(parts: list[pl.Series], spec: TableSpec) -> pl.Series:
    """The ids written batch by batch (`Run.write_records`' results) as one series, typed
    as the table's key even when no batch came."""
    if not parts:
        return pl.Series(spec.key, [], dtype=frame_dtype(spec.column(spec.key).dtype))
    return pl.concat(parts)


@functools.cache
def _key_decoder(key: str) -> msgspec.json.Decoder[Any]:
    """Reads only `key` of a raw record."""
    return msgspec.json.Decoder(msgspec.defstruct("RecordKey", [(key, Any, None)]))
