"""`SandboxCore`: the workspace as the endpoints serve it.

The store, the lock every endpoint runs under, the search index as it has caught up
(`search_lag_seconds`), contacts by identifier, the open company scrolls and the fault dice
(the scroll's faults are the endpoint's). The checks every
request passes before its endpoint (token, rate limit, version, permissions, faults) are the
gateway's (`gateway.py`).
"""

import threading
from collections.abc import Callable
from typing import Any

from intercom_assets.sandbox.faults import FaultInjector
from intercom_assets.sandbox.scroll import ScrollRegistry
from intercom_assets.sandbox.store import Record, Store


class SandboxCore:
    """The state of one sandbox workspace that the endpoints read and change."""

    def __init__(
        self,
        store: Store,
        *,
        search_lag_seconds: int,
        scroll_idle_seconds: float,
        scroll_page_size: int,
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self.search_lag_seconds = search_lag_seconds
        self.scroll_page_size = scroll_page_size
        self.lock = threading.RLock()
        self.scrolls = ScrollRegistry(scroll_idle_seconds, clock)
        self.faults = FaultInjector()
        self._searchable: dict[str, tuple[tuple[int, int], list[Record]]] = {}
        self._contact_index: tuple[int, dict[tuple[str, str], Record]] = (-1, {})

    def searchable_with_key(self, kind: str) -> tuple[list[Record], tuple[Any, ...]]:
        """Live records the search index has caught up with (`search_lag_seconds` old or
        more), and a key that changes whenever that record set does."""
        store = self.store
        cutoff = store.now - self.search_lag_seconds
        stamp = (store.version, cutoff)
        key = (id(self), kind, *stamp)
        cached = self._searchable.get(kind)
        if cached is not None and cached[0] == stamp:
            return cached[1], key
        table = store.tables[kind]
        records = [table[i] for i in store.sorted_ids(kind)]
        if self.search_lag_seconds:
            records = [
                r for r in records if r["updated_at"] <= cutoff and r["created_at"] <= cutoff
            ]
        self._searchable[kind] = (stamp, records)
        return records, key

    def custom_attribute_types(self, model: str) -> dict[str, str]:
        """Custom attribute name -> data type of a model (date ones match whole days in contact
        search)."""
        return {
            a["name"]: a["data_type"]
            for a in self.store.data_attributes
            if a["model"] == model and a["custom"]
        }

    def find_contact(self, identifier: str, value: str) -> Record | None:
        """A live contact by `intercom_user_id`, `user_id` (external id) or `email`."""
        if identifier == "intercom_user_id":
            return self.store.contacts.get(value)
        version, index = self._contact_index
        if version != self.store.version:
            index = {}
            for contact in self.store.contacts.values():
                if contact["external_id"]:
                    index.setdefault(("user_id", contact["external_id"]), contact)
                if contact["email"]:
                    index.setdefault(("email", contact["email"]), contact)
            self._contact_index = (self.store.version, index)
        return index.get((identifier, value))
