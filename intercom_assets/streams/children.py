"""Per-parent streams: one fetch per parent that changed (conversation parts, events, ...).

Intercom lists some resources only per parent: a conversation's parts through
`GET /conversations/{id}`, a contact's events through `GET /events?intercom_user_id=...`.
A `ChildStream` declares which parents need a fetch (from what the warehouse holds), how to
fetch one parent, and how to write a batch of fetched parents; the loop is shared: fetches
run concurrently (bounded by `max_in_flight`), results are written in batches of about
`batch_size` rows, each batch in one transaction together with what marks its parents as
loaded. A parent that answers 404 is skipped and counted; the first failed fetch stops the
run after the batches already fetched are written, so a re-run resumes with the parents not
yet committed.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import polars as pl

from intercom_assets.api import IntercomClient, IntercomNotFound, fan_out, iter_cursor_pages
from intercom_assets.warehouse import TableSpec

from .base import Stream, StreamContext, StreamReport
from .shape import Field, Shape, encode
from .sync import Run

Parent = TypeVar("Parent")
Fetched = TypeVar("Fetched")


class ParentsNotLoadedError(RuntimeError):
    """A per-parent stream ran before the table it reads its parents from exists (a new
    warehouse, the stream selected alone): it would find no parents and load nothing. The
    message names the stream to load first; retrying without it cannot help."""


@dataclass(frozen=True, kw_only=True)
class ChildStream(Stream, Generic[Parent, Fetched]):
    """A resource fetched per parent, for the parents `todo` names."""

    parents: str
    """What a parent is, plural (`conversations`): names the report's `<parents>_to_fetch`
    and `<parents>_gone` figures."""
    reads: tuple[TableSpec, ...]
    """Tables of other streams it reads to decide what to fetch (registered, not written)."""
    todo: Callable[[Run], Sequence[Parent]]
    """The parents to fetch in this run, in a stable order."""
    fetch: Callable[[IntercomClient, Parent], Fetched | None]
    """Fetches one parent; None when the parent is gone (404)."""
    write: Callable[[Run, list[Fetched]], None]
    """Writes a batch of fetched parents (one transaction, with their loaded marks)."""
    rows: Callable[[Fetched], int]
    """Rows a fetched parent adds to a batch (to keep batches near `batch_size` rows)."""
    pages: Callable[[Fetched], int] = lambda _: 1
    """API pages a fetched parent took."""
    finish: Callable[[Run], None] | None = None
    """Runs after the last batch is written (e.g. a cascade from the parents' table)."""

    def run(self, ctx: StreamContext) -> StreamReport:
        ctx.warehouse.register(self.reads)  # read only
        self.require_parents(ctx)
        ctx.warehouse.migrate(self.tables)
        run = Run(ctx, self.name)
        todo = self.todo(run)
        run.note(f"{self.parents}_to_fetch", len(todo))
        client = ctx.client
        pending: list[Fetched] = []
        rows = gone = 0
        failure: Exception | None = None

        def fetch(parent: Parent) -> Fetched | None:
            return self.fetch(client, parent)

        for result in fan_out(todo, fetch, max_in_flight=ctx.max_in_flight):
            if result.error is not None:
                failure = result.error
                break
            fetched = result.value
            if fetched is None:
                run.fetched_one(0)
                gone += 1
                continue
            run.report.pages += self.pages(fetched)
            pending.append(fetched)
            rows += self.rows(fetched)
            if rows >= ctx.batch_size or len(pending) >= ctx.batch_size:
                self.write(run, pending)
                pending, rows = [], 0
        if pending:
            self.write(run, pending)
        run.note(f"{self.parents}_gone", gone)
        if failure is not None:
            run.finish(complete=False)
            raise failure
        if self.finish is not None:
            run.wait()
            self.finish(run)
        return run.finish()

    def require_parents(self, ctx: StreamContext) -> None:
        """Raise `ParentsNotLoadedError` when a table of `reads` does not exist yet."""
        for spec in self.reads:
            if not ctx.warehouse.exists(spec.name):
                first = " and ".join(self.deps) or spec.name
                raise ParentsNotLoadedError(
                    f"{self.name} reads its {self.parents} from"
                    f" {ctx.warehouse.schema}.{spec.name}, which does not exist yet: load"
                    f" {first} first (select intercom/{spec.name} too)"
                )


# --- the pieces per-parent streams share ---------------------------------------------------


@dataclass(frozen=True)
class ChildTable:
    """Records listed per parent and replaced as a set per parent (a conversation's parts, a
    contact's notes): the table, and how one record reads. The parent's id is not in the
    record; `frames` adds it per record."""

    spec: TableSpec
    records: Shape

    @classmethod
    def of(cls, name: str, parent_key: str, fields: Sequence[Field]) -> "ChildTable":
        """A child table keyed by `id` whose `fields` include the parent's column."""
        spec = TableSpec(
            name,
            tuple(f.spec_column() for f in fields),
            primary_key=("id",),
            parent_key=parent_key,
            raw=True,
        )
        return cls(spec, Shape(name, tuple(f for f in fields if f.column != parent_key)))

    def frames(
        self, owned: Sequence[tuple[str, Sequence[dict[str, Any]]]]
    ) -> tuple[dict[str, pl.DataFrame], dict[str, pl.Series]]:
        """This table's rows for these parents (each parent's id with its records), and the
        parents whose rows they replace: the `frames` and `parents` of `Run.write`."""
        key = self.spec.parent_key or ""
        records = [record for _, listed in owned for record in listed]
        owners = [parent for parent, listed in owned for _ in listed]
        frame = (
            self.records.read(encode(records))
            .with_columns(pl.Series(key, owners, dtype=pl.String))
            .select(*self.spec.column_names, "_raw")
        )
        parents = pl.Series(key, [parent for parent, _ in owned], dtype=pl.String)
        return {self.spec.name: frame}, {self.spec.name: parents}


def moved_since_loaded(run: Run, parents: str, loads: str, loaded_at: str) -> list[str]:
    """Live rows of `parents` whose `updated_at` differs from the one `loads` recorded
    (`loaded_at`) when their children were last loaded, or that were never loaded."""
    current = run.warehouse.read_columns(parents, ["id", "updated_at"])
    loaded = run.warehouse.read_columns(loads, ["id", loaded_at])
    stale = current.join(loaded, on="id", how="left").filter(
        pl.col(loaded_at).is_null() | (pl.col(loaded_at) != pl.col("updated_at"))
    )
    return stale.sort("id").get_column("id").to_list()


def get_or_gone(client: IntercomClient, path: str) -> dict[str, Any] | None:
    """`GET path`; None when Intercom answers 404 (the parent is gone)."""
    try:
        return client.get(path)
    except IntercomNotFound:
        return None


def list_or_gone(
    client: IntercomClient, path: str, per_page: int | None
) -> tuple[list[dict[str, Any]], int] | None:
    """Every item of a parent's cursor-paged list at `path` (`data`), and the pages read; None
    when Intercom answers 404 (the parent is gone)."""
    items: list[dict[str, Any]] = []
    pages = 0
    try:
        for page in iter_cursor_pages(client, path, per_page=per_page, items_key="data"):
            items.extend(page.items)
            pages += 1
    except IntercomNotFound:
        return None
    return items, pages


def listed_parts(record: dict[str, Any], key: str) -> tuple[list[dict[str, Any]], int]:
    """The parts a record embeds under `key` (`{key: {key: [...], "total_count": n}}`), and
    how many Intercom says there are (the parts returned when it does not say)."""
    listed = record.get(key)
    parts = listed.get(key) if isinstance(listed, dict) else None
    parts = parts if isinstance(parts, list) else []
    total = listed.get("total_count") if isinstance(listed, dict) else None
    return parts, total if isinstance(total, int) else len(parts)


Listed = tuple[str, list[dict[str, Any]], int]
"""(parent id, the records listed for it, pages read)."""


def listed_per_parent(
    *,
    name: str,
    description: str,
    table: ChildTable,
    parent: TableSpec,
    path: str,
    todo: Callable[[Run], Sequence[str]],
    per_page: int | None = None,
    deps: tuple[str, ...] = (),
) -> ChildStream[str, Listed]:
    """A child table listed per parent at `path` (`/companies/{id}/notes`) for the parents
    `todo` names, each parent's records replacing its stored set; its parent key references
    the `parent` entity table (another stream's, read to find the parents)."""

    def fetch(client: IntercomClient, parent_id: str) -> Listed | None:
        listed = list_or_gone(client, path.format(id=parent_id), per_page=per_page)
        return None if listed is None else (parent_id, *listed)

    def write(run: Run, fetched: list[Listed]) -> None:
        run.report.fetched += sum(len(listed) for _, listed, _ in fetched)
        frames, owners = table.frames([(parent_id, listed) for parent_id, listed, _ in fetched])
        run.write(frames, parents=owners)

    return ChildStream[str, Listed](
        name=name,
        description=description,
        parents=parent.name,
        tables=(table.spec,),
        reads=(parent,),
        todo=todo,
        fetch=fetch,
        write=write,
        rows=lambda fetched: 1 + len(fetched[1]),
        pages=lambda fetched: fetched[2],
        deps=deps,
        references={table.spec.name: {table.spec.parent_key or "": parent.name}},
    )
