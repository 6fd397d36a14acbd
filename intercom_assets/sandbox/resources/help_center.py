"""The help center: `GET /help_center/help_centers`, `/help_center/collections`, `/articles`,
and their churn (articles written, edited, unpublished and deleted; collections renamed).

Collections and articles are listed newest `updated_at` first, in numbered pages, as the
description says.
"""

import math
import random
from collections.abc import Callable
from typing import Any

from intercom_assets.sandbox.churn import Churning
from intercom_assets.sandbox.core import SandboxCore
from intercom_assets.sandbox.endpoints import Call, dumps
from intercom_assets.sandbox.factory import APP_ID
from intercom_assets.sandbox.pagination import per_page, positive_int
from intercom_assets.sandbox.resource import Generation, Resource, own_random
from intercom_assets.sandbox.store import DAY, Record, Store, numeric_id

ARTICLES_PER_SIZE = {"tiny": 8, "demo": 40, "bench": 400}
COLLECTIONS = ["Getting started", "Billing", "Integrations", "Account", "Troubleshooting"]
WORDS = ["set", "up", "your", "account", "invoice", "team", "export", "data", "login", "plan"]
DEFAULT_PER_PAGE = 50


def _title(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(4)).capitalize()


def new_help_center(number: int, created_at: int) -> Record:
    return {
        "id": str(number),
        "workspace_id": APP_ID,
        "created_at": created_at,
        "updated_at": created_at,
        "identifier": f"help-{number}",
        "website_turned_on": True,
        "display_name": f"Help center {number}",
        "url": f"https://help.sandbox.test/{number}",
        "custom_domain": None,
    }


def new_collection(
    rng: random.Random, number: int, created_at: int, help_center_id: str, parent_id: str | None
) -> Record:
    name = COLLECTIONS[number % len(COLLECTIONS)]
    return {
        "id": str(number),
        "workspace_id": APP_ID,
        "name": name,
        "description": f"All about {name.lower()}",
        "created_at": created_at,
        "updated_at": created_at,
        "url": f"https://help.sandbox.test/collections/{number}",
        "icon": rng.choice(["book-bookmark", "cog", None]),
        "order": number % 7,
        "default_locale": "en",
        "translated_content": None,
        "parent_id": parent_id,
        "help_center_id": int(help_center_id),
    }


def new_article(
    rng: random.Random, number: int, created_at: int, author_id: str, collection_id: str
) -> Record:
    return {
        "type": "article",
        "id": str(number),
        "workspace_id": APP_ID,
        "title": _title(rng),
        "description": _title(rng),
        "body": f"<p>{_title(rng)}.</p>",
        "author_id": int(author_id),
        "state": rng.choice(["published", "published", "draft"]),
        "created_at": created_at,
        "updated_at": created_at,
        "url": f"https://help.sandbox.test/articles/{number}",
        "parent_id": int(collection_id),
        "parent_ids": [int(collection_id)],
        "parent_type": "collection",
        "default_locale": "en",
        "translated_content": None,
    }


def newest_first(store: Store, kind: str) -> list[Record]:
    table = store.tables[kind]
    return sorted(table.values(), key=lambda r: (-r["updated_at"], numeric_id(r["id"])))


def numbered_page(call: Call, records: list[Record]) -> bytes:
    size = per_page(call.query, DEFAULT_PER_PAGE)
    page = positive_int(call.query, "page", 1)
    chunk = records[(page - 1) * size : page * size]
    pages = {
        "type": "pages",
        "page": page,
        "per_page": size,
        "total_pages": max(math.ceil(len(records) / size), 1),
    }
    return dumps({"type": "list", "data": chunk, "total_count": len(records), "pages": pages})


def list_help_centers(core: SandboxCore, call: Call) -> bytes:
    store = core.store
    table = store.tables["help_centers"]
    return dumps({"type": "list", "data": [table[i] for i in store.sorted_ids("help_centers")]})


def list_collections(core: SandboxCore, call: Call) -> bytes:
    return numbered_page(call, newest_first(core.store, "help_center_collections"))


def list_articles(core: SandboxCore, call: Call) -> bytes:
    return numbered_page(call, newest_first(core.store, "articles"))


class HelpCenter(Resource):
    """One or two help centers, their collections (some nested) and articles."""

    tables = {"help_centers": True, "help_center_collections": True, "articles": True}
    change_kinds = (
        "articles_created", "articles_updated", "articles_deleted",
        "help_center_collections_updated",
    )  # fmt: skip
    routes = (
        ("GET", "/help_center/help_centers", list_help_centers),
        ("GET", "/help_center/collections", list_collections),
        ("GET", "/articles", list_articles),
    )

    def __init__(self) -> None:
        self.rng = random.Random(0)
        self.last = 0
        self.deleted_articles: set[str] = set()

    def next_id(self) -> int:
        self.last += 1
        return 5_500_000 + self.last

    def generate(self, g: Generation) -> None:
        rng = self.rng = own_random(g, "help_center")
        store = g.store
        centers = store.tables["help_centers"]
        collections = store.tables["help_center_collections"]
        for _ in range(rng.choice([1, 2])):
            center = new_help_center(self.next_id(), g.start - rng.randint(400, 900) * DAY)
            centers[center["id"]] = center
        for index in range(len(COLLECTIONS) + 1):
            center_id = rng.choice(sorted(centers))
            parents = sorted(collections) if index > 3 else []
            created = g.start - rng.randint(100, 400) * DAY
            parent = rng.choice(parents) if parents and rng.random() < 0.5 else None
            collection = new_collection(rng, self.next_id(), created, center_id, parent)
            if parent is not None:
                collection["help_center_id"] = collections[parent]["help_center_id"]
            collection["updated_at"] = rng.randint(created, g.start - DAY)
            collections[collection["id"]] = collection
        admins = store.sorted_ids("admins")
        for _ in range(ARTICLES_PER_SIZE.get(g.size, 8)):
            created = g.start - rng.randint(2, 300) * DAY
            article = new_article(
                rng, self.next_id(), created, rng.choice(admins), rng.choice(sorted(collections))
            )
            article["updated_at"] = rng.randint(created, g.start - 3600)
            store.tables["articles"][article["id"]] = article
        for kind in self.tables:
            store.reordered(kind)

    def plan_churn(self, c: Churning) -> None:
        articles = list(c.store.sorted_ids("articles"))
        c.plan(c.churn.article_update, articles, self.update_article, rng=self.rng)
        c.plan(c.churn.article_create, articles, self.create_article, rng=self.rng)
        c.plan(c.churn.article_delete, articles, self.delete_article, rng=self.rng)
        collections = list(c.store.sorted_ids("help_center_collections"))
        c.plan(c.churn.collection_update, collections, self.update_collection, rng=self.rng)

    def update_article(self, c: Churning, at: int, article_id: str) -> None:
        article = c.store.tables["articles"].get(article_id)
        if article is None:
            return
        article["title"] = _title(self.rng)
        article["state"] = self.rng.choice(["published", "draft"])
        article["updated_at"] = max(article["updated_at"], at)
        c.updated("articles", article_id)

    def create_article(self, c: Churning, at: int, _: object) -> None:
        store = c.store
        admins = store.sorted_ids("admins")
        collections = store.sorted_ids("help_center_collections")
        if not admins or not collections:
            return
        article = new_article(
            self.rng, self.next_id(), at, self.rng.choice(admins), self.rng.choice(collections)
        )
        c.created("articles", article)

    def delete_article(self, c: Churning, at: int, article_id: str) -> None:
        c.deleted("articles", article_id, self.remove_article(c.store))

    def remove_article(self, store: Store) -> Callable[[str], None]:
        def remove(article_id: str) -> None:
            store.tables["articles"].pop(article_id)
            store.reordered("articles")
            self.deleted_articles.add(article_id)

        return remove

    def update_collection(self, c: Churning, at: int, collection_id: str) -> None:
        collection = c.store.tables["help_center_collections"].get(collection_id)
        if collection is None:
            return
        collection["description"] = f"{_title(self.rng)}"
        collection["updated_at"] = max(collection["updated_at"], at)
        c.updated("help_center_collections", collection_id)

    def truth(self, store: Store) -> dict[str, Any]:
        out: dict[str, Any] = {
            kind: [store.tables[kind][i] for i in store.sorted_ids(kind)] for kind in self.tables
        }
        out["deleted_article_ids"] = sorted(self.deleted_articles, key=numeric_id)
        return out
