"""`Resource`: one Intercom resource of the sandbox, and everything the sandbox does with it.

The sandbox is built from a list of resources (`resources.DEFAULT_RESOURCES`). A resource names
the store tables it owns, fills them when the workspace is generated, plans its churn when the
clock moves, serves its routes and contributes its keys to the ground truth. Adding a resource
is one module with a `Resource` subclass and one line in a list; nothing else changes.
"""

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from intercom_assets.sandbox.churn import Churning
from intercom_assets.sandbox.endpoints import Handler
from intercom_assets.sandbox.factory import Factory
from intercom_assets.sandbox.sizes import SizePreset
from intercom_assets.sandbox.store import Store

RouteSpec = tuple[str, str, Handler]
"""(method, path template such as `/widgets/{id}`, handler)."""


@dataclass(frozen=True)
class Generation:
    """What a resource needs to generate its part of a new workspace."""

    store: Store
    factory: Factory
    size: str
    """The size preset's name (`tiny`, `demo`, `bench`): a resource may keep its own counts."""
    preset: SizePreset
    start: int
    """The simulated clock when the workspace is generated (unix seconds)."""

    @property
    def rng(self) -> random.Random:
        return self.factory.rng


class Resource:
    """Base class of the sandbox's resources; every hook defaults to doing nothing.

    Class attributes:

    - `tables`: store tables the resource owns, mapped to whether their ids sort as numbers.
    - `change_kinds`: the `ChangeLog` kinds its churn reports (`widgets_updated`, ...).
    - `routes`: the API routes it serves.
    """

    tables: ClassVar[Mapping[str, bool]] = {}
    change_kinds: ClassVar[tuple[str, ...]] = ()
    routes: ClassVar[tuple[RouteSpec, ...]] = ()

    def generate(self, g: Generation) -> None:
        """Add the resource's records to a new workspace (resources run in list order)."""

    def plan_churn(self, c: Churning) -> None:
        """Plan the changes of one clock advance with `c.plan(rate, population, op)`."""

    def truth(self, store: Store) -> dict[str, Any]:
        """The resource's keys of `Sandbox.truth()` (JSON-able, sorted by id)."""
        return {}


def own_random(g: Generation, name: str) -> random.Random:
    """A random source of the resource's own, seeded from the workspace's without drawing from
    it: a resource added to the list leaves every other resource's records and churn as they
    were for the same seed."""
    return random.Random(f"{name}:{g.rng.getstate()!r}")
