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
from typing import Generic, TypeVar

from intercom_assets.api import IntercomClient, fan_out
from intercom_assets.warehouse import TableSpec

from .base import LiveCount, StreamContext, StreamReport
from .sync import Run

Parent = TypeVar("Parent")
Fetched = TypeVar("Fetched")


@dataclass(frozen=True)
class ChildStream(Generic[Parent, Fetched]):
    """A resource fetched per parent, for the parents `todo` names."""

    name: str
    description: str
    parents: str
    """What a parent is, plural (`conversations`): names the report's `<parents>_to_fetch`
    and `<parents>_gone` figures."""
    tables: tuple[TableSpec, ...]
    """The tables it writes (the first is its main table)."""
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
    deps: tuple[str, ...] = ()
    windowed: bool = False
    live_count: LiveCount | None = None

    def run(self, ctx: StreamContext) -> StreamReport:
        ctx.warehouse.register(self.reads)  # read only
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
            run.finish()
            raise failure
        if self.finish is not None:
            run.wait()
            self.finish(run)
        return run.finish()
