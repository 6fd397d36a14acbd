"""A toy snapshot resource for the sandbox, declared outside it: one module (this one).

`Gadgets` are listed in full by `GET /gadgets` (no paging), created and deleted by churn,
and reported by the change log and the truth. Nothing in `intercom_assets/sandbox` knows
it; `test_adding_a_resource.py` loads it.
"""

from typing import TYPE_CHECKING, Any

from intercom_assets.sandbox import Churning, Resource
from intercom_assets.sandbox.endpoints import Call, list_of
from intercom_assets.sandbox.resource import Generation
from intercom_assets.sandbox.store import Record, Store

if TYPE_CHECKING:
    from intercom_assets.sandbox.core import SandboxCore

GADGETS_PER_SIZE = {"tiny": 12, "demo": 60, "bench": 300}


def new_gadget(g_or_c: Generation | Churning) -> Record:
    f = g_or_c.factory
    return {
        "type": "gadget",
        "id": f.next_number("gadget", 90_000),
        "name": f.sentence(2),
        "color": f.rng.choice(["red", "green", "blue"]),
    }


def create_gadget(c: Churning, at: int, _: object) -> None:
    c.created("gadgets", new_gadget(c))


def delete_gadget(c: Churning, at: int, gadget_id: str) -> None:
    def remove(record_id: str) -> None:
        del c.store.tables["gadgets"][record_id]
        c.store.reordered("gadgets")

    c.deleted("gadgets", gadget_id, remove)


def list_gadgets(core: "SandboxCore", call: Call) -> bytes:
    return list_of(core.store, "gadgets", {"type": "list"}, "data")


class Gadgets(Resource):
    tables = {"gadgets": True}
    change_kinds = ("gadgets_created", "gadgets_deleted")
    routes = (("GET", "/gadgets", list_gadgets),)

    def generate(self, g: Generation) -> None:
        for _ in range(GADGETS_PER_SIZE[g.size]):
            gadget = new_gadget(g)
            g.store.tables["gadgets"][gadget["id"]] = gadget
        g.store.reordered("gadgets")

    def plan_churn(self, c: Churning) -> None:
        gadgets = list(c.store.sorted_ids("gadgets"))
        c.plan(c.rate("gadget_create", 0.2), gadgets, create_gadget, size=len(gadgets))
        c.plan(c.rate("gadget_delete", 0.2), gadgets, delete_gadget)

    def truth(self, store: Store) -> dict[str, Any]:
        table = store.tables["gadgets"]
        return {"gadgets": [table[i] for i in store.sorted_ids("gadgets")]}

