"""Company notes (Intercom-Version 2.16 on): `GET /companies/{id}/notes`, churn that adds notes.

A note is kept with its company (private `_notes`, in the order written) and goes with it when
the company is deleted. Adding a note does not move the company's `updated_at`, and nothing
lists notes across companies: a reader finds new notes only by listing each company's.
Versions before 2.16 answer 400 `intercom_version_invalid`, as for the deleted-conversations
feed.
"""

from typing import Any

from intercom_assets.sandbox.churn import Churning
from intercom_assets.sandbox.core import SandboxCore
from intercom_assets.sandbox.endpoints import Call, dumps, require_version
from intercom_assets.sandbox.errors import ApiError
from intercom_assets.sandbox.factory import Factory
from intercom_assets.sandbox.resource import Generation, Resource
from intercom_assets.sandbox.store import Record, Store

NOTES_FROM = (2, 16)
"""`GET /companies/{id}/notes` exists from Intercom-Version 2.16 on."""
NOTES_PER_COMPANY = (0, 0, 1, 1, 2, 3, 5)
"""Notes of a generated company: one of these counts, at random."""
COMPANY_NOTE_ADD = 0.01
"""Notes added a day, as a share of the companies (`Churn.company_note_add` overrides)."""


def new_note(f: Factory, company: Record, created_at: int) -> Record:
    admin = f.store.admins.get(f.pick_admin_id())
    author: Record = {"type": "admin", "id": "0", "name": "Operator", "email": "bot@sandbox.test"}
    if admin is not None:
        author = {k: admin[k] for k in ("type", "id", "name", "email")} | {
            "away_mode_enabled": False,
            "away_mode_reassign": False,
            "has_inbox_seat": True,
            "team_ids": [],
        }
    return {
        "type": "note",
        "id": f.next_number("company_note", 30_000),
        "created_at": created_at,
        "company": {"type": "company", "id": company["id"]},
        "author": author,
        "body": f"<p>{f.sentence(10)}</p>",
    }


def add_note(c: Churning, at: int, company_id: str) -> None:
    company = c.store.companies.get(company_id)
    if company is None:
        return
    company.setdefault("_notes", []).append(new_note(c.factory, company, at))
    c.log.add("company_notes_added", company_id)


def company_notes(core: SandboxCore, call: Call) -> bytes:
    require_version(call, NOTES_FROM)
    company = core.store.companies.get(call.params["id"])
    if company is None:
        raise ApiError(404, "company_not_found", "Company Not Found")
    notes = list(reversed(company.get("_notes", [])))  # newest first
    pages = {"type": "pages", "next": None, "page": 1, "per_page": 50, "total_pages": 1}
    return dumps({"type": "list", "data": notes, "total_count": len(notes), "pages": pages})


class CompanyNotes(Resource):
    """Notes written about companies."""

    change_kinds = ("company_notes_added",)
    routes = (("GET", "/companies/{id}/notes", company_notes),)

    def generate(self, g: Generation) -> None:
        for company_id in g.store.sorted_ids("companies"):
            company = g.store.companies[company_id]
            created = company["created_at"]
            moments = sorted(
                g.rng.randint(created, g.start - 60)
                for _ in range(g.factory.pick(NOTES_PER_COMPANY))
            )
            company["_notes"] = [new_note(g.factory, company, at) for at in moments]

    def plan_churn(self, c: Churning) -> None:
        companies = list(c.store.sorted_ids("companies"))
        c.plan(c.rate("company_note_add", COMPANY_NOTE_ADD), companies, add_note)

    def truth(self, store: Store) -> dict[str, Any]:
        """`company_notes`: every live company's notes, newest first, as the API lists them."""
        return {
            "company_notes": {
                company_id: list(reversed(store.companies[company_id].get("_notes", [])))
                for company_id in store.sorted_ids("companies")
            }
        }
