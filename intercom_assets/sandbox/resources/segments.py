"""Segments: `GET /segments` (with member counts), and segment churn."""

from typing import Any

from intercom_assets.sandbox.churn import Churning
from intercom_assets.sandbox.core import SandboxCore
from intercom_assets.sandbox.endpoints import Call, dumps, flag, one_of
from intercom_assets.sandbox.factory import Factory
from intercom_assets.sandbox.resource import Generation, Resource
from intercom_assets.sandbox.store import DAY, Record, Store, public

APP_AGE = 6 * 365 * DAY
PLANS = ["free", "starter", "pro", "enterprise"]
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


def new_segment(
    f: Factory, created_at: int, rule: tuple[str, Any], name: str, person_type: str
) -> Record:
    """A segment; its private `_rule` (field path, value) decides membership."""
    return {
        "type": "segment",
        "id": f.hex_id(created_at),
        "name": name,
        "created_at": created_at,
        "updated_at": created_at,
        "person_type": person_type,
        "_rule": rule,
    }


def update_segment(c: Churning, at: int, segment_id: str) -> None:
    segment = c.store.segments.get(segment_id)
    if segment is None:
        return
    segment["name"] = segment["name"].split(" (")[0] + f" ({c.rng.randrange(100)})"
    segment["updated_at"] = max(segment["updated_at"], at)
    c.store.recompute_company_segments()
    c.updated("segments", segment_id)


def create_segment(c: Churning, at: int, _: object) -> None:
    plan = c.pick(PLANS)
    segment = new_segment(c.factory, at, ("custom_attributes.plan", plan), f"Plan: {plan}", "user")
    c.store.add_segment(segment)
    c.log.add("segments_created", segment["id"])


def delete_segment(c: Churning, at: int, segment_id: str) -> None:
    c.deleted("segments", segment_id, c.store.remove_segment)


def segment_json(store: Store, segment: Record, with_count: bool) -> Record:
    out = public(segment)
    if with_count:
        out["count"] = store.segment_counts().get(segment["id"], 0)
    return out


SEGMENT_TYPES = ("user", "company")


def is_company_segment(segment: Record) -> bool:
    return bool(segment["_rule"][0] == "company")


def list_segments(core: SandboxCore, call: Call) -> bytes:
    """`GET /segments`: `type=company` lists company segments, `type=user` contact segments;
    without `type` every segment (the description names no default)."""
    with_count = flag(call.query, "include_count")
    kind = one_of(call.query, "type", SEGMENT_TYPES)
    store = core.store
    segments = [
        segment_json(store, segment, with_count)
        for segment in (store.segments[i] for i in store.sorted_ids("segments"))
        if kind is None or is_company_segment(segment) == (kind == "company")
    ]
    return dumps({"type": "segment.list", "segments": segments, "pages": {}})


class Segments(Resource):
    """Contact segments (membership by rule) and company segments (membership drawn at random)."""

    tables = {"segments": False}
    change_kinds = ("segments_created", "segments_updated", "segments_deleted")
    routes = (("GET", "/segments", list_segments),)

    def generate(self, g: Generation) -> None:
        app_created = g.start - APP_AGE
        for name, rule, person_type in SEGMENT_RULES:
            created = g.rng.randint(app_created, g.start - 30 * DAY)
            segment = new_segment(g.factory, created, rule, name, person_type)
            segment["updated_at"] = g.rng.randint(created, g.start - DAY)
            g.store.segments[segment["id"]] = segment
        g.store.reordered("segments")

    def plan_churn(self, c: Churning) -> None:
        segments = list(c.store.sorted_ids("segments"))
        c.plan(c.churn.segment_update, segments, update_segment)
        c.plan(c.churn.segment_create, segments, create_segment, size=len(segments))
        c.plan(c.churn.segment_delete, segments, delete_segment)

    def truth(self, store: Store) -> dict[str, Any]:
        return {
            "segments": [
                segment_json(store, store.segments[i], True) for i in store.sorted_ids("segments")
            ],
            "deleted_segment_ids": sorted(store.deleted_segment_ids),
            "company_segment_ids": sorted(
                i for i in store.sorted_ids("segments") if is_company_segment(store.segments[i])
            ),
        }
