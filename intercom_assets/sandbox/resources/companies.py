"""Companies: the scroll, `/companies/list`, `GET /companies` filters, a company and its
sub-lists; company churn, including tag changes that do not move `updated_at`."""

import math
from typing import Any

import orjson

from intercom_assets.sandbox import values as v
from intercom_assets.sandbox.churn import Churning
from intercom_assets.sandbox.core import SandboxCore
from intercom_assets.sandbox.endpoints import Call, cursor_page, dumps
from intercom_assets.sandbox.errors import ApiError
from intercom_assets.sandbox.factory import APP_ID, Factory
from intercom_assets.sandbox.pagination import list_body, per_page, positive_int
from intercom_assets.sandbox.resource import Generation, Resource
from intercom_assets.sandbox.resources.tags import toggle_tag
from intercom_assets.sandbox.store import DAY, YEAR, Record, Store

COMPANY_LIST_CAP = 10_000
DEFAULT_COMPANIES_PER_PAGE = 15
DEFAULT_SUBLIST_PER_PAGE = 50


# -- generating -----------------------------------------------------------------------------------


def new_company(f: Factory, created_at: int, updated_at: int) -> Record:
    rng = f.rng
    number = f.next_number("company", 0)
    plan_id, plan_name = f.pick(v.PLANS)
    name = f"{f.pick(v.COMPANY_WORDS)} {f.pick(v.COMPANY_SUFFIXES)}"
    slug = "".join(ch for ch in name.split()[0].lower() if ch.isascii() and ch.isalnum())
    tag_ids = f.some_tag_ids()
    company_segments = sorted(
        s for s, seg in f.store.segments.items() if seg["_rule"][0] == "company"
    )
    segment_ids = [s for s in company_segments if rng.random() < 0.3]
    custom = {
        "account tier": f.pick(["gold", "silver", "bronze"]),
        "région": f.pick(v.PLACES)[1],
        "from": f.pick(v.TRICKY_STRINGS),
        "crm.id": f"CRM-{rng.randrange(10**6):06d}",
    }
    company = {
        "type": "company",
        "id": f.hex_id(created_at),
        "name": name,
        "app_id": APP_ID,
        "plan": {"type": "plan", "id": plan_id, "name": plan_name},
        "company_id": f"cmp-{int(number):06d}",
        "remote_created_at": created_at - rng.randrange(0, 86_400 * 30),
        "created_at": created_at,
        "updated_at": updated_at,
        "last_request_at": rng.randint(created_at, updated_at),
        "size": f.pick([1, 5, 10, 50, 200, 1000]),
        "website": f"https://www.{slug}-{number}.test",
        "industry": f.pick(v.INDUSTRIES),
        "monthly_spend": f.pick([0, 49, 99, 499, 2500]),
        "session_count": rng.randrange(0, 5000),
        "user_count": 0,
        "custom_attributes": custom,
        "_tag_ids": tag_ids,
        "_segment_ids": segment_ids,
    }
    f.store.refresh_company(company)
    return company


# -- churn ----------------------------------------------------------------------------------------


def update_company(c: Churning, at: int, company_id: str) -> None:
    company = c.store.companies.get(company_id)
    if company is None:
        return
    company["monthly_spend"] = c.pick([0, 49, 99, 499, 2500, 9900])
    company["session_count"] += c.rng.randrange(1, 50)
    company["custom_attributes"]["account tier"] = c.pick(["gold", "silver", "bronze"])
    company["last_request_at"] = at
    company["updated_at"] = max(company["updated_at"], at)
    c.updated("companies", company_id)


def create_company(c: Churning, at: int, _: object) -> None:
    c.created("companies", new_company(c.factory, at, at))


def delete_company(c: Churning, at: int, company_id: str) -> None:
    c.deleted("companies", company_id, c.store.remove_company)


def change_company_tags(c: Churning, at: int, company_id: str) -> None:
    """Tag or untag a company; its `updated_at` does not move (docs/sandbox.md says why)."""
    store = c.store
    company = store.companies.get(company_id)
    if company is None or not store.tags:
        return
    if toggle_tag(c, company["_tag_ids"]):
        store.refresh_company(company)
        c.log.add("company_tags_changed", company_id)


def company_or_404(core: SandboxCore, company_id: str) -> Record:
    company = core.store.companies.get(company_id)
    if company is None:
        raise ApiError(404, "company_not_found", "Company Not Found")
    return company


def scroll_companies(core: SandboxCore, call: Call) -> bytes:
    store, registry = core.store, core.scrolls
    param = call.query.get("scroll_param")
    scroll = registry.active()
    if not param:
        if scroll is not None:
            raise ApiError(400, "scroll_exists", "scroll already exists for this workspace")
        scroll = registry.open(list(store.sorted_ids("companies")))
    elif scroll is None or scroll.param != param:
        raise ApiError(404, "not_found", "scroll_param not found: the scroll expired or finished")
    if core.faults.take_scroll_fault(scroll.pages_served):
        registry.close()
        raise ApiError(
            500,
            "server_error",
            "Request failed due to an internal network error. Please restart the scroll operation.",
        )
    chunk = scroll.company_ids[scroll.position : scroll.position + core.scroll_page_size]
    scroll.position += len(chunk)
    scroll.pages_served += 1
    registry.touch(scroll)
    if not chunk:
        registry.close()  # the empty page ends the scroll; its param is gone from now on
    items = [store.json_of("companies", store.companies[i]) for i in chunk if i in store.companies]
    return list_body(
        {"type": "list"},
        "data",
        items,
        {"pages": None, "total_count": len(scroll.company_ids), "scroll_param": scroll.param},
    )


def companies_page(
    core: SandboxCore, call: Call, companies: list[Record], order: str = "desc"
) -> bytes:
    size = per_page(call.query, DEFAULT_COMPANIES_PER_PAGE)
    page = positive_int(call.query, "page", 1)
    if (page - 1) * size >= COMPANY_LIST_CAP:
        raise ApiError(400, "bad_request", "page limit reached, please use scroll API")
    if order not in ("asc", "desc"):
        raise ApiError(400, "parameter_invalid", f"order must be asc or desc, got {order!r}")
    companies.sort(key=lambda c: (c["last_request_at"], c["id"]), reverse=order == "desc")
    total = min(len(companies), COMPANY_LIST_CAP)
    chunk = companies[(page - 1) * size : page * size]
    store = core.store
    pages = {
        "type": "pages",
        "page": page,
        "per_page": size,
        "total_pages": math.ceil(total / size),
    }
    return list_body(
        {"type": "list"},
        "data",
        [store.json_of("companies", c) for c in chunk],
        {"pages": pages, "total_count": total},
    )


def list_companies_post(core: SandboxCore, call: Call) -> bytes:
    companies = [c for c in core.store.companies.values() if c["user_count"] > 0]
    return companies_page(core, call, companies, call.query.get("order", "desc"))


def get_companies(core: SandboxCore, call: Call) -> bytes:
    query, store = call.query, core.store
    if "company_id" in query or "name" in query:
        key = "company_id" if "company_id" in query else "name"
        for company in store.companies.values():
            if company[key] == query[key]:
                return store.json_of("companies", company)
        raise ApiError(404, "company_not_found", "Company Not Found")
    if "tag_id" in query:
        chosen = [c for c in store.companies.values() if query["tag_id"] in c["_tag_ids"]]
    elif "segment_id" in query:
        chosen = [c for c in store.companies.values() if query["segment_id"] in c["_segment_ids"]]
    else:
        chosen = [c for c in store.companies.values() if c["user_count"] > 0]
    return companies_page(core, call, chosen)


def get_company(core: SandboxCore, call: Call) -> bytes:
    return core.store.json_of("companies", company_or_404(core, call.params["id"]))


def company_segments(core: SandboxCore, call: Call) -> bytes:
    company = company_or_404(core, call.params["id"])
    return dumps({"type": "list", "data": company["segments"]["segments"]})


def company_contacts(core: SandboxCore, call: Call) -> bytes:
    company_id = company_or_404(core, call.params["id"])["id"]
    store = core.store
    ids = [
        i for i in store.sorted_ids("contacts") if company_id in store.contacts[i]["_company_ids"]
    ]
    return cursor_page(
        core, call, "contacts", ids, "data", {"type": "list"}, DEFAULT_SUBLIST_PER_PAGE
    )


class Companies(Resource):
    """Companies; deleting one detaches its contacts without moving their `updated_at`."""

    tables = {"companies": False}
    change_kinds = (
        "companies_created", "companies_updated", "companies_deleted", "company_tags_changed",
    )  # fmt: skip
    routes = (
        ("GET", "/companies/scroll", scroll_companies),
        ("POST", "/companies/list", list_companies_post),
        ("GET", "/companies", get_companies),
        ("GET", "/companies/{id}", get_company),
        ("GET", "/companies/{id}/segments", company_segments),
        ("GET", "/companies/{id}/contacts", company_contacts),
    )

    def generate(self, g: Generation) -> None:
        rng, start = g.rng, g.start
        for created in sorted(
            rng.randint(start - 5 * YEAR, start - DAY) for _ in range(g.preset.companies)
        ):
            company = new_company(g.factory, created, g.factory.recent(created, start))
            g.store.companies[company["id"]] = company
        g.store.reordered("companies")

    def plan_churn(self, c: Churning) -> None:
        churn = c.churn
        companies = list(c.store.sorted_ids("companies"))
        c.plan(churn.company_update, companies, update_company)
        c.plan(churn.company_create, companies, create_company)
        c.plan(churn.company_delete, companies, delete_company)
        c.plan(churn.company_tag_change, companies, change_company_tags)

    def truth(self, store: Store) -> dict[str, Any]:
        return {
            "companies": [
                orjson.loads(store.json_of("companies", store.companies[i]))
                for i in store.sorted_ids("companies")
            ],
            "deleted_company_ids": sorted(store.deleted_company_ids),
        }
