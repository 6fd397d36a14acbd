"""`Factory`: the random source and id allocation every resource's record builders share."""

import random
from collections.abc import Sequence
from typing import TypeVar

from intercom_assets.sandbox import values as v
from intercom_assets.sandbox.store import Store

T = TypeVar("T")

APP_ID = "sbx1a2b3"


class Factory:
    """Draws everything from one `random.Random`, so a seed gives the same workspace."""

    def __init__(self, store: Store, rng: random.Random) -> None:
        self.store = store
        self.rng = rng
        self._counters: dict[str, int] = {}
        self._used_hex: set[str] = set()

    def pick(self, items: Sequence[T]) -> T:
        """One item at random (a faster `random.choice`)."""
        return items[int(self.rng.random() * len(items))]

    def next_number(self, kind: str, base: int) -> str:
        """The next numeric id of a kind (the first is `base + 1`)."""
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

    def some_tag_ids(self) -> list[str]:
        """The tags of a new company or conversation: none half the time, else one or two."""
        tag_ids = self.store.sorted_ids("tags")
        return self.rng.sample(tag_ids, min(len(tag_ids), self.pick([0, 0, 1, 2])))

    def pick_admin_id(self) -> str:
        return self.pick(self.store.sorted_ids("admins")) if self.store.admins else "0"

    def sentence(self, words: int = 8) -> str:
        return " ".join(self.pick(v.WORDS) for _ in range(words))

    def recent(self, created: int, now: int) -> int:
        """An `updated_at` between `created` and `now`, biased toward `now`."""
        return now - int((now - created) * self.rng.random() ** 2)
