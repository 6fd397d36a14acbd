"""Subscription types: `GET /subscription_types` (a plain list), and their churn."""

import random
from typing import Any

from intercom_assets.sandbox.churn import Churning
from intercom_assets.sandbox.core import SandboxCore
from intercom_assets.sandbox.endpoints import Call, list_of
from intercom_assets.sandbox.resource import Generation, Resource, own_random
from intercom_assets.sandbox.store import Record, Store, numeric_id

NAMES = ["Newsletter", "Product updates", "Billing notices", "Events", "Tips", "Surveys"]
STATES = ["live", "draft", "archived"]
FIRST_ID = 330_000


def new_subscription_type(rng: random.Random, number: int) -> Record:
    name = NAMES[(number - FIRST_ID - 1) % len(NAMES)]
    translation = {"name": name, "description": f"{name} from us", "locale": "en"}
    return {
        "type": "subscription",
        "id": str(number),
        "state": rng.choice(STATES[:2]),
        "default_translation": translation,
        "translations": [translation],
        "consent_type": rng.choice(["opt_out", "opt_in"]),
        "content_types": rng.choice([["email"], ["sms_message"], ["email", "sms_message"]]),
    }


def list_subscription_types(core: SandboxCore, call: Call) -> bytes:
    return list_of(core.store, "subscription_types", {"type": "list"}, "data")


class SubscriptionTypes(Resource):
    """Subscription types. They carry no timestamps; churn changes a state, adds a type, or
    archives one (archived types are still listed)."""

    tables = {"subscription_types": True}
    change_kinds = ("subscription_types_created", "subscription_types_updated")
    routes = (("GET", "/subscription_types", list_subscription_types),)

    def __init__(self) -> None:
        self.rng = random.Random(0)
        self.last = FIRST_ID

    def generate(self, g: Generation) -> None:
        self.rng = own_random(g, "subscription_types")
        table = g.store.add_table("subscription_types", numeric_ids=True)
        for _ in range(4):
            self.last += 1
            record = new_subscription_type(self.rng, self.last)
            table[record["id"]] = record
        g.store.reordered("subscription_types")

    def plan_churn(self, c: Churning) -> None:
        ids = list(c.store.sorted_ids("subscription_types"))
        c.plan(c.churn.subscription_type_update, ids, self.update, rng=self.rng)
        c.plan(c.churn.subscription_type_create, ids, self.create, rng=self.rng)

    def update(self, c: Churning, at: int, type_id: str) -> None:
        record = c.store.tables["subscription_types"].get(type_id)
        if record is None:
            return
        record["state"] = self.rng.choice([s for s in STATES if s != record["state"]])
        c.updated("subscription_types", type_id)

    def create(self, c: Churning, at: int, _: object) -> None:
        self.last += 1
        c.created("subscription_types", new_subscription_type(self.rng, self.last))

    def truth(self, store: Store) -> dict[str, Any]:
        table = store.tables["subscription_types"]
        ids = sorted(table, key=numeric_id)
        return {"subscription_types": [table[i] for i in ids]}
