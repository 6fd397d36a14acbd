"""Simulated time: what changes in a workspace while the clock moves forward."""

import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from intercom_assets.sandbox import values as v
from intercom_assets.sandbox.factory import Factory
from intercom_assets.sandbox.store import Store

DAY = 86_400


@dataclass(frozen=True)
class Churn:
    """Change rates per simulated day, as a share of the current population of each kind.

    Defaults are realistic for a daily load: about 3% of contacts touched a day.
    """

    contact_update: float = 0.02
    contact_create: float = 0.004
    contact_delete: float = 0.0005
    contact_archive: float = 0.0003
    lead_merge: float = 0.002
    """Share of leads merged into a user a day."""
    contact_tag_change: float = 0.005
    """Contacts whose tags change a day; their `updated_at` does not move."""
    contact_note_add: float = 0.002
    """Contacts that get a note a day; their `updated_at` does not move."""
    company_update: float = 0.02
    company_create: float = 0.002
    company_delete: float = 0.0005
    conversation_create: float = 0.01
    conversation_update: float = 0.03
    """Conversations that get new parts (and maybe a state change) a day; `updated_at` moves."""
    event_contacts: float = 0.03
    """Contacts that record new data events a day."""
    event_bumps_contact: float = 0.8
    """Share of those whose `last_seen_at` and `updated_at` move with the event."""
    admin_update: float = 0.02
    admin_create: float = 0.01
    admin_delete: float = 0.005
    tag_create: float = 0.02
    tag_delete: float = 0.005
    segment_update: float = 0.05
    segment_create: float = 0.01
    segment_delete: float = 0.005
    team_update: float = 0.02
    team_delete: float = 0.002


CHANGE_KINDS = (
    "contacts_created", "contacts_updated", "contacts_deleted", "contacts_archived",
    "contacts_merged", "contact_tags_changed", "contact_notes_added", "companies_created",
    "companies_updated", "companies_deleted", "conversations_created", "conversations_updated",
    "events_created", "admins_created", "admins_updated", "admins_deleted", "tags_created",
    "tags_deleted", "segments_created", "segments_updated", "segments_deleted", "teams_updated",
    "teams_deleted",
)  # fmt: skip


@dataclass
class ChangeLog:
    """What one `advance()` changed: the ids touched per kind, in the order applied.

    `contacts_merged` lists merge sources (their targets are in `merges`); `events_created`
    lists each contact once per event; `conversations_updated` lists conversations that got
    new parts. Use `counts` for totals.
    """

    start: int
    end: int
    ids: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in CHANGE_KINDS})
    merges: dict[str, str] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return {kind: len(ids) for kind, ids in self.ids.items()}

    def add(self, kind: str, record_id: str) -> None:
        self.ids[kind].append(record_id)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "counts": self.counts}


Op = tuple[int, int, Callable[..., None], tuple[Any, ...]]


def apply_churn(store: Store, factory: Factory, seconds: int, churn: Churn) -> ChangeLog:
    """Advance the clock by `seconds`, applying changes timed across the interval."""
    start, end = store.now, store.now + seconds
    log = ChangeLog(start, end)
    if seconds <= 0:
        return log
    rng = factory.rng
    days = seconds / DAY
    runner = _Runner(store, factory, log, end, churn)
    ops: list[Op] = []

    def plan(
        rate: float, population: list[str], fn: Callable[..., None], size: int | None = None
    ) -> None:
        expected = rate * (len(population) if size is None else size) * days
        count = int(expected) + (1 if rng.random() < expected - int(expected) else 0)
        for _ in range(count):
            target = population[int(rng.random() * len(population))] if population else None
            ops.append((rng.randint(start + 1, end), len(ops), fn, (target,)))

    contacts = list(store.sorted_ids("contacts"))
    leads = [c for c in contacts if store.contacts[c]["role"] == "lead"]
    companies = list(store.sorted_ids("companies"))
    conversations = list(store.sorted_ids("conversations"))
    admins = [a for a in store.sorted_ids("admins") if a != store.me.get("id")]
    plan(churn.contact_update, contacts, runner.update_contact)
    plan(churn.contact_create, contacts, runner.create_contact)
    plan(churn.contact_delete, contacts, runner.delete_contact)
    plan(churn.contact_archive, contacts, runner.archive_contact)
    plan(churn.lead_merge, leads, runner.merge_lead)
    plan(churn.contact_tag_change, contacts, runner.change_tags)
    plan(churn.contact_note_add, contacts, runner.add_note)
    plan(churn.company_update, companies, runner.update_company)
    plan(churn.company_create, companies, runner.create_company)
    plan(churn.company_delete, companies, runner.delete_company)
    plan(churn.conversation_create, conversations, runner.create_conversation)
    plan(churn.conversation_update, conversations, runner.update_conversation)
    plan(churn.event_contacts, contacts, runner.add_events)
    plan(churn.admin_update, admins, runner.update_admin)
    plan(churn.admin_create, admins, runner.create_admin, size=len(store.admins))
    plan(churn.admin_delete, admins, runner.delete_admin)
    plan(churn.tag_create, list(store.sorted_ids("tags")), runner.create_tag, size=len(store.tags))
    plan(churn.tag_delete, list(store.sorted_ids("tags")), runner.delete_tag)
    segments = list(store.sorted_ids("segments"))
    plan(churn.segment_update, segments, runner.update_segment)
    plan(churn.segment_create, segments, runner.create_segment, size=len(segments))
    plan(churn.segment_delete, segments, runner.delete_segment)
    teams = list(store.sorted_ids("teams"))
    plan(churn.team_update, teams, runner.update_team)
    plan(churn.team_delete, teams, runner.delete_team)

    ops.sort(key=lambda op: (op[0], op[1]))
    for at, _, fn, args in ops:
        fn(at, *args)
    store.now = end
    store.version += 1
    return log


class _Runner:
    """The individual changes; each skips quietly when its target vanished earlier."""

    def __init__(
        self, store: Store, factory: Factory, log: ChangeLog, end: int, churn: Churn
    ) -> None:
        self.store, self.factory, self.log, self.end, self.churn = store, factory, log, end, churn
        self.rng: random.Random = factory.rng
        self._users: list[str] | None = None
        self.pick = factory.pick

    # -- contacts -------------------------------------------------------------------------------

    def update_contact(self, at: int, contact_id: str) -> None:
        contact = self.store.contacts.get(contact_id)
        if contact is None:
            return
        custom = contact["custom_attributes"]
        choice = self.rng.random()
        if choice < 0.3:
            custom["plan"] = self.pick(["free", "starter", "pro", "enterprise"])
        elif choice < 0.5:
            custom["seats"] = self.rng.randrange(1, 500)
            custom["mrr"] = round(self.rng.uniform(0, 5000), 2)
        elif choice < 0.7:
            city, region, country = self.pick(v.PLACES)
            contact["location"] = {
                "type": "location",
                "country": country,
                "region": region,
                "city": city,
            }
        elif choice < 0.85:
            contact["name"] = f"{self.pick(v.FIRST_NAMES)} {self.pick(v.LAST_NAMES)}"
        else:
            contact["unsubscribed_from_emails"] = not contact["unsubscribed_from_emails"]
        contact["last_seen_at"] = at
        contact["updated_at"] = max(contact["updated_at"], at)
        self.store.refresh_contact(contact)
        self.log.add("contacts_updated", contact_id)

    def create_contact(self, at: int, _: object) -> None:
        pool = list(self.store.companies)  # insertion order: deterministic, no sort needed
        contact = self.factory.contact(at, at, pool)
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
        self.store.add_contact(contact)
        self.log.add("contacts_created", contact["id"])

    def delete_contact(self, at: int, contact_id: str) -> None:
        if contact_id in self.store.contacts:
            self.store.remove_contact(contact_id)
            self.store.deleted_contact_ids.add(contact_id)
            self.log.add("contacts_deleted", contact_id)

    def archive_contact(self, at: int, contact_id: str) -> None:
        if contact_id in self.store.contacts:
            self.store.remove_contact(contact_id)
            self.store.archived_contact_ids.add(contact_id)
            self.log.add("contacts_archived", contact_id)

    def merge_lead(self, at: int, lead_id: str) -> None:
        store = self.store
        lead = store.contacts.get(lead_id)
        if self._users is None:  # merge targets: users as of the start of the interval
            self._users = [
                c for c in store.sorted_ids("contacts") if store.contacts[c]["role"] == "user"
            ]
        if lead is None or lead["role"] != "lead" or not self._users:
            return
        for _ in range(20):
            target = store.contacts.get(self.pick(self._users))
            if target is not None:
                break
        else:
            return
        store.remove_contact(lead_id)
        store.merged_contact_ids[lead_id] = target["id"]
        for tag_id in lead["_tag_ids"]:
            if tag_id not in target["_tag_ids"]:
                target["_tag_ids"].append(tag_id)
        target["updated_at"] = max(target["updated_at"], at)
        store.refresh_contact(target)
        self.log.add("contacts_merged", lead_id)
        self.log.merges[lead_id] = target["id"]

    def change_tags(self, at: int, contact_id: str) -> None:
        store = self.store
        contact = store.contacts.get(contact_id)
        if contact is None or not store.tags:
            return
        tag_ids = contact["_tag_ids"]
        if tag_ids and self.rng.random() < 0.4:
            tag_ids.remove(self.pick(tag_ids))
        else:
            candidates = [t for t in store.sorted_ids("tags") if t not in tag_ids]
            if not candidates:
                return
            tag_ids.append(self.pick(candidates))
        store.refresh_contact(contact)  # tags move without an `updated_at` change
        self.log.add("contact_tags_changed", contact_id)

    def add_note(self, at: int, contact_id: str) -> None:
        contact = self.store.contacts.get(contact_id)
        if contact is None:
            return
        note = self.factory.note(contact_id, at)
        self.store.notes[note["id"]] = note
        contact["_note_ids"].insert(0, note["id"])
        self.store.refresh_contact(contact)
        self.log.add("contact_notes_added", contact_id)

    def add_events(self, at: int, contact_id: str) -> None:
        contact = self.store.contacts.get(contact_id)
        if contact is None:
            return
        events = self.store.events.setdefault(contact_id, [])
        taken = {e["created_at"] for e in events[-50:]}
        newest = at
        for _ in range(self.rng.randint(1, 3)):
            moment = at
            while moment in taken and moment < self.end:
                moment += 1
            if moment in taken:
                continue
            taken.add(moment)
            events.append(self.factory.event(contact, moment))
            newest = max(newest, moment)
            self.log.add("events_created", contact_id)
        events.sort(key=lambda e: e["created_at"])
        if self.rng.random() < self.churn.event_bumps_contact:
            contact["last_seen_at"] = max(contact["last_seen_at"] or 0, newest)
            contact["updated_at"] = max(contact["updated_at"], newest)
            self.store.refresh_contact(contact)

    # -- companies ------------------------------------------------------------------------------

    def update_company(self, at: int, company_id: str) -> None:
        company = self.store.companies.get(company_id)
        if company is None:
            return
        company["monthly_spend"] = self.pick([0, 49, 99, 499, 2500, 9900])
        company["session_count"] += self.rng.randrange(1, 50)
        company["custom_attributes"]["account tier"] = self.pick(["gold", "silver", "bronze"])
        company["last_request_at"] = at
        company["updated_at"] = max(company["updated_at"], at)
        self.store.changed("companies", company_id)
        self.log.add("companies_updated", company_id)

    def create_company(self, at: int, _: object) -> None:
        company = self.factory.company(at, at)
        self.store.companies[company["id"]] = company
        self.store.reordered("companies")
        self.log.add("companies_created", company["id"])

    def delete_company(self, at: int, company_id: str) -> None:
        if company_id in self.store.companies:
            self.store.remove_company(company_id)
            self.log.add("companies_deleted", company_id)

    # -- conversations --------------------------------------------------------------------------

    def create_conversation(self, at: int, _: object) -> None:
        store = self.store
        if not store.contacts:
            return
        contact = store.contacts[self.pick(list(store.contacts))]
        conversation = self.factory.conversation(contact, at)
        store.parts[conversation["id"]] = [self.factory.part(conversation, at, "comment")]
        store.conversations[conversation["id"]] = conversation
        store.reordered("conversations")
        store.refresh_conversation(conversation)
        self.log.add("conversations_created", conversation["id"])

    def update_conversation(self, at: int, conversation_id: str) -> None:
        store = self.store
        conversation = store.conversations.get(conversation_id)
        if conversation is None:
            return
        parts = store.parts[conversation_id]
        for _ in range(self.rng.randint(1, 3)):
            parts.append(self.factory.part(conversation, at))
        if self.rng.random() < 0.4:
            closing = conversation["state"] != "closed"
            part = self.factory.part(conversation, at, "close" if closing else "open")
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
        self.log.add("conversations_updated", conversation_id)

    # -- workspace metadata ---------------------------------------------------------------------

    def update_admin(self, at: int, admin_id: str) -> None:
        admin = self.store.admins.get(admin_id)
        if admin is None:
            return
        admin["away_mode_enabled"] = not admin["away_mode_enabled"]
        admin["job_title"] = self.pick(["Support Engineer", "Team Lead", "CSM", "Head of Support"])
        self.store.changed("admins", admin_id)
        self.log.add("admins_updated", admin_id)

    def create_admin(self, at: int, _: object) -> None:
        admin = self.factory.admin()
        self.store.admins[admin["id"]] = admin
        self.store.reordered("admins")
        for team_id in admin["team_ids"]:
            team = self.store.teams.get(str(team_id))
            if team is not None:
                team["admin_ids"].append(int(admin["id"]))
        self.log.add("admins_created", admin["id"])

    def delete_admin(self, at: int, admin_id: str) -> None:
        if admin_id in self.store.admins and admin_id != self.store.me.get("id"):
            self.store.remove_admin(admin_id)
            self.log.add("admins_deleted", admin_id)

    def create_tag(self, at: int, _: object) -> None:
        tag = self.factory.tag()
        self.store.tags[tag["id"]] = tag
        self.store.reordered("tags")
        self.log.add("tags_created", tag["id"])

    def delete_tag(self, at: int, tag_id: str) -> None:
        if tag_id in self.store.tags:
            self.store.remove_tag(tag_id)
            self.log.add("tags_deleted", tag_id)

    def update_segment(self, at: int, segment_id: str) -> None:
        segment = self.store.segments.get(segment_id)
        if segment is None:
            return
        segment["name"] = segment["name"].split(" (")[0] + f" ({self.rng.randrange(100)})"
        segment["updated_at"] = max(segment["updated_at"], at)
        self.store.recompute_company_segments()
        self.store.changed("segments", segment_id)
        self.log.add("segments_updated", segment_id)

    def create_segment(self, at: int, _: object) -> None:
        plan = self.pick(["free", "starter", "pro", "enterprise"])
        segment = self.factory.segment(
            at, ("custom_attributes.plan", plan), f"Plan: {plan}", "user"
        )
        self.store.add_segment(segment)
        self.log.add("segments_created", segment["id"])

    def delete_segment(self, at: int, segment_id: str) -> None:
        if segment_id in self.store.segments:
            self.store.remove_segment(segment_id)
            self.log.add("segments_deleted", segment_id)

    def update_team(self, at: int, team_id: str) -> None:
        team = self.store.teams.get(team_id)
        if team is None:
            return
        team["assignment_limit"] = self.pick([None, 5, 10, 25])
        self.store.changed("teams", team_id)
        self.log.add("teams_updated", team_id)

    def delete_team(self, at: int, team_id: str) -> None:
        if team_id in self.store.teams and len(self.store.teams) > 1:
            self.store.remove_team(team_id)
            self.log.add("teams_deleted", team_id)
