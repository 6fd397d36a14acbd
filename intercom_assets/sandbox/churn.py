"""Simulated time: what changes in a workspace while the clock moves forward.

`Churn` holds the rates; each resource plans its own changes (`Resource.plan_churn`) through a
`Churning` (`Sandbox.advance`), which runs every planned change in time order.
"""

import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from intercom_assets.sandbox.factory import Factory
from intercom_assets.sandbox.store import DAY, Record, Store


@dataclass(frozen=True)
class Churn:
    """Change rates per simulated day, as a share of the current population of each kind.

    Defaults are realistic for a daily load: about 3% of contacts touched a day. A rate of 0
    switches its kind off. A resource added to the sandbox reads its rates from a subclass of
    `Churn` that declares them, or uses its own defaults (`Churning.rate`).
    """

    contact_update: float = 0.02
    contact_create: float = 0.004
    contact_delete: float = 0.0005
    contact_archive: float = 0.0003
    lead_merge: float = 0.002
    """Share of leads merged into a user a day."""
    contact_tag_change: float = 0.005
    """Contacts whose tags change a day; their `updated_at` does not move."""
    contact_note_add: float = 0.002
    """Contacts that get a note a day; their `updated_at` does not move."""
    company_update: float = 0.02
    company_create: float = 0.002
    company_delete: float = 0.0005
    company_tag_change: float = 0.005
    """Companies tagged or untagged a day; their `updated_at` does not move."""
    conversation_create: float = 0.01
    conversation_update: float = 0.03
    """Conversations that get new parts (and maybe a state change) a day; `updated_at` moves."""
    conversation_tag_change: float = 0.01
    """Conversations tagged or untagged a day; their `updated_at` does not move."""
    conversation_delete: float = 0.001
    """Conversations deleted a day: 404 on GET, gone from lists and search, in the 2.16 feed."""
    event_contacts: float = 0.03
    """Contacts that record new data events a day."""
    event_bumps_contact: float = 0.8
    """Share of those whose `last_seen_at` and `updated_at` move with the event."""
    admin_update: float = 0.02
    admin_create: float = 0.01
    admin_delete: float = 0.005
    tag_create: float = 0.02
    tag_delete: float = 0.005
    segment_update: float = 0.05
    segment_create: float = 0.01
    segment_delete: float = 0.005
    team_update: float = 0.02
    team_delete: float = 0.002
    # tickets (resources/tickets.py) and company notes (resources/company_notes.py)
    ticket_create: float = 0.02
    ticket_update: float = 0.05
    company_note_add: float = 0.01
    subscription_type_update: float = 0.05
    subscription_type_create: float = 0.01
    article_update: float = 0.05
    article_create: float = 0.02
    article_delete: float = 0.005
    collection_update: float = 0.02
    """Help center collections edited a day (`updated_at` moves)."""
    activity_log_rate: float = 0.5
    """Admin activity log entries a day per admin."""


@dataclass
class ChangeLog:
    """What one `advance()` changed: the ids touched per kind, in the order applied.

    `contacts_merged` lists merge sources (their targets are in `merges`); `events_created`
    lists each contact once per event; `conversations_updated` lists conversations that got
    new parts. Every kind of every resource is present, empty when nothing happened; use
    `counts` for totals.
    """

    start: int
    end: int
    ids: dict[str, list[str]] = field(default_factory=dict)
    merges: dict[str, str] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return {kind: len(ids) for kind, ids in self.ids.items()}

    def add(self, kind: str, record_id: str) -> None:
        self.ids[kind].append(record_id)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "counts": self.counts}


Op = Callable[["Churning", int, Any], None]
"""One change: `op(churning, at, target)`; it skips quietly when its target vanished earlier."""


class Churning:
    """One clock advance in progress: the store, the rates, the plan and the change log."""

    def __init__(
        self, store: Store, factory: Factory, churn: Churn, log: ChangeLog, seconds: int
    ) -> None:
        self.store, self.factory, self.churn, self.log = store, factory, churn, log
        self.rng: random.Random = factory.rng
        self.pick = factory.pick
        self.start, self.end, self.days = log.start, log.end, seconds / DAY
        self.memo: dict[str, Any] = {}
        """Values an op computes once per advance (e.g. merge targets as of the start)."""
        self._ops: list[tuple[int, int, Op, Any]] = []

    def rate(self, name: str, default: float = 0.0) -> float:
        """The rate `name` of the churn configuration, or `default` when it declares none."""
        return float(getattr(self.churn, name, default))

    def plan(
        self,
        rate: float,
        population: Sequence[Any],
        op: Op,
        size: int | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """Plan `rate * size * days` runs of `op` (size defaults to the population's), each on
        a random member of `population` at a random moment of the interval. `rng` draws them
        instead of the workspace's random source (a resource with its own source leaves the
        other resources' draws as they were)."""
        rng = rng or self.rng
        expected = rate * (len(population) if size is None else size) * self.days
        count = int(expected) + (1 if rng.random() < expected - int(expected) else 0)
        for _ in range(count):
            target = population[int(rng.random() * len(population))] if population else None
            self._ops.append((rng.randint(self.start + 1, self.end), len(self._ops), op, target))

    def created(self, kind: str, record: Record) -> None:
        """Add a new record to its kind's table and log it as `<kind>_created`."""
        self.store.tables[kind][record["id"]] = record
        self.store.reordered(kind)
        self.log.add(f"{kind}_created", record["id"])

    def updated(self, kind: str, record_id: str) -> None:
        """Mark a changed record (`Store.changed`) and log it as `<kind>_updated`."""
        self.store.changed(kind, record_id)
        self.log.add(f"{kind}_updated", record_id)

    def deleted(self, kind: str, record_id: str, remove: Callable[[str], None]) -> None:
        """Delete a record that still exists with `remove` (the store's method that also
        detaches it from others) and log it as `<kind>_deleted`; a vanished one is skipped."""
        if record_id in self.store.tables[kind]:
            remove(record_id)
            self.log.add(f"{kind}_deleted", record_id)

    def run(self) -> None:
        """Apply every planned change in time order (plan order breaks ties)."""
        for at, _, op, target in sorted(self._ops, key=lambda o: (o[0], o[1])):
            op(self, at, target)
        self._ops.clear()
