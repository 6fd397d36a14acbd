"""A toy child resource for the sandbox, declared outside it: one module (this one).

Each widget (`widgets.py`) has notes, listed per widget by `GET /widgets/{id}/notes` (one
page); churn adds notes. Nothing in `intercom_assets/sandbox` knows it;
`test_adding_a_resource.py` loads it.
"""

from typing import TYPE_CHECKING, Any

from intercom_assets.sandbox import Churning, Resource
from intercom_assets.sandbox.endpoints import Call, dumps
from intercom_assets.sandbox.errors import ApiError
from intercom_assets.sandbox.resource import Generation
from intercom_assets.sandbox.store import Record, Store

if TYPE_CHECKING:
    from intercom_assets.sandbox.core import SandboxCore

NOTES_PER_WIDGET = (0, 1, 1, 2)


def new_note(g_or_c: Generation | Churning, widget_id: str, created_at: int) -> Record:
    f = g_or_c.factory
    return {
        "type": "note",
        "id": f.next_number("widget_note", 50_000),
        "widget_id": widget_id,
        "body": f.sentence(5),
        "created_at": created_at,
    }


def add_note(c: Churning, at: int, widget_id: str) -> None:
    widget = c.store.tables["widgets"].get(widget_id)
    if widget is None:
        return
    widget.setdefault("_notes", []).append(new_note(c, widget_id, at))
    c.log.add("widget_notes_added", widget_id)


def widget_notes(core: "SandboxCore", call: Call) -> bytes:
    widget = core.store.tables["widgets"].get(call.params["id"])
    if widget is None:
        raise ApiError(404, "not_found", "Widget Not Found")
    notes = widget.get("_notes", [])
    return dumps({"type": "list", "data": notes, "total_count": len(notes), "pages": None})


class WidgetNotes(Resource):
    change_kinds = ("widget_notes_added",)
    routes = (("GET", "/widgets/{id}/notes", widget_notes),)

    def generate(self, g: Generation) -> None:
        for widget_id in g.store.sorted_ids("widgets"):
            widget = g.store.tables["widgets"][widget_id]
            count = g.factory.pick(NOTES_PER_WIDGET)
            widget["_notes"] = [new_note(g, widget_id, widget["created_at"]) for _ in range(count)]

    def plan_churn(self, c: Churning) -> None:
        widgets = list(c.store.sorted_ids("widgets"))
        c.plan(c.rate("widget_note_add", 0.1), widgets, add_note)

    def truth(self, store: Store) -> dict[str, Any]:
        table = store.tables["widgets"]
        ids = store.sorted_ids("widgets")
        return {"widget_notes": {i: table[i].get("_notes", []) for i in ids}}

