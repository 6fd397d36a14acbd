"""Data attributes of the contact, company and conversation models: `GET /data_attributes`."""

import random
from typing import Any

from intercom_assets.sandbox.core import SandboxCore
from intercom_assets.sandbox.endpoints import Call, dumps, flag, one_of
from intercom_assets.sandbox.resource import Generation, Resource
from intercom_assets.sandbox.store import DAY, Record, Store

APP_AGE = 6 * 365 * DAY
MODELS = ("contact", "company", "conversation")
CONTACT_ATTRIBUTES: list[tuple[str, str, list[str]]] = [
    # (name, data_type, options) of the custom contact attributes.
    ("plan", "string", ["free", "starter", "pro", "enterprise"]),
    ("seats", "integer", []),
    ("mrr", "float", []),
    ("beta_tester", "boolean", []),
    ("trial_ends_at", "date", []),
    ("favourite colour", "string", []),
    ("ville préférée", "string", []),
    ('it\'s "quoted"', "string", []),
    ("select", "string", []),
    ("order.total", "float", []),
]
ARCHIVED_CONTACT_ATTRIBUTE = ("legacy_score", "integer")
COMPANY_ATTRIBUTES = ["account tier", "région", "from", "crm.id"]
CONVERSATION_ATTRIBUTES = [("Reason", "string"), ("ticket.number", "integer")]


def data_attributes(rng: random.Random, store: Store, app_created: int) -> list[Record]:
    """Standard and custom attributes of the contact, company and conversation models."""
    out: list[Record] = []
    admin_id = next(iter(store.admins))

    def standard(model: str, full_name: str, data_type: str) -> None:
        out.append(
            {
                "type": "data_attribute",
                "model": model,
                "name": full_name.rsplit(".", 1)[-1],
                "full_name": full_name,
                "label": full_name.replace("_", " ").replace(".", " ").title(),
                "description": f"The {model}'s {full_name}.",
                "data_type": data_type,
                "api_writable": False,
                "ui_writable": False,
                "messenger_writable": False,
                "custom": False,
                "archived": False,
            }
        )

    def custom(model: str, name: str, data_type: str, options: list[str], archived: bool) -> None:
        created = rng.randint(app_created, store.now - 30 * DAY)
        out.append(
            {
                "type": "data_attribute",
                "id": 100 + len(out),
                "model": model,
                "name": name,
                "full_name": f"custom_attributes.{name}",
                "label": name,
                "description": f"Custom {data_type} attribute {name!r}.",
                "data_type": data_type,
                "options": options,
                "api_writable": True,
                "ui_writable": True,
                "messenger_writable": False,
                "custom": True,
                "archived": archived,
                "created_at": created,
                "updated_at": rng.randint(created, store.now - DAY),
                "admin_id": admin_id,
            }
        )

    for full_name, data_type in [
        ("name", "string"),
        ("email", "string"),
        ("phone", "string"),
        ("external_id", "string"),
        ("created_at", "date"),
        ("updated_at", "date"),
        ("last_seen_at", "date"),
        ("location.city", "string"),
        ("location.country", "string"),
    ]:
        standard("contact", full_name, data_type)
    for name, data_type, options in CONTACT_ATTRIBUTES:
        custom("contact", name, data_type, options, archived=False)
    custom(
        "contact", ARCHIVED_CONTACT_ATTRIBUTE[0], ARCHIVED_CONTACT_ATTRIBUTE[1], [], archived=True
    )
    for full_name, data_type in [
        ("name", "string"),
        ("company_id", "string"),
        ("plan.name", "string"),
        ("monthly_spend", "float"),
        ("created_at", "date"),
    ]:
        standard("company", full_name, data_type)
    for name in COMPANY_ATTRIBUTES:
        custom("company", name, "string", [], archived=False)
    for full_name, data_type in [
        ("state", "string"),
        ("created_at", "date"),
        ("priority", "string"),
    ]:
        standard("conversation", full_name, data_type)
    for name, data_type in CONVERSATION_ATTRIBUTES:
        custom("conversation", name, data_type, [], archived=False)
    custom("conversation", "old_channel", "string", ["chat", "mail"], archived=True)
    return out


def list_data_attributes(core: SandboxCore, call: Call) -> bytes:
    model = one_of(call.query, "model", MODELS)
    archived = flag(call.query, "include_archived")
    data = [
        a
        for a in core.store.data_attributes
        if (model is None or a["model"] == model) and (archived or not a["archived"])
    ]
    return dumps({"type": "list", "data": data})


class DataAttributes(Resource):
    """Standard and custom attributes; custom contact ones type the contact search."""

    routes = (("GET", "/data_attributes", list_data_attributes),)

    def generate(self, g: Generation) -> None:
        g.store.data_attributes = data_attributes(g.rng, g.store, g.start - APP_AGE)

    def truth(self, store: Store) -> dict[str, Any]:
        return {
            "data_attributes": sorted(
                store.data_attributes, key=lambda a: (a["model"], a.get("id", 0), a["full_name"])
            )
        }
