"""Generates a deterministic workspace from a seed and a size preset."""

import random
from typing import Any

from intercom_assets.sandbox.factory import (
    APP_ID,
    ARCHIVED_CONTACT_ATTRIBUTE,
    COMPANY_ATTRIBUTES,
    CONTACT_ATTRIBUTES,
    CONVERSATION_ATTRIBUTES,
    Factory,
)
from intercom_assets.sandbox.sizes import SIZES
from intercom_assets.sandbox.store import Record, Store

DAY = 86_400
YEAR = 365 * DAY

SEGMENT_RULES: list[tuple[str, tuple[str, Any], str]] = [
    # (name, rule, person_type); rule ("company", None) marks a company segment.
    ("All users", ("role", "user"), "user"),
    ("All leads", ("role", "lead"), "contact"),
    ("Pro plan", ("custom_attributes.plan", "pro"), "user"),
    ("Unsubscribed", ("unsubscribed_from_emails", True), "user"),
    ("Europe: France", ("location.country", "France"), "user"),
    ("Big accounts", ("company", None), "user"),
    ("Churn watch", ("company", None), "user"),
]


def generate(size: str, seed: int, timezone: str, start: int) -> tuple[Store, Factory]:
    """A whole workspace at simulated time `start`, and the factory that continues it."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    preset = SIZES[size]
    rng = random.Random(seed)
    store = Store(now=start, timezone=timezone)
    factory = Factory(store, rng)
    app_created = start - 6 * YEAR

    for _ in range(preset.teams):
        team = factory.team()
        store.teams[team["id"]] = team
        store.reordered("teams")
    for _ in range(preset.admins):
        admin = factory.admin()
        store.admins[admin["id"]] = admin
        store.reordered("admins")
    link_teams(store)
    store.me = me_record(store, app_created)
    for _ in range(preset.tags):
        tag = factory.tag()
        store.tags[tag["id"]] = tag
        store.reordered("tags")
    for name, rule, person_type in SEGMENT_RULES:
        created = rng.randint(app_created, start - 30 * DAY)
        segment = factory.segment(created, rule, name, person_type)
        segment["updated_at"] = rng.randint(created, start - DAY)
        store.segments[segment["id"]] = segment
    store.data_attributes = data_attributes(rng, store, app_created)

    for created in sorted(
        rng.randint(start - 5 * YEAR, start - DAY) for _ in range(preset.companies)
    ):
        company = factory.company(created, recent(rng, created, start))
        store.companies[company["id"]] = company
    store.reordered("companies")

    company_ids = store.sorted_ids("companies")
    empty = set(rng.sample(company_ids, max(1, len(company_ids) // 20)))
    company_pool = [c for c in company_ids if c not in empty]  # `empty` ones get no users
    tag_ids = sorted(store.tags)
    for index, created in enumerate(
        sorted(rng.randint(start - 5 * YEAR, start - 3600) for _ in range(preset.contacts))
    ):
        contact = factory.contact(created, recent(rng, created, start), company_pool)
        if index % max(preset.contacts // preset.heavy_contacts, 1) == 7 % preset.contacts:
            contact["role"], contact["external_id"] = "user", f"usr_{contact['id'][-10:]}"
            contact["_tag_ids"] = rng.sample(tag_ids, min(len(tag_ids), rng.randint(11, 15)))
            contact["_company_ids"] = rng.sample(
                company_pool, min(len(company_pool), rng.randint(11, 13))
            )
            n_notes = rng.randint(11, 14)
        else:
            n_notes = rng.choice([0] * 8 + [1, 2])
        for note_time in sorted(rng.randint(created, start) for _ in range(n_notes)):
            note = factory.note(contact["id"], note_time)
            store.notes[note["id"]] = note
            contact["_note_ids"].insert(0, note["id"])
        store.add_contact(contact)

    contacts = list(store.contacts.values())
    long_every = max(preset.conversations // max(preset.long_conversations, 1), 1)
    for index in range(preset.conversations):
        contact = rng.choice(contacts)
        created = rng.randint(max(contact["created_at"], start - 2 * YEAR), start - 600)
        conversation = factory.conversation(contact, created)
        if index % long_every == 3 % long_every and index // long_every < preset.long_conversations:
            n_parts = rng.randint(510, 700)
        else:
            n_parts = min(int(rng.paretovariate(1.3)), 300)
        span = min(start - created, 60 * DAY)
        parts = [
            factory.part(conversation, t)
            for t in sorted(rng.randint(created, created + span) for _ in range(n_parts))
        ]
        store.parts[conversation["id"]] = parts
        if parts:
            conversation["updated_at"] = parts[-1]["created_at"]
        store.conversations[conversation["id"]] = conversation
        store.refresh_conversation(conversation)

    for contact in contacts:
        if rng.random() < 0.4:
            times = {rng.randint(start - 120 * DAY, start - 1) for _ in range(rng.randint(1, 8))}
            store.events[contact["id"]] = [factory.event(contact, t) for t in sorted(times)]
    return store, factory


def recent(rng: random.Random, created: int, now: int) -> int:
    """An `updated_at` between `created` and `now`, biased toward `now`."""
    return now - int((now - created) * rng.random() ** 2)


def link_teams(store: Store) -> None:
    """Fill each team's `admin_ids` from the admins' `team_ids`."""
    for team in store.teams.values():
        members = [int(a["id"]) for a in store.admins.values() if int(team["id"]) in a["team_ids"]]
        team["admin_ids"] = members
        team["admin_priority_level"] = {
            "primary_admin_ids": members[:1],
            "secondary_admin_ids": members[1:],
        }


def me_record(store: Store, app_created: int) -> Record:
    """`GET /me`: the token's admin with its app (workspace id, region, time zone)."""
    admin = next(iter(store.admins.values()))
    return {
        "type": "admin",
        "id": admin["id"],
        "name": admin["name"],
        "email": admin["email"],
        "job_title": admin["job_title"],
        "away_mode_enabled": admin["away_mode_enabled"],
        "away_mode_reassign": admin["away_mode_reassign"],
        "has_inbox_seat": admin["has_inbox_seat"],
        "team_ids": admin["team_ids"],
        "avatar": {"type": "avatar", "image_url": admin["avatar"]},
        "email_verified": True,
        "app": {
            "type": "app",
            "id_code": APP_ID,
            "name": "Sandbox Workspace",
            "region": store.region,
            "timezone": store.timezone,
            "created_at": app_created,
            "identity_verification": False,
        },
    }


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
