"""Makes one realistic, API-shaped record at a time (used by the generator and by churn)."""

import random
import unicodedata
from collections.abc import Sequence
from typing import Any, TypeVar

from intercom_assets.sandbox import values as v
from intercom_assets.sandbox.store import Record, Store

T = TypeVar("T")

APP_ID = "sbx1a2b3"

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


class Factory:
    """Builds records from one `random.Random` so a seed gives the same workspace."""

    def __init__(self, store: Store, rng: random.Random) -> None:
        self.store = store
        self.rng = rng
        self._counters: dict[str, int] = {}
        self._used_hex: set[str] = set()

    def pick(self, items: Sequence[T]) -> T:
        """One item at random (a faster `random.choice`)."""
        return items[int(self.rng.random() * len(items))]

    def next_number(self, kind: str, base: int) -> str:
        n = self._counters.get(kind, base) + 1
        self._counters[kind] = n
        return str(n)

    def hex_id(self, created_at: int) -> str:
        """An id shaped like Intercom's: 8 hex digits of creation time, 16 random."""
        while True:
            candidate = f"{created_at:08x}{self.rng.getrandbits(64):016x}"
            if candidate not in self._used_hex:
                self._used_hex.add(candidate)
                return candidate

    def pick_admin_id(self) -> str:
        return self.pick(self.store.sorted_ids("admins")) if self.store.admins else "0"

    # -- workspace metadata ---------------------------------------------------------------------

    def admin(self) -> Record:
        rng = self.rng
        admin_id = self.next_number("admin", 991_200_000)
        name = f"{self.pick(v.FIRST_NAMES)} {self.pick(v.LAST_NAMES)}"
        team_ids = sorted(
            int(t)
            for t in rng.sample(self.store.sorted_ids("teams"), min(2, len(self.store.teams)))
        )
        return {
            "type": "admin",
            "id": admin_id,
            "name": name,
            "email": f"admin{admin_id}@sandbox-company.test",
            "job_title": self.pick(["Support Engineer", "Account Manager", "Founder", "CSM", ""]),
            "away_mode_enabled": rng.random() < 0.1,
            "away_mode_reassign": rng.random() < 0.1,
            "away_status_reason_id": None,
            "has_inbox_seat": rng.random() < 0.9,
            "team_ids": team_ids,
            "avatar": f"https://static.sandbox.test/avatars/{admin_id}.png"
            if rng.random() < 0.7
            else None,
            "team_priority_level": {
                "primary_team_ids": team_ids[:1],
                "secondary_team_ids": team_ids[1:],
            },
        }

    def team(self) -> Record:
        team_id = self.next_number("team", 8_100_000)
        return {
            "type": "team",
            "id": team_id,
            "name": self.pick(["Support", "Sales", "Billing", "Success", "Ops"])
            + f" {team_id[-2:]}",
            "admin_ids": [],
            "admin_priority_level": {"primary_admin_ids": [], "secondary_admin_ids": []},
            "assignment_limit": self.pick([None, 10, 25]),
            "distribution_method": self.pick(["round_robin", "balanced", None]),
        }

    def tag(self) -> Record:
        tag_id = self.next_number("tag", 7_000_000)
        base = v.TAG_NAMES[(int(tag_id) - 7_000_001) % len(v.TAG_NAMES)]
        name = base if int(tag_id) - 7_000_001 < len(v.TAG_NAMES) else f"{base} {tag_id[-3:]}"
        return {"type": "tag", "id": tag_id, "name": name}

    def segment(
        self, created_at: int, rule: tuple[str, Any], name: str, person_type: str
    ) -> Record:
        return {
            "type": "segment",
            "id": self.hex_id(created_at),
            "name": name,
            "created_at": created_at,
            "updated_at": created_at,
            "person_type": person_type,
            "_rule": rule,
        }

    # -- companies ------------------------------------------------------------------------------

    def company(self, created_at: int, updated_at: int) -> Record:
        rng = self.rng
        number = self.next_number("company", 0)
        plan_id, plan_name = self.pick(v.PLANS)
        name = f"{self.pick(v.COMPANY_WORDS)} {self.pick(v.COMPANY_SUFFIXES)}"
        slug = "".join(ch for ch in name.split()[0].lower() if ch.isascii() and ch.isalnum())
        tag_ids = rng.sample(
            self.store.sorted_ids("tags"), min(len(self.store.tags), self.pick([0, 0, 1, 2]))
        )
        company_segments = sorted(
            s for s, seg in self.store.segments.items() if seg["_rule"][0] == "company"
        )
        segment_ids = [s for s in company_segments if rng.random() < 0.3]
        custom = {
            "account tier": self.pick(["gold", "silver", "bronze"]),
            "région": self.pick(v.PLACES)[1],
            "from": self.pick(v.TRICKY_STRINGS),
            "crm.id": f"CRM-{rng.randrange(10**6):06d}",
        }
        company = {
            "type": "company",
            "id": self.hex_id(created_at),
            "name": name,
            "app_id": APP_ID,
            "plan": {"type": "plan", "id": plan_id, "name": plan_name},
            "company_id": f"cmp-{int(number):06d}",
            "remote_created_at": created_at - rng.randrange(0, 86_400 * 30),
            "created_at": created_at,
            "updated_at": updated_at,
            "last_request_at": rng.randint(created_at, updated_at),
            "size": self.pick([1, 5, 10, 50, 200, 1000]),
            "website": f"https://www.{slug}-{number}.test",
            "industry": self.pick(v.INDUSTRIES),
            "monthly_spend": self.pick([0, 49, 99, 499, 2500]),
            "session_count": rng.randrange(0, 5000),
            "user_count": 0,
            "custom_attributes": custom,
            "_tag_ids": tag_ids,
            "_segment_ids": segment_ids,
        }
        self.store.refresh_company(company)
        return company

    # -- contacts -------------------------------------------------------------------------------

    def contact(
        self, created_at: int, updated_at: int, company_pool: list[str], role: str | None = None
    ) -> Record:
        rng = self.rng
        role = role or ("user" if rng.random() < 0.7 else "lead")
        cid = self.hex_id(created_at)
        first, last = self.pick(v.FIRST_NAMES), self.pick(v.LAST_NAMES)
        has_email = role == "user" or rng.random() < 0.6
        plain = unicodedata.normalize("NFKD", f"{first}.{last}".lower())
        local = "".join(ch for ch in plain if ch.isascii() and (ch.isalnum() or ch == ".")) or "x"
        domain = self.pick(v.EMAIL_DOMAINS)
        email = f"{local}.{cid[-6:]}@{domain}" if has_email else ""
        city, region, country = self.pick(v.PLACES)
        browser, browser_version = self.pick(v.BROWSERS)
        seen = rng.randint(created_at, updated_at) if rng.random() < 0.85 else None
        mobile = rng.random() < 0.15
        custom: dict[str, Any] = {
            "plan": self.pick(["free", "starter", "pro", "enterprise"]),
            "seats": rng.randrange(1, 500),
            "mrr": round(rng.uniform(0, 5000), 2),
            "beta_tester": rng.random() < 0.2,
            "trial_ends_at": created_at + 14 * 86_400,
            "favourite colour": self.pick(["blue", "vert", "rouge", "紫", None]),
            "ville préférée": self.pick(v.PLACES)[0],
            'it\'s "quoted"': self.pick(v.TRICKY_STRINGS),
            "select": self.pick(["from", "where", "group by", "1; DROP TABLE x"]),
            "order.total": round(rng.uniform(0, 999), 2),
        }
        n_companies = self.pick([0, 1, 1, 1, 2]) if role == "user" else 0
        company_ids = rng.sample(company_pool, min(n_companies, len(company_pool)))
        n_tags = self.pick([0, 0, 0, 1, 1, 2, 3])
        tag_ids = rng.sample(self.store.sorted_ids("tags"), min(n_tags, len(self.store.tags)))
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
            "owner_id": int(self.pick_admin_id()) if rng.random() < 0.5 else None,
            "has_hard_bounced": rng.random() < 0.02,
            "marked_email_as_spam": rng.random() < 0.01,
            "unsubscribed_from_emails": rng.random() < 0.1,
            "created_at": created_at,
            "updated_at": updated_at,
            "signed_up_at": created_at if role == "user" else None,
            "last_seen_at": seen,
            "last_replied_at": rng.randint(created_at, updated_at) if rng.random() < 0.3 else None,
            "last_contacted_at": rng.randint(created_at, updated_at)
            if rng.random() < 0.4
            else None,
            "last_email_opened_at": rng.randint(created_at, updated_at)
            if rng.random() < 0.3
            else None,
            "last_email_clicked_at": rng.randint(created_at, updated_at)
            if rng.random() < 0.1
            else None,
            "language_override": self.pick([None, None, None, "fr", "de"]),
            "browser": browser,
            "browser_version": browser_version,
            "browser_language": self.pick(v.LANGUAGES),
            "os": self.pick(v.OSES),
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

    def note(self, contact_id: str, created_at: int) -> Record:
        admin = self.store.admins[self.pick_admin_id()]
        return {
            "type": "note",
            "id": self.next_number("note", 0),
            "created_at": created_at,
            "contact": {"type": "contact", "id": contact_id},
            "author": {
                k: admin[k]
                for k in ("type", "id", "name", "email", "away_mode_enabled", "away_mode_reassign")
            },
            "body": f"<p>{self.sentence()}</p>",
        }

    # -- conversations --------------------------------------------------------------------------

    def sentence(self, words: int = 8) -> str:
        return " ".join(self.pick(v.WORDS) for _ in range(words))

    def conversation(self, contact: Record, created_at: int) -> Record:
        rng = self.rng
        conv_id = self.next_number("conversation", 1_000_000)
        admin_id = self.pick_admin_id() if rng.random() < 0.8 else None
        team_id = (
            self.pick(self.store.sorted_ids("teams"))
            if self.store.teams and rng.random() < 0.5
            else None
        )
        tag_ids = rng.sample(
            self.store.sorted_ids("tags"), min(len(self.store.tags), self.pick([0, 0, 1, 2]))
        )
        state = self.pick(["open", "closed", "closed", "snoozed"])
        author = {
            "type": contact["role"],
            "id": contact["id"],
            "name": contact["name"],
            "email": contact["email"],
        }
        return {
            "type": "conversation",
            "id": conv_id,
            "title": self.pick([None, self.sentence(4)]),
            "created_at": created_at,
            "updated_at": created_at,
            "waiting_since": created_at if state == "open" else None,
            "snoozed_until": created_at + 86_400 if state == "snoozed" else None,
            "open": state != "closed",
            "state": state,
            "read": rng.random() < 0.7,
            "priority": self.pick(["priority", "not_priority", "not_priority"]),
            "admin_assignee_id": int(admin_id) if admin_id else None,
            "team_assignee_id": int(team_id) if team_id else None,
            "tags": {
                "type": "tag.list",
                "tags": [
                    {
                        "type": "tag",
                        "id": t,
                        "name": self.store.tags[t]["name"],
                        "applied_at": created_at,
                        "applied_by": {"type": "admin", "id": self.pick_admin_id()},
                    }
                    for t in tag_ids
                ],
            },
            "conversation_rating": None,
            "source": {
                "type": "conversation",
                "id": self.next_number("source", 400_000_000),
                "delivered_as": "customer_initiated",
                "subject": "",
                "body": f"<p>{self.sentence(12)}</p>",
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
                "Reason": self.pick(v.TRICKY_STRINGS),
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
            "_tag_ids": tag_ids,
            "_contact_ids": [contact["id"]],
            "_teammate_ids": [admin_id] if admin_id else [],
        }

    def part(self, conversation: Record, created_at: int, part_type: str | None = None) -> Record:
        rng = self.rng
        part_type = part_type or self.pick(["comment", "comment", "comment", "note", "assignment"])
        from_admin = part_type != "comment" or rng.random() < 0.5
        if from_admin:
            admin = self.store.admins[self.pick_admin_id()]
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
            "id": self.next_number("part", 9_000_000_000),
            "part_type": part_type,
            "body": f"<p>{self.sentence()}</p>" if part_type in ("comment", "note") else None,
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
            part["assigned_to"] = {"type": "admin", "id": self.pick_admin_id()}
        if part_type in ("open", "close"):
            part["state"] = "open" if part_type == "open" else "closed"
        return part

    def event(self, contact: Record, created_at: int) -> Record:
        rng = self.rng
        event: Record = {
            "type": "event",
            "event_name": self.pick(v.EVENT_NAMES),
            "created_at": created_at,
            "id": f"{rng.getrandbits(96):024x}",
            "intercom_user_id": contact["id"],
            "metadata": {
                "source": self.pick(["web", "ios", "api"]),
                "note": self.pick(v.TRICKY_STRINGS),
            },
        }
        if contact["external_id"]:
            event["user_id"] = contact["external_id"]
        if contact["email"]:
            event["email"] = contact["email"]
        return event
