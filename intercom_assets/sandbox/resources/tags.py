"""Tags: `GET /tags`, tag creation, and tag deletion (which untags every record silently)."""

from typing import Any

from intercom_assets.sandbox import values as v
from intercom_assets.sandbox.churn import Churning
from intercom_assets.sandbox.core import SandboxCore
from intercom_assets.sandbox.endpoints import Call, list_of
from intercom_assets.sandbox.factory import Factory
from intercom_assets.sandbox.resource import Generation, Resource
from intercom_assets.sandbox.store import Record, Store, numeric_id

FIRST_TAG_ID = 7_000_001


def new_tag(f: Factory) -> Record:
    tag_id = f.next_number("tag", FIRST_TAG_ID - 1)
    index = int(tag_id) - FIRST_TAG_ID
    base = v.TAG_NAMES[index % len(v.TAG_NAMES)]
    name = base if index < len(v.TAG_NAMES) else f"{base} {tag_id[-3:]}"
    return {"type": "tag", "id": tag_id, "name": name}


def create_tag(c: Churning, at: int, _: object) -> None:
    c.created("tags", new_tag(c.factory))


def delete_tag(c: Churning, at: int, tag_id: str) -> None:
    c.deleted("tags", tag_id, c.store.remove_tag)


def toggle_tag(c: Churning, tag_ids: list[str]) -> str | None:
    """Remove a random tag (40% when there are any) or add one not yet applied; the tag id
    changed, or None when every tag is applied already."""
    if tag_ids and c.rng.random() < 0.4:
        tag_id = c.pick(tag_ids)
        tag_ids.remove(tag_id)
        return tag_id
    candidates = [t for t in c.store.sorted_ids("tags") if t not in tag_ids]
    if not candidates:
        return None
    tag_id = c.pick(candidates)
    tag_ids.append(tag_id)
    return tag_id


def list_tags(core: SandboxCore, call: Call) -> bytes:
    return list_of(core.store, "tags", {"type": "list"}, "data")


class Tags(Resource):
    """The workspace's tags. Deleting one removes it from every contact, company and
    conversation without moving their `updated_at`."""

    tables = {"tags": True}
    change_kinds = ("tags_created", "tags_deleted")
    routes = (("GET", "/tags", list_tags),)

    def generate(self, g: Generation) -> None:
        for _ in range(g.preset.tags):
            tag = new_tag(g.factory)
            g.store.tags[tag["id"]] = tag
        g.store.reordered("tags")

    def plan_churn(self, c: Churning) -> None:
        tags = list(c.store.sorted_ids("tags"))
        c.plan(c.churn.tag_create, tags, create_tag, size=len(tags))
        c.plan(c.churn.tag_delete, tags, delete_tag)

    def truth(self, store: Store) -> dict[str, Any]:
        return {
            "tags": [store.tags[i] for i in store.sorted_ids("tags")],
            "deleted_tag_ids": sorted(store.deleted_tag_ids, key=numeric_id),
        }
