"""Contacts: list, search, a contact and its sub-lists; notes; contact churn (updates, creations,
deletes, archives, lead merges, silent tag changes and notes).

From Intercom-Version 2.16 on, a merge is also told by its target: `include_merge_history=true`
on `GET /contacts` and `GET /contacts/{id}` adds `merge_history` (every merge into the contact,
newest first; users only: a lead has none) and `GET /contacts/{id}/merge_history` pages the
same items (`cursor` / `next_cursor`, `per_page` 1..150, default 50, `order` desc by default;
404 for a lead or a contact that is not live; 400 `intercom_version_invalid` before 2.16).
"""

import math
import unicodedata
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import orjson

from intercom_assets.sandbox import values as v
from intercom_assets.sandbox.churn import Churning
from intercom_assets.sandbox.core import SandboxCore
from intercom_assets.sandbox.endpoints import (
    Call,
    cursor_page,
    dumps,
    flag,
    record_json,
    require_version,
    search_route,
    sort_order,
)
from intercom_assets.sandbox.errors import ApiError
from intercom_assets.sandbox.factory import APP_ID, Factory
from intercom_assets.sandbox.pagination import (
    bounded_per_page,
    decode_cursor,
    encode_cursor,
    list_body,
    per_page,
    positive_int,
)
from intercom_assets.sandbox.resource import Generation, Resource
from intercom_assets.sandbox.resources.tags import toggle_tag
from intercom_assets.sandbox.search import (
    BOOLEAN,
    DATE,
    IDS,
    INTEGER,
    ORDER_OPS,
    SCALAR_OPS,
    STRING,
    STRING_OPS,
    SearchModel,
    ids_getter,
    make_fields,
    path_getter,
)
from intercom_assets.sandbox.store import YEAR, Record, Store, public
from intercom_assets.sandbox.versions import version_at_least

DEFAULT_CONTACTS_PER_PAGE = 10
DEFAULT_SUBLIST_PER_PAGE = 50
MERGES_REPORTED_FROM = (2, 16)
"""Versions from 2.16 (and Preview) answer 410 `contact_merged` for a merged-away contact and
tell a user's merge history (`include_merge_history`, `GET /contacts/{id}/merge_history`)."""
DEFAULT_MERGE_HISTORY_PER_PAGE = 50


# -- generating -----------------------------------------------------------------------------------


def new_contact(
    f: Factory, created_at: int, updated_at: int, company_pool: list[str], role: str | None = None
) -> Record:
    rng = f.rng
    role = role or ("user" if rng.random() < 0.7 else "lead")
    cid = f.hex_id(created_at)
    first, last = f.pick(v.FIRST_NAMES), f.pick(v.LAST_NAMES)
    has_email = role == "user" or rng.random() < 0.6
    plain = unicodedata.normalize("NFKD", f"{first}.{last}".lower())
    local = "".join(ch for ch in plain if ch.isascii() and (ch.isalnum() or ch == ".")) or "x"
    domain = f.pick(v.EMAIL_DOMAINS)
    email = f"{local}.{cid[-6:]}@{domain}" if has_email else ""
    city, region, country = f.pick(v.PLACES)
    browser, browser_version = f.pick(v.BROWSERS)
    seen = rng.randint(created_at, updated_at) if rng.random() < 0.85 else None
    mobile = rng.random() < 0.15
    custom: dict[str, Any] = {
        "plan": f.pick(["free", "starter", "pro", "enterprise"]),
        "seats": rng.randrange(1, 500),
        "mrr": round(rng.uniform(0, 5000), 2),
        "beta_tester": rng.random() < 0.2,
        "trial_ends_at": created_at + 14 * 86_400,
        "favourite colour": f.pick(["blue", "vert", "rouge", "紫", None]),
        "ville préférée": f.pick(v.PLACES)[0],
        'it\'s "quoted"': f.pick(v.TRICKY_STRINGS),
        "select": f.pick(["from", "where", "group by", "1; DROP TABLE x"]),
        "order.total": round(rng.uniform(0, 999), 2),
    }
    n_companies = f.pick([0, 1, 1, 1, 2]) if role == "user" else 0
    company_ids = rng.sample(company_pool, min(n_companies, len(company_pool)))
    n_tags = f.pick([0, 0, 0, 1, 1, 2, 3])
    tag_ids = rng.sample(f.store.sorted_ids("tags"), min(n_tags, len(f.store.tags)))
    return {
        "type": "contact",
        "id": cid,
        "external_id": f"usr_{cid[-10:]}" if role == "user" else None,
        "workspace_id": APP_ID,
        "role": role,
        "email": email,
        "email_domain": domain if has_email else "",
        "phone": f"+353 1 {rng.randrange(10**6, 10**7)}" if rng.random() < 0.4 else None,
        "name": f"{first} {last}" if rng.random() < 0.9 else None,
        "owner_id": int(f.pick_admin_id()) if rng.random() < 0.5 else None,
        "has_hard_bounced": rng.random() < 0.02,
        "marked_email_as_spam": rng.random() < 0.01,
        "unsubscribed_from_emails": rng.random() < 0.1,
        "created_at": created_at,
        "updated_at": updated_at,
        "signed_up_at": created_at if role == "user" else None,
        "last_seen_at": seen,
        "last_replied_at": rng.randint(created_at, updated_at) if rng.random() < 0.3 else None,
        "last_contacted_at": rng.randint(created_at, updated_at) if rng.random() < 0.4 else None,
        "last_email_opened_at": rng.randint(created_at, updated_at) if rng.random() < 0.3 else None,
        "last_email_clicked_at": rng.randint(created_at, updated_at)
        if rng.random() < 0.1
        else None,
        "language_override": f.pick([None, None, None, "fr", "de"]),
        "browser": browser,
        "browser_version": browser_version,
        "browser_language": f.pick(v.LANGUAGES),
        "os": f.pick(v.OSES),
        "android_app_name": "Sandbox Android" if mobile else None,
        "android_app_version": "5.2.1" if mobile else None,
        "android_device": "Pixel 8" if mobile else None,
        "android_os_version": "14" if mobile else None,
        "android_sdk_version": "15.6.0" if mobile else None,
        "android_last_seen_at": seen if mobile else None,
        "ios_app_name": None,
        "ios_app_version": None,
        "ios_device": None,
        "ios_os_version": None,
        "ios_sdk_version": None,
        "ios_last_seen_at": None,
        "custom_attributes": custom,
        "avatar": {
            "type": "avatar",
            "image_url": f"https://static.sandbox.test/avatars/{cid}.png"
            if rng.random() < 0.3
            else None,
        },
        "location": {"type": "location", "country": country, "region": region, "city": city},
        "social_profiles": {"type": "list", "data": []},
        "_tag_ids": tag_ids,
        "_company_ids": company_ids,
        "_note_ids": [],
        "_segment_ids": [],
    }


def new_note(f: Factory, contact_id: str, created_at: int) -> Record:
    admin = f.store.admins[f.pick_admin_id()]
    return {
        "type": "note",
        "id": f.next_number("note", 0),
        "created_at": created_at,
        "contact": {"type": "contact", "id": contact_id},
        "author": {
            k: admin[k]
            for k in ("type", "id", "name", "email", "away_mode_enabled", "away_mode_reassign")
        },
        "body": f"<p>{f.sentence()}</p>",
    }


# -- churn ----------------------------------------------------------------------------------------


def update_contact(c: Churning, at: int, contact_id: str) -> None:
    contact = c.store.contacts.get(contact_id)
    if contact is None:
        return
    custom = contact["custom_attributes"]
    choice = c.rng.random()
    if choice < 0.3:
        custom["plan"] = c.pick(["free", "starter", "pro", "enterprise"])
    elif choice < 0.5:
        custom["seats"] = c.rng.randrange(1, 500)
        custom["mrr"] = round(c.rng.uniform(0, 5000), 2)
    elif choice < 0.7:
        city, region, country = c.pick(v.PLACES)
        contact["location"] = {
            "type": "location",
            "country": country,
            "region": region,
            "city": city,
        }
    elif choice < 0.85:
        contact["name"] = f"{c.pick(v.FIRST_NAMES)} {c.pick(v.LAST_NAMES)}"
    else:
        contact["unsubscribed_from_emails"] = not contact["unsubscribed_from_emails"]
    contact["last_seen_at"] = at
    contact["updated_at"] = max(contact["updated_at"], at)
    c.store.refresh_contact(contact)
    c.log.add("contacts_updated", contact_id)


def create_contact(c: Churning, at: int, _: object) -> None:
    pool = list(c.store.companies)  # insertion order: deterministic, no sort needed
    contact = new_contact(c.factory, at, at, pool)
    contact["last_seen_at"] = at if contact["last_seen_at"] else None
    for key in (
        "last_replied_at",
        "last_contacted_at",
        "last_email_opened_at",
        "last_email_clicked_at",
    ):
        contact[key] = None
    if contact["android_last_seen_at"]:
        contact["android_last_seen_at"] = at
    c.store.add_contact(contact)
    c.log.add("contacts_created", contact["id"])


def delete_contact(c: Churning, at: int, contact_id: str) -> None:
    if contact_id in c.store.contacts:
        c.store.remove_contact(contact_id)
        c.store.deleted_contact_ids.add(contact_id)
        c.log.add("contacts_deleted", contact_id)


def archive_contact(c: Churning, at: int, contact_id: str) -> None:
    if contact_id in c.store.contacts:
        c.store.remove_contact(contact_id)
        c.store.archived_contact_ids.add(contact_id)
        c.log.add("contacts_archived", contact_id)


def merge_lead(c: Churning, at: int, lead_id: str) -> None:
    store = c.store
    lead = store.contacts.get(lead_id)
    users = c.memo.get("merge_targets")
    if users is None:  # merge targets: users as of the start of the interval
        users = c.memo["merge_targets"] = [
            i for i in store.sorted_ids("contacts") if store.contacts[i]["role"] == "user"
        ]
    if lead is None or lead["role"] != "lead" or not users:
        return
    for _ in range(20):
        target = store.contacts.get(c.pick(users))
        if target is not None:
            break
    else:
        return
    store.remove_contact(lead_id)
    store.merged_contact_ids[lead_id] = target["id"]
    store.merge_history[lead_id] = {
        "type": "merge_history",
        "source_contact_id": lead_id,
        "source_contact_role": lead["role"],
        "merged_at": at,
    }
    for tag_id in lead["_tag_ids"]:
        if tag_id not in target["_tag_ids"]:
            target["_tag_ids"].append(tag_id)
    target["updated_at"] = max(target["updated_at"], at)
    store.refresh_contact(target)
    c.log.add("contacts_merged", lead_id)
    c.log.merges[lead_id] = target["id"]


def change_tags(c: Churning, at: int, contact_id: str) -> None:
    store = c.store
    contact = store.contacts.get(contact_id)
    if contact is None or not store.tags:
        return
    if toggle_tag(c, contact["_tag_ids"]) is None:
        return
    store.refresh_contact(contact)  # tags move without an `updated_at` change
    c.log.add("contact_tags_changed", contact_id)


def add_note(c: Churning, at: int, contact_id: str) -> None:
    contact = c.store.contacts.get(contact_id)
    if contact is None:
        return
    note = new_note(c.factory, contact_id, at)
    c.store.notes[note["id"]] = note
    contact["_note_ids"].insert(0, note["id"])
    c.store.refresh_contact(contact)
    c.log.add("contact_notes_added", contact_id)


# -- search fields --------------------------------------------------------------------------------


def _avatar(record: Mapping[str, Any]) -> Any:
    avatar = record.get("avatar")
    return avatar.get("image_url") if isinstance(avatar, Mapping) else avatar


_DEVICE = ("app_name", "app_version", "device", "os_version", "sdk_version")
SEARCH_FIELDS = make_fields(
    {
        **dict.fromkeys(
            [
                "id",
                "role",
                "name",
                "email",
                "email_domain",
                "phone",
                "external_id",
                "language_override",
                "browser",
                "browser_version",
                "browser_language",
                "os",
                "location.country",
                "location.region",
                "location.city",
                *(f"{p}_{f}" for p in ("ios", "android") for f in _DEVICE),
            ],
            STRING,
        ),
        "owner_id": INTEGER,
        **dict.fromkeys(
            [
                "created_at",
                "signed_up_at",
                "updated_at",
                "last_seen_at",
                "last_contacted_at",
                "last_replied_at",
                "last_email_opened_at",
                "last_email_clicked_at",
                "ios_last_seen_at",
                "android_last_seen_at",
            ],
            DATE,
        ),
        **dict.fromkeys(
            ["unsubscribed_from_emails", "marked_email_as_spam", "has_hard_bounced"], BOOLEAN
        ),
    },
    avatar=(STRING, _avatar),
    andoid_sdk_version=(STRING, path_getter("android_sdk_version")),  # spelled so in the docs
    tag_id=(IDS, ids_getter("_tag_ids", "tags", "data")),
    segment_id=(IDS, ids_getter("_segment_ids", None, None)),
)
SEARCH = SearchModel(
    "contact",
    SEARCH_FIELDS,
    operators={
        STRING: SCALAR_OPS | STRING_OPS,
        INTEGER: SCALAR_OPS | ORDER_OPS | {">=", "<="},
        DATE: frozenset({"=", ">", "<"}),
        BOOLEAN: SCALAR_OPS,
        IDS: SCALAR_OPS,
    },
    default_per_page=50,
    whole_day_dates=True,
    custom_attributes=True,
    field_operators={"tag_id": frozenset({"=", "!="})},
)


# -- endpoints ------------------------------------------------------------------------------------


def list_contacts(core: SandboxCore, call: Call) -> bytes:
    ids = core.store.sorted_ids("contacts")
    histories = core.store.merge_histories() if with_merge_history(call) else None
    return cursor_page(
        core,
        call,
        "contacts",
        ids,
        "data",
        {"type": "list"},
        DEFAULT_CONTACTS_PER_PAGE,
        render=None
        if histories is None
        else lambda r: contact_json(core, r, call.version, histories),
    )


def with_merge_history(call: Call) -> bool:
    """Whether the request asks for `merge_history` (`include_merge_history=true`, 2.16 on;
    earlier versions do not know the parameter and ignore it)."""
    return version_at_least(call.version, MERGES_REPORTED_FROM) and flag(
        call.query, "include_merge_history"
    )


def contact_json(
    core: SandboxCore,
    contact: Record,
    version: str,
    histories: Mapping[str, list[Record]] | None,
) -> bytes:
    """A contact's JSON as `version` sends it; with `histories` (target -> items), a user's
    `merge_history` too."""
    body = record_json(core.store, "contacts", contact, version)
    if histories is None or contact["role"] != "user":
        return body
    return body[:-1] + b',"merge_history":' + dumps(histories.get(contact["id"], [])) + b"}"


def contact_or_404(core: SandboxCore, contact_id: str) -> Record:
    contact = core.store.contacts.get(contact_id)
    if contact is None:
        raise ApiError(404, "not_found", "User Not Found")
    return contact


def get_contact(core: SandboxCore, call: Call) -> bytes:
    contact_id = call.params["id"]
    target = merge_target(core, contact_id)
    if target is not None and version_at_least(call.version, MERGES_REPORTED_FROM):
        raise ApiError(
            410,
            "contact_merged",
            f"Contact {contact_id} was merged into {target}",
            [("link", f'</contacts/{target}>; rel="canonical"')],
        )
    contact = contact_or_404(core, contact_id)
    histories = core.store.merge_histories() if with_merge_history(call) else None
    return contact_json(core, contact, call.version, histories)


def merge_history(core: SandboxCore, call: Call) -> bytes:
    """`GET /contacts/{id}/merge_history` (2.16 on): the contacts merged into a user, a page
    at a time (`next_cursor` while `has_more`)."""
    require_version(call, MERGES_REPORTED_FROM)
    contact = core.store.contacts.get(call.params["id"])
    if contact is None or contact["role"] != "user":
        raise ApiError(404, "not_found", "Contact not found")
    size = bounded_per_page(call.query.get("per_page"), DEFAULT_MERGE_HISTORY_PER_PAGE)
    order = sort_order(call.query)
    items = core.store.merge_histories().get(contact["id"], [])
    if order == "asc":
        items = items[::-1]
    start = 0
    cursor = call.query.get("cursor")
    if cursor:
        try:
            last = decode_cursor(cursor)
        except ApiError:
            raise ApiError(400, "parameter_invalid", f"cursor is not valid: {cursor!r}") from None
        sources = [i["source_contact_id"] for i in items]
        if last not in sources:
            raise ApiError(400, "parameter_invalid", f"cursor is not valid: {cursor!r}")
        start = sources.index(last) + 1
    chunk = items[start : start + size]
    more = start + size < len(items)
    body: dict[str, object] = {"type": "list", "data": chunk, "has_more": more}
    if more:
        body["next_cursor"] = encode_cursor(chunk[-1]["source_contact_id"])
    return dumps(body)


MAX_MERGE_HOPS = 3


def merge_target(core: SandboxCore, contact_id: str) -> str | None:
    """Where a merged-away contact lives now (following up to 3 merges), else None."""
    merged = core.store.merged_contact_ids
    target = merged.get(contact_id)
    for _ in range(MAX_MERGE_HOPS - 1):
        if target is None or target not in merged:
            break
        target = merged[target]
    return target


def contact_tags(core: SandboxCore, call: Call) -> bytes:
    contact = contact_or_404(core, call.params["id"])
    tags = core.store.tags
    return dumps({"type": "list", "data": [tags[t] for t in contact["_tag_ids"] if t in tags]})


def contact_segments(core: SandboxCore, call: Call) -> bytes:
    contact = contact_or_404(core, call.params["id"])
    segments = core.store.segments
    return dumps({"type": "list", "data": [public(segments[s]) for s in contact["_segment_ids"]]})


def link_page(call: Call, path: str, total: int) -> tuple[int, int, dict[str, object]]:
    """Page-number paging whose `pages.next` is a URL (contact sub-lists)."""
    size = per_page(call.query, DEFAULT_SUBLIST_PER_PAGE)
    page = positive_int(call.query, "page", 1)
    total_pages = math.ceil(total / size)
    nxt = f"{call.base_url}{path}?{urlencode({'page': page + 1, 'per_page': size})}"
    pages: dict[str, object] = {
        "type": "pages",
        "next": nxt if page < total_pages else None,
        "page": page,
        "per_page": size,
        "total_pages": total_pages,
    }
    return (page - 1) * size, size, pages


def contact_companies(core: SandboxCore, call: Call) -> bytes:
    contact = contact_or_404(core, call.params["id"])
    store = core.store
    ids = [c for c in contact["_company_ids"] if c in store.companies]
    start, size, pages = link_page(call, f"/contacts/{contact['id']}/companies", len(ids))
    items = [store.json_of("companies", store.companies[c]) for c in ids[start : start + size]]
    return list_body(
        {"type": "list"}, "companies", items, {"total_count": len(ids), "pages": pages}
    )


def contact_notes(core: SandboxCore, call: Call) -> bytes:
    contact = contact_or_404(core, call.params["id"])
    ids = contact["_note_ids"]
    start, size, pages = link_page(call, f"/contacts/{contact['id']}/notes", len(ids))
    notes = [core.store.notes[n] for n in ids[start : start + size]]
    return dumps({"type": "list", "data": notes, "total_count": len(ids), "pages": pages})


class Contacts(Resource):
    """Contacts (users and leads) with their notes. Deleted, archived and merged-away contacts
    vanish from list and search and 404 on GET (410 `contact_merged` from 2.16 on, when a
    user's merge history lists them too)."""

    tables = {"contacts": False, "notes": True}
    change_kinds = (
        "contacts_created", "contacts_updated", "contacts_deleted", "contacts_archived",
        "contacts_merged", "contact_tags_changed", "contact_notes_added",
    )  # fmt: skip
    routes = (
        ("GET", "/contacts", list_contacts),
        ("POST", "/contacts/search", search_route(SEARCH, "contacts", {"type": "list"}, "data")),
        ("GET", "/contacts/{id}", get_contact),
        ("GET", "/contacts/{id}/tags", contact_tags),
        ("GET", "/contacts/{id}/companies", contact_companies),
        ("GET", "/contacts/{id}/notes", contact_notes),
        ("GET", "/contacts/{id}/segments", contact_segments),
        ("GET", "/contacts/{id}/merge_history", merge_history),
    )

    def generate(self, g: Generation) -> None:
        store, factory, rng, start, preset = g.store, g.factory, g.rng, g.start, g.preset
        company_ids = store.sorted_ids("companies")
        empty = set(rng.sample(company_ids, max(1, len(company_ids) // 20)))
        company_pool = [c for c in company_ids if c not in empty]  # `empty` ones get no users
        tag_ids = sorted(store.tags)
        heavy_every = max(preset.contacts // preset.heavy_contacts, 1)
        for index, created in enumerate(
            sorted(rng.randint(start - 5 * YEAR, start - 3600) for _ in range(preset.contacts))
        ):
            contact = new_contact(factory, created, factory.recent(created, start), company_pool)
            if index % heavy_every == 7 % preset.contacts:
                contact["role"], contact["external_id"] = "user", f"usr_{contact['id'][-10:]}"
                contact["_tag_ids"] = rng.sample(tag_ids, min(len(tag_ids), rng.randint(11, 15)))
                contact["_company_ids"] = rng.sample(
                    company_pool, min(len(company_pool), rng.randint(11, 13))
                )
                n_notes = rng.randint(11, 14)
            else:
                n_notes = rng.choice([0] * 8 + [1, 2])
            for note_time in sorted(rng.randint(created, start) for _ in range(n_notes)):
                note = new_note(factory, contact["id"], note_time)
                store.notes[note["id"]] = note
                contact["_note_ids"].insert(0, note["id"])
            store.add_contact(contact)

    def plan_churn(self, c: Churning) -> None:
        churn, store = c.churn, c.store
        contacts = list(store.sorted_ids("contacts"))
        leads = [i for i in contacts if store.contacts[i]["role"] == "lead"]
        c.plan(churn.contact_update, contacts, update_contact)
        c.plan(churn.contact_create, contacts, create_contact)
        c.plan(churn.contact_delete, contacts, delete_contact)
        c.plan(churn.contact_archive, contacts, archive_contact)
        c.plan(churn.lead_merge, leads, merge_lead)
        c.plan(churn.contact_tag_change, contacts, change_tags)
        c.plan(churn.contact_note_add, contacts, add_note)

    def truth(self, store: Store) -> dict[str, Any]:
        ids = store.sorted_ids("contacts")
        return {
            "contacts": [orjson.loads(store.json_of("contacts", store.contacts[i])) for i in ids],
            "contact_tags": {i: sorted(store.contacts[i]["_tag_ids"]) for i in ids},
            "contact_companies": {i: sorted(store.contacts[i]["_company_ids"]) for i in ids},
            "contact_segments": {i: sorted(store.contacts[i]["_segment_ids"]) for i in ids},
            "contact_notes": {
                i: [store.notes[n] for n in store.contacts[i]["_note_ids"]]
                for i in ids
                if store.contacts[i]["_note_ids"]
            },
            "deleted_contact_ids": sorted(store.deleted_contact_ids),
            "archived_contact_ids": sorted(store.archived_contact_ids),
            "merged_contact_ids": dict(sorted(store.merged_contact_ids.items())),
            "contact_merges": {
                source: {
                    "target_id": store.merged_contact_ids[source],
                    "source_contact_role": item["source_contact_role"],
                    "merged_at": item["merged_at"],
                }
                for source, item in sorted(store.merge_history.items())
            },
        }
