"""News: `GET /news/newsfeeds` and `GET /news/news_items` (each one page holding every record),
and the churn of news items (written, edited, published, deleted)."""

import random
from typing import Any

from intercom_assets.sandbox.churn import Churning
from intercom_assets.sandbox.core import SandboxCore
from intercom_assets.sandbox.endpoints import Call, dumps
from intercom_assets.sandbox.resource import Generation, Resource, own_random
from intercom_assets.sandbox.store import DAY, Record, Store, numeric_id

NEWSFEEDS = ("Messenger", "Visitor Feed", "Customers")
FIRST_NEWSFEED_ID = 68
FIRST_NEWS_ITEM_ID = 29
NEWS_ITEMS = {"tiny": 6, "demo": 24, "bench": 60}
TITLES = ("We have news", "New feature", "Pricing update", "Release notes", "Webinar", "Tips")
LABELS = ("Product Update", "Company", "Event", "Tip")
REACTIONS = ("👍", "❤️", "😄", "🎉")


def paginated(store: Store, kind: str) -> bytes:
    """Every live record of a kind on one page, as Intercom's `paginated_response` (these two
    lists take no paging parameters)."""
    records = [store.tables[kind][i] for i in store.sorted_ids(kind)]
    pages = {"type": "pages", "page": 1, "per_page": max(len(records), 10), "total_pages": 1}
    return dumps({"type": "list", "pages": pages, "data": records, "total_count": len(records)})


def list_newsfeeds(core: SandboxCore, call: Call) -> bytes:
    return paginated(core.store, "newsfeeds")


def list_news_items(core: SandboxCore, call: Call) -> bytes:
    return paginated(core.store, "news_items")


class News(Resource):
    """Newsfeeds (fixed: the API cannot edit them) and news items. A news item is assigned to
    newsfeeds; churn writes drafts, edits them, publishes them to a feed, and deletes some."""

    tables = {"newsfeeds": True, "news_items": True}
    change_kinds = ("news_items_created", "news_items_updated", "news_items_deleted")
    routes = (
        ("GET", "/news/newsfeeds", list_newsfeeds),
        ("GET", "/news/news_items", list_news_items),
    )

    def __init__(self) -> None:
        self.rng = random.Random(0)
        self.last = FIRST_NEWS_ITEM_ID - 1
        self.deleted_ids: set[str] = set()

    def generate(self, g: Generation) -> None:
        self.rng = own_random(g, "news")
        feeds = g.store.add_table("newsfeeds", numeric_ids=True)
        for number, name in enumerate(NEWSFEEDS, start=FIRST_NEWSFEED_ID):
            at = g.start - 400 * DAY + number
            feeds[str(number)] = {
                "type": "newsfeed",
                "id": str(number),
                "name": name,
                "created_at": at,
                "updated_at": at,
            }
        g.store.add_table("news_items", numeric_ids=True)
        for _ in range(NEWS_ITEMS.get(g.size, NEWS_ITEMS["tiny"])):
            at = g.start - self.rng.randint(1, 300) * DAY
            self._add(g.store, at, published=self.rng.random() < 0.7)
        g.store.reordered("newsfeeds")
        g.store.reordered("news_items")

    def _add(self, store: Store, at: int, published: bool) -> Record:
        self.last += 1
        admins = store.sorted_ids("admins")
        item: Record = {
            "type": "news-item",
            "id": str(self.last),
            "workspace_id": store.me.get("app", {}).get("id_code", "sandbox"),
            "title": f"{self.rng.choice(TITLES)} #{self.last}",
            "body": f"<p>News number {self.last}.</p>",
            "sender_id": int(self.rng.choice(admins)) if admins else None,
            "state": "draft",
            "newsfeed_assignments": [],
            "labels": self.rng.sample(LABELS, self.rng.randint(0, 2)),
            "cover_image_url": None,
            "reactions": list(REACTIONS[: self.rng.randint(0, len(REACTIONS))]),
            "deliver_silently": self.rng.random() < 0.2,
            "created_at": at,
            "updated_at": at,
        }
        if published:
            self._publish(store, item, at)
        store.tables["news_items"][item["id"]] = item
        return item

    def _publish(self, store: Store, item: Record, at: int) -> None:
        feed = self.rng.choice(store.sorted_ids("newsfeeds"))
        item["state"] = "live"
        item["newsfeed_assignments"].append({"newsfeed_id": int(feed), "published_at": at})

    def plan_churn(self, c: Churning) -> None:
        ids = list(c.store.sorted_ids("news_items"))
        c.plan(c.rate("news_item_create", 0.05), ids, self.create, rng=self.rng)
        c.plan(c.rate("news_item_update", 0.05), ids, self.update, rng=self.rng)
        c.plan(c.rate("news_item_delete", 0.01), ids, self.delete, rng=self.rng)

    def create(self, c: Churning, at: int, _: object) -> None:
        item = self._add(c.store, at, published=False)
        c.store.reordered("news_items")
        c.log.add("news_items_created", item["id"])

    def update(self, c: Churning, at: int, item_id: str) -> None:
        item = c.store.tables["news_items"].get(item_id)
        if item is None:
            return
        if item["state"] == "draft" and self.rng.random() < 0.5:
            self._publish(c.store, item, at)
        else:
            item["title"] = f"{self.rng.choice(TITLES)} #{item_id} (edited)"
        item["updated_at"] = at
        c.updated("news_items", item_id)

    def delete(self, c: Churning, at: int, item_id: str) -> None:
        def remove(record_id: str) -> None:
            del c.store.tables["news_items"][record_id]
            self.deleted_ids.add(record_id)
            c.store.reordered("news_items")

        c.deleted("news_items", item_id, remove)

    def truth(self, store: Store) -> dict[str, Any]:
        lists = {
            kind: [store.tables[kind][i] for i in sorted(store.tables[kind], key=numeric_id)]
            for kind in ("newsfeeds", "news_items")
        }
        return {**lists, "deleted_news_item_ids": sorted(self.deleted_ids, key=numeric_id)}
