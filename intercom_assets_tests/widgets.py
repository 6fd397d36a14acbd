"""A toy resource for the sandbox, declared outside it: one module (this one) and one list entry.

`Widgets` is a windowed resource: generated per size, searchable by `updated_at` through
`POST /widgets/search`, readable at `GET /widgets/{id}`, changed by churn, reported by the
change log and the truth. Nothing in `intercom_assets/sandbox` knows it. The sandbox tests
(`sandbox/test_registry.py`) and the end-to-end test of adding a resource
(`test_adding_a_resource.py`) use it.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from intercom_assets.sandbox import Churn, Churning, Resource
from intercom_assets.sandbox.endpoints import Call, search_route
from intercom_assets.sandbox.errors import ApiError
from intercom_assets.sandbox.resource import Generation
from intercom_assets.sandbox.search import (
    DATE,
    INTEGER,
    ORDER_OPS,
    SCALAR_OPS,
    STRING,
    SearchModel,
    make_fields,
)
from intercom_assets.sandbox.store import Record, Store

if TYPE_CHECKING:
    from intercom_assets.sandbox.core import SandboxCore

DAY = 86_400
WIDGETS_PER_SIZE = {"tiny": 40, "demo": 400, "bench": 4_000}
WIDGET_SEARCH = SearchModel(
    "widget",
    make_fields(
        {"id": STRING, "name": STRING, "size": INTEGER, "updated_at": DATE, "created_at": DATE}
    ),
    operators={STRING: SCALAR_OPS, INTEGER: SCALAR_OPS | ORDER_OPS, DATE: ORDER_OPS | {"="}},
)


def new_widget(g_or_c: Generation | Churning, created_at: int, updated_at: int) -> Record:
    f = g_or_c.factory
    return {
        "type": "widget",
        "id": f.hex_id(created_at),
        "name": f.sentence(2),
        "size": f.rng.randrange(1, 100),
        "created_at": created_at,
        "updated_at": updated_at,
    }


def update_widget(c: Churning, at: int, widget_id: str) -> None:
    widget = c.store.tables["widgets"].get(widget_id)
    if widget is None:
        return
    widget["size"] = c.rng.randrange(1, 100)
    widget["updated_at"] = max(widget["updated_at"], at)
    c.store.changed("widgets", widget_id)
    c.log.add("widgets_updated", widget_id)


def create_widget(c: Churning, at: int, _: object) -> None:
    widget = new_widget(c, at, at)
    c.store.tables["widgets"][widget["id"]] = widget
    c.store.reordered("widgets")
    c.log.add("widgets_created", widget["id"])


def get_widget(core: "SandboxCore", call: Call) -> bytes:
    widget = core.store.tables["widgets"].get(call.params["id"])
    if widget is None:
        raise ApiError(404, "not_found", "Widget Not Found")
    return core.store.json_of("widgets", widget)


search_widgets = search_route(WIDGET_SEARCH, "widgets", {"type": "list"}, "data")


class Widgets(Resource):
    tables = {"widgets": False}
    change_kinds = ("widgets_created", "widgets_updated")
    routes = (
        ("POST", "/widgets/search", search_widgets),
        ("GET", "/widgets/{id}", get_widget),
    )

    def generate(self, g: Generation) -> None:
        table = g.store.tables["widgets"]
        for _ in range(WIDGETS_PER_SIZE[g.size]):
            created = g.rng.randint(g.start - 300 * DAY, g.start - DAY)
            widget = new_widget(g, created, g.factory.recent(created, g.start))
            table[widget["id"]] = widget
        g.store.reordered("widgets")

    def plan_churn(self, c: Churning) -> None:
        widgets = list(c.store.sorted_ids("widgets"))
        c.plan(c.rate("widget_update", 0.2), widgets, update_widget)
        c.plan(c.rate("widget_create", 0.05), widgets, create_widget)

    def truth(self, store: Store) -> dict[str, Any]:
        table = store.tables["widgets"]
        return {"widgets": [table[i] for i in store.sorted_ids("widgets")]}


@dataclass(frozen=True)
class WidgetChurn(Churn):
    """The churn configuration with the toy resource's own rates."""

    widget_update: float = 0.2
    widget_create: float = 0.05
