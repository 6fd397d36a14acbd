"""Data events: `GET /events` (list and summary) and the churn that records new events."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from intercom_assets.sandbox import values as v
from intercom_assets.sandbox.churn import Churning
from intercom_assets.sandbox.core import SandboxCore
from intercom_assets.sandbox.endpoints import Call, dumps, flag
from intercom_assets.sandbox.errors import ApiError
from intercom_assets.sandbox.factory import Factory
from intercom_assets.sandbox.pagination import per_page
from intercom_assets.sandbox.resource import Generation, Resource
from intercom_assets.sandbox.store import DAY, Record, Store

RETENTION_SECONDS = 90 * DAY
DEFAULT_EVENTS_PER_PAGE = 15


def listable_events(store: Store, contact_id: str) -> list[Record]:
    """Events of a contact younger than 90 days of the simulated clock, newest first."""
    cutoff = store.now - RETENTION_SECONDS
    return [e for e in reversed(store.events.get(contact_id, ())) if e["created_at"] > cutoff]


def new_event(f: Factory, contact: Record, created_at: int) -> Record:
    rng = f.rng
    event: Record = {
        "type": "event",
        "event_name": f.pick(v.EVENT_NAMES),
        "created_at": created_at,
        "id": f"{rng.getrandbits(96):024x}",
        "intercom_user_id": contact["id"],
        "metadata": {
            "source": f.pick(["web", "ios", "api"]),
            "note": f.pick(v.TRICKY_STRINGS),
        },
    }
    if contact["external_id"]:
        event["user_id"] = contact["external_id"]
    if contact["email"]:
        event["email"] = contact["email"]
    return event


def add_events(c: Churning, at: int, contact_id: str) -> None:
    contact = c.store.contacts.get(contact_id)
    if contact is None:
        return
    events = c.store.events.setdefault(contact_id, [])
    taken = {e["created_at"] for e in events[-50:]}
    newest = at
    for _ in range(c.rng.randint(1, 3)):
        moment = at
        while moment in taken and moment < c.end:
            moment += 1
        if moment in taken:
            continue
        taken.add(moment)
        events.append(new_event(c.factory, contact, moment))
        newest = max(newest, moment)
        c.log.add("events_created", contact_id)
    events.sort(key=lambda e: e["created_at"])
    if c.rng.random() < c.churn.event_bumps_contact:
        contact["last_seen_at"] = max(contact["last_seen_at"] or 0, newest)
        contact["updated_at"] = max(contact["updated_at"], newest)
        c.store.refresh_contact(contact)


IDENTIFIERS = ("user_id", "intercom_user_id", "email")


def list_events(core: SandboxCore, call: Call) -> bytes:
    query, store = call.query, core.store
    if query.get("type") != "user":
        raise ApiError(400, "parameter_invalid", "type must be 'user'")
    given = [name for name in IDENTIFIERS if query.get(name)]
    if len(given) != 1:
        raise ApiError(
            400,
            "parameter_invalid",
            "exactly one of user_id, intercom_user_id or email is required",
        )
    ident = given[0]
    contact = core.find_contact(ident, query[ident])
    if contact is None:
        raise ApiError(404, "not_found", "User Not Found")
    if flag(query, "summary"):
        return dumps(event_summary(store.events.get(contact["id"], []), contact))
    size = per_page(query, DEFAULT_EVENTS_PER_PAGE)
    before = _millis(query, "before")
    since = _millis(query, "since")
    events = [
        e
        for e in listable_events(store, contact["id"])
        if (since is None or e["created_at"] * 1000 > since)
    ]
    newest_ms = events[0]["created_at"] * 1000 if events else (since or store.now * 1000)
    if before is not None:
        events = [e for e in events if e["created_at"] * 1000 < before]
    chunk = events[:size]
    base = {"type": "user", ident: query[ident]}
    pages: dict[str, str] = {}
    if len(events) > size:
        nxt = {**base, "before": chunk[-1]["created_at"] * 1000, "per_page": size}
        if since is not None:
            nxt["since"] = since
        pages["next"] = f"{call.base_url}/events?{urlencode(nxt)}"
    pages["since"] = f"{call.base_url}/events?{urlencode({**base, 'since': newest_ms})}"
    return dumps({"type": "event.list", "events": chunk, "pages": pages})


def event_summary(events: list[Record], contact: Record) -> Record:
    """`event.summary`: per event name its first and last time (ISO 8601) and count, all time."""
    by_name: dict[str, list[int]] = {}
    for event in events:
        by_name.setdefault(event["event_name"], []).append(event["created_at"])
    summary: Record = {"type": "event.summary", "intercom_user_id": contact["id"]}
    if contact["email"]:
        summary["email"] = contact["email"]
    if contact["external_id"]:
        summary["user_id"] = contact["external_id"]
    summary["events"] = [
        {
            "name": name,
            "first": _iso(min(times)),
            "last": _iso(max(times)),
            "count": len(times),
            "description": f"Sandbox event {name!r}",
        }
        for name, times in sorted(by_name.items())
    ]
    return summary


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def _millis(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ApiError(
            400, "parameter_invalid", f"{name} must be a unix time in milliseconds"
        ) from None


class Events(Resource):
    """Data events per contact; a new event moves the contact's `last_seen_at`/`updated_at`
    for a share `Churn.event_bumps_contact` of them."""

    change_kinds = ("events_created",)
    routes = (("GET", "/events", list_events),)

    def generate(self, g: Generation) -> None:
        rng, start = g.rng, g.start
        for contact in list(g.store.contacts.values()):
            if rng.random() < 0.4:
                times = {
                    rng.randint(start - 120 * DAY, start - 1) for _ in range(rng.randint(1, 8))
                }
                g.store.events[contact["id"]] = [
                    new_event(g.factory, contact, t) for t in sorted(times)
                ]

    def plan_churn(self, c: Churning) -> None:
        c.plan(c.churn.event_contacts, list(c.store.sorted_ids("contacts")), add_events)

    def truth(self, store: Store) -> dict[str, Any]:
        return {
            "events": {
                i: events
                for i in store.sorted_ids("contacts")
                if (events := listable_events(store, i))
            }
        }
