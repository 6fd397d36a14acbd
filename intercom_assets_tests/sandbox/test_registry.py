"""A resource added from outside the sandbox: one module (here, this test) and one list entry.

`Widgets` is a toy windowed resource: generated per size, searchable by `updated_at` through
`POST /widgets/search`, readable at `GET /widgets/{id}`, changed by churn, reported by the change
log and the truth. Nothing in `intercom_assets/sandbox` knows it.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from intercom_assets.sandbox import DEFAULT_RESOURCES, Churn, Churning, Resource, Sandbox
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


def window(client: httpx.Client, after: int, before: int) -> list[dict]:
    """Every widget with after < updated_at < before, following the search cursor."""
    query = {"operator": "AND", "value": [
        {"field": "updated_at", "operator": ">", "value": after},
        {"field": "updated_at", "operator": "<", "value": before},
    ]}  # fmt: skip
    found: list[dict] = []
    pagination: dict[str, Any] = {"per_page": 7}
    for _ in range(1_000):
        body = {"query": query, "sort": {"field": "updated_at", "order": "ascending"}}
        page = client.post("/widgets/search", json={**body, "pagination": pagination})
        page.raise_for_status()
        found.extend(page.json()["data"])
        nxt = page.json()["pages"].get("next")
        if not nxt:
            return found
        pagination["starting_after"] = nxt["starting_after"]
    raise AssertionError("the widget search did not end")


@pytest.fixture
def widget_sb() -> Sandbox:
    return Sandbox(size="tiny", seed=3, resources=[*DEFAULT_RESOURCES, Widgets])


def test_a_toy_resource_is_generated_served_and_in_the_truth(widget_sb: Sandbox):
    truth = widget_sb.truth()
    plain = Sandbox(size="tiny", seed=3).truth()
    assert len(truth["widgets"]) == WIDGETS_PER_SIZE["tiny"]
    assert {k: v for k, v in truth.items() if k != "widgets"} == plain  # the rest is untouched
    with widget_sb.client() as client:
        first = truth["widgets"][0]
        assert client.get(f"/widgets/{first['id']}").json() == first
        assert client.get("/widgets/nope").status_code == 404
        assert widget_sb.request_counts()["GET /widgets/{id}"] == 2


def test_a_toy_resource_is_searched_by_updated_at_window(widget_sb: Sandbox):
    truth = widget_sb.truth()["widgets"]
    after, before = widget_sb.now - 60 * DAY, widget_sb.now - 5 * DAY
    expected = sorted(
        (w for w in truth if after < w["updated_at"] < before),
        key=lambda w: (w["updated_at"], w["id"]),
    )
    assert 0 < len(expected) < len(truth)
    with widget_sb.client() as client:
        assert window(client, after, before) == expected
        bad = {"query": {"field": "colour", "operator": "=", "value": "red"}}
        answer = client.post("/widgets/search", json=bad)
        assert answer.status_code == 400
        assert "not a searchable widget field" in answer.json()["errors"][0]["message"]


def test_a_toy_resource_churns_and_the_change_log_and_truth_follow(widget_sb: Sandbox):
    before = {w["id"]: w for w in widget_sb.truth()["widgets"]}
    log = widget_sb.advance(days=1)
    assert log.counts["widgets_updated"] > 0
    assert "contacts_updated" in log.counts  # the built-in kinds still churn
    truth = {w["id"]: w for w in widget_sb.truth()["widgets"]}
    assert set(log.ids["widgets_created"]) == truth.keys() - before.keys()
    for widget_id in log.ids["widgets_updated"]:
        assert log.start < truth[widget_id]["updated_at"] <= log.end
    with widget_sb.client() as client:
        moved = {w["id"] for w in window(client, log.start, log.end + 1)}
    assert moved == set(log.ids["widgets_updated"]) | set(log.ids["widgets_created"])


def test_a_toy_resources_rates_come_from_a_churn_subclass(widget_sb: Sandbox):
    still = widget_sb.advance(days=2, churn=WidgetChurn(widget_update=0.0, widget_create=0.0))
    assert still.counts["widgets_updated"] == still.counts["widgets_created"] == 0
    busy = widget_sb.advance(days=1, churn=WidgetChurn(widget_update=2.0))
    assert busy.counts["widgets_updated"] > WIDGETS_PER_SIZE["tiny"]


def test_the_default_sandbox_has_no_toy_resource_and_routes_cannot_clash():
    sb = Sandbox(size="tiny")
    assert "widgets" not in sb.truth()
    with sb.client() as client:
        assert client.post("/widgets/search", json={}).status_code == 404
    with pytest.raises(ValueError, match="serve POST /widgets/search"):
        Sandbox(size="tiny", resources=[*DEFAULT_RESOURCES, Widgets, Widgets])
