"""Conversations: list, search, a conversation with its parts, and (2.16) the deleted feed;
conversation churn: creations, new parts and state changes (which move `updated_at`), silent tag
changes, and deletions."""

import math
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
    require_version,
    search_route,
    sort_order,
)
from intercom_assets.sandbox.errors import ApiError
from intercom_assets.sandbox.factory import Factory
from intercom_assets.sandbox.pagination import bounded_per_page, positive_int
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
    TEXT,
    SearchModel,
    ids_getter,
    make_fields,
    path_getter,
)
from intercom_assets.sandbox.store import DAY, YEAR, Record, Store, numeric_id
from intercom_assets.sandbox.versions import as_version

DEFAULT_CONVERSATIONS_PER_PAGE = 20
DELETED_FEED_FROM = (2, 16)
"""`GET /conversations/deleted` exists from Intercom-Version 2.16 (and Preview) on."""
DELETED_FEED_PER_PAGE = 20
DELETED_FEED_MAX_PER_PAGE = 60
METRICS_RETAINED_SHARE = 0.5
"""Share of deleted conversations whose reporting metrics are kept (`metrics_retained`)."""


# -- generating -----------------------------------------------------------------------------------


def new_conversation(f: Factory, contact: Record, created_at: int) -> Record:
    rng = f.rng
    conv_id = f.next_number("conversation", 1_000_000)
    admin_id = f.pick_admin_id() if rng.random() < 0.8 else None
    team_id = f.pick(f.store.sorted_ids("teams")) if f.store.teams and rng.random() < 0.5 else None
    tag_ids = f.some_tag_ids()
    state = f.pick(["open", "closed", "closed", "snoozed"])
    author = {
        "type": contact["role"],
        "id": contact["id"],
        "name": contact["name"],
        "email": contact["email"],
    }
    return {
        "type": "conversation",
        "id": conv_id,
        "title": f.pick([None, f.sentence(4)]),
        "created_at": created_at,
        "updated_at": created_at,
        "waiting_since": created_at if state == "open" else None,
        "snoozed_until": created_at + 86_400 if state == "snoozed" else None,
        "open": state != "closed",
        "state": state,
        "read": rng.random() < 0.7,
        "priority": f.pick(["priority", "not_priority", "not_priority"]),
        "admin_assignee_id": int(admin_id) if admin_id else None,
        "team_assignee_id": int(team_id) if team_id else None,
        "tags": {
            "type": "tag.list",
            "tags": [
                {
                    "type": "tag",
                    "id": t,
                    "name": f.store.tags[t]["name"],
                    "applied_at": created_at,
                    "applied_by": {"type": "admin", "id": f.pick_admin_id()},
                }
                for t in tag_ids
            ],
        },
        "conversation_rating": None,
        "source": {
            "type": "conversation",
            "id": f.next_number("source", 400_000_000),
            "delivered_as": "customer_initiated",
            "subject": "",
            "body": f"<p>{f.sentence(12)}</p>",
            "author": author,
            "attachments": [],
            "url": None,
            "redacted": False,
        },
        "contacts": {
            "type": "contact.list",
            "contacts": [
                {"type": "contact", "id": contact["id"], "external_id": contact["external_id"]}
            ],
        },
        "teammates": {
            "type": "admin.list",
            "teammates": [{"type": "admin", "id": admin_id}] if admin_id else [],
        },
        "custom_attributes": {
            "Reason": f.pick(v.TRICKY_STRINGS),
            "ticket.number": rng.randrange(10**5),
        },
        "first_contact_reply": {"created_at": created_at, "type": "conversation", "url": None},
        "statistics": {
            "type": "conversation_statistics",
            "first_contact_reply_at": created_at,
            "count_reopens": 0,
            "count_assignments": 1 if admin_id else 0,
            "count_conversation_parts": 0,
        },
        "linked_objects": {"type": "list", "total_count": 0, "has_more": False, "data": []},
        "ai_agent_participated": False,
        "_company_id": contact["_company_ids"][0] if contact["_company_ids"] else None,
        "_tag_ids": tag_ids,
        "_contact_ids": [contact["id"]],
        "_teammate_ids": [admin_id] if admin_id else [],
    }


def new_part(
    f: Factory, conversation: Record, created_at: int, part_type: str | None = None
) -> Record:
    rng = f.rng
    part_type = part_type or f.pick(["comment", "comment", "comment", "note", "assignment"])
    from_admin = part_type != "comment" or rng.random() < 0.5
    if from_admin:
        admin = f.store.admins[f.pick_admin_id()]
        author = {
            "type": "admin",
            "id": admin["id"],
            "name": admin["name"],
            "email": admin["email"],
        }
    else:
        author = dict(conversation["source"]["author"])
        if not author["email"]:
            author.pop("email")
    part: Record = {
        "type": "conversation_part",
        "id": f.next_number("part", 9_000_000_000),
        "part_type": part_type,
        "body": f"<p>{f.sentence()}</p>" if part_type in ("comment", "note") else None,
        "created_at": created_at,
        "updated_at": created_at,
        "notified_at": created_at,
        "author": author,
        "attachments": [],
        "external_id": None,
        "redacted": False,
        "tags": [],
        "app_package_code": None,
    }
    if part_type == "assignment":
        part["assigned_to"] = {"type": "admin", "id": f.pick_admin_id()}
    if part_type in ("open", "close"):
        part["state"] = "open" if part_type == "open" else "closed"
    return part


# -- churn ----------------------------------------------------------------------------------------


def create_conversation(c: Churning, at: int, _: object) -> None:
    store = c.store
    if not store.contacts:
        return
    contact = store.contacts[c.pick(list(store.contacts))]
    conversation = new_conversation(c.factory, contact, at)
    store.parts[conversation["id"]] = [new_part(c.factory, conversation, at, "comment")]
    store.conversations[conversation["id"]] = conversation
    store.reordered("conversations")
    store.refresh_conversation(conversation)
    c.log.add("conversations_created", conversation["id"])


def update_conversation(c: Churning, at: int, conversation_id: str) -> None:
    store = c.store
    conversation = store.conversations.get(conversation_id)
    if conversation is None:
        return
    parts = store.parts[conversation_id]
    for _ in range(c.rng.randint(1, 3)):
        parts.append(new_part(c.factory, conversation, at))
    if c.rng.random() < 0.4:
        closing = conversation["state"] != "closed"
        part = new_part(c.factory, conversation, at, "close" if closing else "open")
        parts.append(part)
        conversation["state"] = "closed" if closing else "open"
        conversation["open"] = not closing
        conversation["waiting_since"] = None if closing else at
        conversation["snoozed_until"] = None
        stats = conversation["statistics"]
        if closing:
            stats["last_close_at"] = at
        else:
            stats["count_reopens"] = stats.get("count_reopens", 0) + 1
    conversation["updated_at"] = max(conversation["updated_at"], at)
    store.refresh_conversation(conversation)
    c.log.add("conversations_updated", conversation_id)


def change_conversation_tags(c: Churning, at: int, conversation_id: str) -> None:
    """Tag or untag a conversation; its `updated_at` does not move (as in Intercom)."""
    store = c.store
    conversation = store.conversations.get(conversation_id)
    if conversation is None or not store.tags:
        return
    if toggle_tag(c, conversation["_tag_ids"]) is None:
        return
    applied = {t["id"]: t for t in conversation["tags"]["tags"]}
    conversation["tags"]["tags"] = [
        applied.get(t) or tag_entry(store, t, at, c.factory.pick_admin_id())
        for t in conversation["_tag_ids"]
    ]
    store.changed("conversations", conversation_id)
    c.log.add("conversation_tags_changed", conversation_id)


def tag_entry(store: Store, tag_id: str, applied_at: int, admin_id: str) -> Record:
    """A tag as a conversation embeds it: with when and by whom it was applied."""
    return {
        "type": "tag",
        "id": tag_id,
        "name": store.tags[tag_id]["name"],
        "applied_at": applied_at,
        "applied_by": {"type": "admin", "id": admin_id},
    }


def delete_conversation(c: Churning, at: int, conversation_id: str) -> None:
    """Delete a conversation: 404 on GET, gone from list and search, listed by the 2.16 feed."""
    store = c.store
    if conversation_id not in store.conversations:
        return
    del store.conversations[conversation_id]
    del store.parts[conversation_id]
    store.reordered("conversations")
    store.changed("conversations", conversation_id)
    store.deleted_conversations[conversation_id] = {
        "type": "conversation",
        "id": conversation_id,
        "metrics_retained": c.rng.random() < METRICS_RETAINED_SHARE,
        "deleted_at": at,
    }
    c.log.add("conversations_deleted", conversation_id)


# -- search fields --------------------------------------------------------------------------------


_STAT_DATES = [
    "first_contact_reply_at",
    "first_assignment_at",
    "first_admin_reply_at",
    "first_close_at",
    "last_assignment_at",
    "last_assignment_admin_reply_at",
    "last_contact_reply_at",
    "last_admin_reply_at",
    "last_close_at",
]
_STAT_INTEGERS = [
    "time_to_assignment",
    "time_to_admin_reply",
    "time_to_first_close",
    "time_to_last_close",
    "median_time_to_reply",
    "count_reopens",
    "count_assignments",
    "count_conversation_parts",
    "handling_time",
    "adjusted_handling_time",
]
SEARCH_FIELDS = make_fields(
    {
        **dict.fromkeys(
            [
                "id",
                "source.type",
                "source.id",
                "source.delivered_as",
                "source.subject",
                "source.author.id",
                "source.author.type",
                "source.author.name",
                "source.author.email",
                "source.url",
                "channel_initiated",
                "state",
                "priority",
                "statistics.last_closed_by_id",
                "conversation_rating.remark",
                *(
                    f"ai_agent.{f}"
                    for f in (
                        "resolution_state",
                        "last_answer_type",
                        "rating_remark",
                        "source_type",
                        "source_title",
                    )
                ),
            ],
            STRING,
        ),
        **dict.fromkeys(["created_at", "updated_at", "waiting_since", "snoozed_until"], DATE),
        **dict.fromkeys([f"statistics.{f}" for f in _STAT_DATES], DATE),
        **dict.fromkeys([f"statistics.{f}" for f in _STAT_INTEGERS], INTEGER),
        **dict.fromkeys(["admin_assignee_id", "team_assignee_id", "ai_agent.rating"], INTEGER),
        **dict.fromkeys(["open", "read", "ai_agent_participated"], BOOLEAN),
    },
    **{"source.body": (TEXT, path_getter("source.body"))},
    contact_ids=(IDS, ids_getter("_contact_ids", "contacts", "contacts")),
    teammate_ids=(IDS, ids_getter("_teammate_ids", "teammates", "teammates")),
    tag_ids=(IDS, ids_getter("_tag_ids", "tags", "tags")),
    **{
        "conversation_rating.score": (INTEGER, path_getter("conversation_rating.rating")),
        "conversation_rating.contact_id": (STRING, path_getter("conversation_rating.contact.id")),
        "conversation_rating.admin_d": (STRING, path_getter("conversation_rating.teammate.id")),
    },
)
SEARCH = SearchModel(
    "conversation",
    SEARCH_FIELDS,
    operators={
        STRING: SCALAR_OPS | STRING_OPS,
        INTEGER: SCALAR_OPS | ORDER_OPS,
        DATE: SCALAR_OPS | ORDER_OPS,
        BOOLEAN: SCALAR_OPS,
        IDS: SCALAR_OPS | STRING_OPS,
        TEXT: SCALAR_OPS | STRING_OPS,
    },
    default_per_page=DEFAULT_CONVERSATIONS_PER_PAGE,
    # Live Intercom orders conversation ids (`id > ""` matches every conversation: a
    # production connector sends it on every run, though the description lists no order on it).
    field_operators={"id": SCALAR_OPS | STRING_OPS | ORDER_OPS},
)


# -- endpoints ------------------------------------------------------------------------------------


def list_conversations(core: SandboxCore, call: Call) -> bytes:
    ids = core.store.sorted_ids("conversations")
    return cursor_page(
        core,
        call,
        "conversations",
        ids,
        "conversations",
        {"type": "conversation.list"},
        DEFAULT_CONVERSATIONS_PER_PAGE,
    )


def get_conversation(core: SandboxCore, call: Call) -> bytes:
    conversation = core.store.conversations.get(call.params["id"])
    if conversation is None:
        raise ApiError(404, "not_found", "Resource Not Found")
    body = core.store.conversation_with_parts(conversation)
    return dumps(as_version("conversations", body, conversation, call.version))


def list_deleted_conversations(core: SandboxCore, call: Call) -> bytes:
    """`GET /conversations/deleted` (2.16): deleted conversations by `deleted_at`, page numbers,
    `pages.next` a URL (absent on the last page)."""
    require_version(call, DELETED_FEED_FROM)
    query = call.query
    size = bounded_per_page(query.get("per_page"), DELETED_FEED_PER_PAGE, DELETED_FEED_MAX_PER_PAGE)
    page = positive_int(query, "page", 1)
    order = sort_order(query)
    entries = sorted(
        core.store.deleted_conversations.values(),
        key=lambda e: (e["deleted_at"], numeric_id(e["id"])),
        reverse=order == "desc",
    )
    total_pages = math.ceil(len(entries) / size)
    pages: dict[str, object] = {"type": "pages"}
    if page < total_pages:
        params = {"per_page": size, "order": order, "page": page + 1}
        pages["next"] = f"{call.base_url}/conversations/deleted?{urlencode(params)}"
    pages.update(page=page, per_page=size, total_pages=total_pages)
    return dumps(
        {
            "type": "conversations.list",
            "total_count": len(entries),
            "pages": pages,
            "conversations": entries[(page - 1) * size : page * size],
        }
    )


class Conversations(Resource):
    """Conversations and their parts."""

    tables = {"conversations": True}
    change_kinds = (
        "conversations_created", "conversations_updated", "conversation_tags_changed",
        "conversations_deleted",
    )  # fmt: skip
    routes = (
        ("GET", "/conversations", list_conversations),
        (
            "POST",
            "/conversations/search",
            search_route(SEARCH, "conversations", {"type": "conversation.list"}, "conversations"),
        ),
        ("GET", "/conversations/deleted", list_deleted_conversations),
        ("GET", "/conversations/{id}", get_conversation),
    )

    def generate(self, g: Generation) -> None:
        store, factory, rng, start, preset = g.store, g.factory, g.rng, g.start, g.preset
        contacts = list(store.contacts.values())
        long_every = max(preset.conversations // max(preset.long_conversations, 1), 1)
        for index in range(preset.conversations):
            contact = rng.choice(contacts)
            created = rng.randint(max(contact["created_at"], start - 2 * YEAR), start - 600)
            conversation = new_conversation(factory, contact, created)
            is_long = index % long_every == 3 % long_every
            if is_long and index // long_every < preset.long_conversations:
                n_parts = rng.randint(510, 700)
            else:
                n_parts = min(int(rng.paretovariate(1.3)), 300)
            span = min(start - created, 60 * DAY)
            parts = [
                new_part(factory, conversation, t)
                for t in sorted(rng.randint(created, created + span) for _ in range(n_parts))
            ]
            store.parts[conversation["id"]] = parts
            if parts:
                conversation["updated_at"] = parts[-1]["created_at"]
            store.conversations[conversation["id"]] = conversation
            store.refresh_conversation(conversation)
        store.reordered("conversations")

    def plan_churn(self, c: Churning) -> None:
        churn = c.churn
        conversations = list(c.store.sorted_ids("conversations"))
        c.plan(churn.conversation_create, conversations, create_conversation)
        c.plan(churn.conversation_update, conversations, update_conversation)
        c.plan(churn.conversation_tag_change, conversations, change_conversation_tags)
        c.plan(churn.conversation_delete, conversations, delete_conversation)

    def truth(self, store: Store) -> dict[str, Any]:
        ids = store.sorted_ids("conversations")
        conversations = [store.conversations[i] for i in ids]
        deleted = sorted(store.deleted_conversations, key=numeric_id)
        return {
            "conversations": [
                orjson.loads(store.json_of("conversations", c)) for c in conversations
            ],
            "conversation_parts": {
                c["id"]: store.conversation_with_parts(c)["conversation_parts"][
                    "conversation_parts"
                ]
                for c in conversations
            },
            "conversation_part_counts": {i: len(store.parts[i]) for i in ids},
            "all_conversation_parts": {i: list(store.parts[i]) for i in ids},
            "conversation_companies": {c["id"]: c["_company_id"] for c in conversations},
            "deleted_conversation_ids": deleted,
            "deleted_conversations": [store.deleted_conversations[i] for i in deleted],
        }
