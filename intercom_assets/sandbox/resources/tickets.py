"""Tickets, their types (with attributes) and states: `GET /ticket_types`, `GET /ticket_states`,
`POST /tickets/search` and `GET /tickets/{id}` (a ticket with its parts); ticket churn:
creations, and updates that add parts and move the state (both move `updated_at`).

A ticket embeds its type (without attributes), its state, its contacts and its linked objects
(the conversation it came from, for customer tickets). Types and states do not churn: a
workspace sets them up once. `admin_assignee_id` and `team_assignee_id` are strings (absent
when unassigned) up to 2.15 and integers (`0` when unassigned) from 2.16 on, as the two
descriptions type them (`versions.py`; the truth keeps the 2.14 shape).
"""

from typing import Any

import orjson

from intercom_assets.sandbox.churn import Churning
from intercom_assets.sandbox.core import SandboxCore
from intercom_assets.sandbox.endpoints import Call, dumps, search_route
from intercom_assets.sandbox.errors import ApiError
from intercom_assets.sandbox.factory import Factory
from intercom_assets.sandbox.resource import Generation, Resource
from intercom_assets.sandbox.search import (
    BOOLEAN,
    DATE,
    IDS,
    ORDER_OPS,
    SCALAR_OPS,
    STRING,
    STRING_OPS,
    SearchModel,
    ids_getter,
    make_fields,
    path_getter,
)
from intercom_assets.sandbox.store import DAY, PARTS_LIMIT, Record, Store, public
from intercom_assets.sandbox.versions import as_version

TICKETS_PER_SIZE = {"tiny": 30, "demo": 300, "bench": 5_000}
LONG_TICKETS_PER_SIZE = {"tiny": 1, "demo": 2, "bench": 5}
"""Tickets with more parts than `GET /tickets/{id}` returns (500), as Intercom caps them."""
DEFAULT_TICKETS_PER_PAGE = 20
TICKET_CREATE = 0.02
"""New tickets a day, as a share of the tickets (`Churn.ticket_create` overrides)."""
TICKET_UPDATE = 0.05
"""Tickets updated a day (new parts, state moves; `Churn.ticket_update` overrides)."""
STATES = (
    ("submitted", "Submitted", "Submitted"),
    ("in_progress", "In progress", "In progress"),
    ("in_progress", "Escalated", "In progress"),
    ("waiting_on_customer", "Waiting on customer", "Waiting on you"),
    ("resolved", "Resolved", "Resolved"),
)
"""(category, internal label, external label) of the workspace's ticket states."""
TYPES = (
    ("Customer", "Bug report", "\U0001f41e", ("Severity", "list"), ("Affected version", "string")),
    ("Customer", "Billing question", "\U0001f4b3", ("Invoice number", "string")),
    ("Back-office", "Refund approval", "\U0001f4b0", ("Amount", "decimal"), ("Urgent", "boolean")),
    ("Tracker", "Outage", "\U0001f6a8", ("Started at", "datetime")),
)
"""(category, name, icon, (custom attribute name, data type)...) of the ticket types."""
SEVERITIES = ("Low", "Medium", "High")
DEFAULT_ATTRIBUTES = (("_default_title_", "string"), ("_default_description_", "string"))


# -- generating -----------------------------------------------------------------------------------


def new_ticket_states(f: Factory, at: int) -> None:
    table = f.store.tables["ticket_states"]
    for category, internal, external in STATES:
        state_id = f.next_number("ticket_state", 8_000)
        table[state_id] = {
            "type": "ticket_state",
            "id": state_id,
            "category": category,
            "internal_label": internal,
            "external_label": external,
            "archived": False,
        }
    f.store.reordered("ticket_states")


def new_ticket_types(f: Factory, at: int) -> None:
    table = f.store.tables["ticket_types"]
    workspace_id = f.store.me.get("app", {}).get("id_code") or "sandbox"
    for category, name, icon, *custom in TYPES:
        type_id = f.next_number("ticket_type", 80)
        created = at - f.rng.randint(100, 400) * DAY
        attributes = []
        for order, (attr_name, data_type) in enumerate((*DEFAULT_ATTRIBUTES, *custom)):
            options = (
                {"list_options": [{"label": s, "id": s.lower()} for s in SEVERITIES]}
                if data_type == "list"
                else None
            )
            attributes.append(
                {
                    "type": "ticket_type_attribute",
                    "id": f.next_number("ticket_type_attribute", 200),
                    "workspace_id": workspace_id,
                    "name": attr_name,
                    "description": f.sentence(4),
                    "data_type": data_type,
                    "input_options": options,
                    "order": order,
                    "required_to_create": order < 2,
                    "required_to_create_for_contacts": False,
                    "visible_on_create": True,
                    "visible_to_contacts": order < 2,
                    "default": order < 2,
                    "ticket_type_id": int(type_id),
                    "archived": False,
                    "created_at": created,
                    "updated_at": created,
                }
            )
        table[type_id] = {
            "type": "ticket_type",
            "id": type_id,
            "category": category,
            "name": name,
            "description": f.sentence(6),
            "icon": icon,
            "workspace_id": workspace_id,
            "archived": False,
            "is_internal": category == "Back-office",
            "created_at": created,
            "updated_at": created,
            "ticket_type_attributes": {"type": "list", "data": attributes},
            "ticket_states": {
                "type": "list",
                "data": [state_reference(s) for s in f.store.tables["ticket_states"].values()],
            },
        }
    f.store.reordered("ticket_types")


def state_reference(state: Record) -> Record:
    return {k: state[k] for k in ("type", "id", "category", "internal_label", "external_label")}


def type_reference(ticket_type: Record) -> Record:
    keep = ("type", "id", "category", "name", "description", "icon", "workspace_id")
    return {
        k: ticket_type[k] for k in (*keep, "archived", "is_internal", "created_at", "updated_at")
    }


def attribute_value(f: Factory, name: str, data_type: str) -> Any:
    if data_type == "list":
        return f.pick(SEVERITIES)
    if data_type == "decimal":
        return round(f.rng.uniform(5, 500), 2)
    if data_type == "boolean":
        return f.rng.random() < 0.5
    if data_type == "datetime":
        return f.rng.randint(1_600_000_000, 1_700_000_000)
    return f.sentence(5 if name == "_default_title_" else 12)


def new_ticket(f: Factory, created_at: int) -> Record:
    store, rng = f.store, f.rng
    ticket_type = store.tables["ticket_types"][f.pick(store.sorted_ids("ticket_types"))]
    states = [store.tables["ticket_states"][i] for i in store.sorted_ids("ticket_states")]
    submitted = next(s for s in states if s["category"] == "submitted")
    contacts = store.contacts
    contact = contacts[f.pick(store.sorted_ids("contacts"))] if contacts else None
    admin_id = f.pick_admin_id() if rng.random() < 0.7 else None
    team_id = f.pick(store.sorted_ids("teams")) if store.teams and rng.random() < 0.4 else None
    linked: list[Record] = []
    if ticket_type["category"] == "Customer" and store.conversations and rng.random() < 0.6:
        linked.append(
            {
                "type": "conversation",
                "id": f.pick(store.sorted_ids("conversations")),
                "category": None,
            }
        )
    attributes = {
        a["name"]: attribute_value(f, a["name"], a["data_type"])
        for a in ticket_type["ticket_type_attributes"]["data"]
    }
    ticket: Record = {
        "type": "ticket",
        "id": f.next_number("ticket", 600),
        "ticket_id": f.next_number("ticket_number", 0),
        "category": ticket_type["category"],
        "ticket_attributes": attributes,
        "ticket_state": state_reference(submitted),
        "ticket_type": type_reference(ticket_type),
        "contacts": {
            "type": "contact.list",
            "contacts": (
                [{"type": "contact", "id": contact["id"], "external_id": contact["external_id"]}]
                if contact is not None and ticket_type["category"] != "Tracker"
                else []
            ),
        },
        "created_at": created_at,
        "updated_at": created_at,
        "open": True,
        "linked_objects": {
            "type": "list",
            "total_count": len(linked),
            "has_more": False,
            "data": linked,
        },
        "is_shared": ticket_type["category"] == "Customer",
        "_parts": [],
    }
    if admin_id is not None:
        ticket["admin_assignee_id"] = admin_id
    if team_id is not None:
        ticket["team_assignee_id"] = team_id
    return ticket


def new_part(f: Factory, ticket: Record, at: int, part_type: str) -> Record:
    admin = f.store.admins.get(f.pick_admin_id())
    author = (
        {"type": "admin", "id": admin["id"], "name": admin["name"], "email": admin["email"]}
        if admin is not None
        else {"type": "bot", "id": "0", "name": "Operator"}
    )
    part: Record = {
        "type": "ticket_part",
        "id": f.next_number("ticket_part", 7_000_000_000),
        "part_type": part_type,
        "body": f"<p>{f.sentence()}</p>" if part_type in ("comment", "note") else None,
        "created_at": at,
        "updated_at": at,
        "author": author,
        "attachments": [],
        "external_id": None,
        "redacted": False,
        "updated_attribute_data": None,
    }
    if part_type == "assignment":
        part["assigned_to"] = {"type": "admin", "id": f.pick_admin_id()}
    return part


def move_state(f: Factory, ticket: Record, at: int) -> Record:
    """Move the ticket to another state; the part that records it."""
    store = f.store
    current = ticket["ticket_state"]
    others = [
        store.tables["ticket_states"][i]
        for i in store.sorted_ids("ticket_states")
        if i != current["id"]
    ]
    state = f.pick(others)
    part = new_part(f, ticket, at, "ticket_state_updated_by_admin")
    part["previous_ticket_state"] = current["category"]
    part["ticket_state"] = state["category"]
    ticket["_previous_state_id"] = current["id"]
    ticket["ticket_state"] = state_reference(state)
    ticket["open"] = state["category"] != "resolved"
    return part


def lengthen(f: Factory, ticket: Record) -> None:
    """Give a ticket 510 to 650 more comments between its creation and its last update, so
    that it holds more parts than `GET /tickets/{id}` returns. Drawn from the factory's
    random source, whose state is restored afterwards: every other record and all churn stay
    as they were for the same seed."""
    state = f.rng.getstate()
    try:
        first, last = ticket["created_at"], ticket["updated_at"]
        extra = [
            new_part(f, ticket, f.rng.randint(first, last), "comment")
            for _ in range(f.rng.randint(510, 650))
        ]
    finally:
        f.rng.setstate(state)
    ticket["_parts"] = sorted([*ticket["_parts"], *extra], key=lambda p: p["created_at"])


def grow(f: Factory, ticket: Record, at: int) -> None:
    """A ticket's next activity at `at`: one to three parts, sometimes a state move."""
    parts = ticket["_parts"]
    for _ in range(f.rng.randint(1, 3)):
        parts.append(new_part(f, ticket, at, f.pick(["comment", "comment", "note", "assignment"])))
    if f.rng.random() < 0.4:
        parts.append(move_state(f, ticket, at))
    ticket["updated_at"] = max(ticket["updated_at"], at)


# -- churn ----------------------------------------------------------------------------------------


def create_ticket(c: Churning, at: int, _: object) -> None:
    ticket = new_ticket(c.factory, at)
    ticket["_parts"].append(new_part(c.factory, ticket, at, "comment"))
    c.created("tickets", ticket)


def update_ticket(c: Churning, at: int, ticket_id: str) -> None:
    ticket = c.store.tables["tickets"].get(ticket_id)
    if ticket is None:
        return
    grow(c.factory, ticket, at)
    c.updated("tickets", ticket_id)


# -- endpoints ------------------------------------------------------------------------------------


SEARCH = SearchModel(
    "ticket",
    make_fields(
        {
            **dict.fromkeys(["id", "category", "admin_assignee_id", "team_assignee_id"], STRING),
            **dict.fromkeys(["created_at", "updated_at", "snoozed_until"], DATE),
            "open": BOOLEAN,
        },
        ticket_type_id=(STRING, path_getter("ticket_type.id")),
        state=(STRING, path_getter("ticket_state.category")),
        contact_ids=(IDS, ids_getter(None, "contacts", "contacts")),
    ),
    operators={
        STRING: SCALAR_OPS | STRING_OPS,
        DATE: SCALAR_OPS | ORDER_OPS,
        BOOLEAN: SCALAR_OPS,
        IDS: SCALAR_OPS,
    },
    default_per_page=DEFAULT_TICKETS_PER_PAGE,
)


def with_parts(ticket: Record) -> Record:
    """A ticket as `GET /tickets/{id}` answers it: with its (at most 500 newest) parts."""
    parts = ticket["_parts"]
    return public(ticket) | {
        "ticket_parts": {
            "type": "ticket_part.list",
            "ticket_parts": parts[-PARTS_LIMIT:],
            "total_count": len(parts),
        }
    }


def get_ticket(core: SandboxCore, call: Call) -> bytes:
    ticket = core.store.tables["tickets"].get(call.params["id"])
    if ticket is None:
        raise ApiError(404, "ticket_not_found", "Ticket not found")
    return dumps(as_version("tickets", with_parts(ticket), ticket, call.version))


def list_of(kind: str, shape: Any = public) -> Any:
    def handler(core: SandboxCore, _: Call) -> bytes:
        table = core.store.tables[kind]
        return dumps(
            {"type": "list", "data": [shape(table[i]) for i in core.store.sorted_ids(kind)]}
        )

    return handler


def detailed_state(store: Store, state: Record) -> Record:
    """A state as `GET /ticket_states` lists it: with the types that use it."""
    types = [
        type_reference(store.tables["ticket_types"][i]) for i in store.sorted_ids("ticket_types")
    ]
    return public(state) | {"ticket_types": {"type": "list", "data": types}}


def list_ticket_states(core: SandboxCore, call: Call) -> bytes:
    store = core.store
    states = [store.tables["ticket_states"][i] for i in store.sorted_ids("ticket_states")]
    return dumps({"type": "list", "data": [detailed_state(store, s) for s in states]})


class Tickets(Resource):
    """Ticket types, ticket states, tickets and their parts."""

    tables = {"ticket_states": True, "ticket_types": True, "tickets": True}
    change_kinds = ("tickets_created", "tickets_updated")
    routes = (
        ("GET", "/ticket_states", list_ticket_states),
        ("GET", "/ticket_types", list_of("ticket_types")),
        (
            "POST",
            "/tickets/search",
            search_route(SEARCH, "tickets", {"type": "ticket.list"}, "tickets"),
        ),
        ("GET", "/tickets/{id}", get_ticket),
    )

    def generate(self, g: Generation) -> None:
        f, start = g.factory, g.start
        new_ticket_states(f, start)
        new_ticket_types(f, start)
        table = g.store.tables["tickets"]
        for _ in range(TICKETS_PER_SIZE[g.size]):
            created = g.rng.randint(start - 200 * DAY, start - 600)
            ticket = new_ticket(f, created)
            ticket["_parts"].append(new_part(f, ticket, created, "comment"))
            moments = sorted(
                g.rng.randint(created, min(created + 30 * DAY, start - 1))
                for _ in range(min(int(g.rng.paretovariate(1.5)), 40))
            )
            for at in moments:
                grow(f, ticket, at)
            table[ticket["id"]] = ticket
        for ticket_id in list(table)[: LONG_TICKETS_PER_SIZE[g.size]]:
            lengthen(f, table[ticket_id])
        g.store.reordered("tickets")

    def plan_churn(self, c: Churning) -> None:
        tickets = list(c.store.sorted_ids("tickets"))
        c.plan(c.rate("ticket_create", TICKET_CREATE), tickets, create_ticket)
        c.plan(c.rate("ticket_update", TICKET_UPDATE), tickets, update_ticket)

    def truth(self, store: Store) -> dict[str, Any]:
        tickets = [store.tables["tickets"][i] for i in store.sorted_ids("tickets")]
        return {
            "ticket_states": [
                detailed_state(store, store.tables["ticket_states"][i])
                for i in store.sorted_ids("ticket_states")
            ],
            "ticket_types": [
                public(store.tables["ticket_types"][i]) for i in store.sorted_ids("ticket_types")
            ],
            "tickets": [orjson.loads(store.json_of("tickets", t)) for t in tickets],
            "ticket_parts": {
                t["id"]: with_parts(t)["ticket_parts"]["ticket_parts"] for t in tickets
            },
            "ticket_part_counts": {t["id"]: len(t["_parts"]) for t in tickets},
            "all_ticket_parts": {t["id"]: list(t["_parts"]) for t in tickets},
            "ticket_previous_state_ids": {t["id"]: t.get("_previous_state_id") for t in tickets},
        }


__all__ = ["Tickets"]
