"""Requests served per route, keyed "METHOD /route/{template}" (thread-safe)."""

import threading


class RequestCounts:
    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, route: str) -> None:
        with self._lock:
            self._counts[route] = self._counts.get(route, 0) + 1

    def snapshot(self) -> dict[str, int]:
        """The counts so far, sorted by route."""
        with self._lock:
            return dict(sorted(self._counts.items()))

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
