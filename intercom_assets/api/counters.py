"""Thread-safe request counters of one client, for asset metadata."""

import threading
from collections import Counter
from typing import Any


class ClientCounters:
    """Requests by route, retries, 429s, seconds waited on the rate limit, bytes, pages."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._retries = 0
        self._rate_limited = 0
        self._rate_limit_wait = 0.0
        self._backoff_wait = 0.0
        self._bytes = 0
        self._pages = 0
        self._scroll_restarts = 0

    def request(self, route: str, received_bytes: int) -> None:
        """Count one HTTP exchange on `route` that returned `received_bytes` of body."""
        with self._lock:
            self._requests[route] += 1
            self._bytes += received_bytes

    def retry(self, backoff_seconds: float) -> None:
        """Count one retry and the backoff slept before it."""
        with self._lock:
            self._retries += 1
            self._backoff_wait += backoff_seconds

    def rate_limited(self) -> None:
        """Count one 429 response."""
        with self._lock:
            self._rate_limited += 1

    def waited(self, seconds: float) -> None:
        """Add seconds spent waiting for rate-limit budget."""
        if seconds > 0:
            with self._lock:
                self._rate_limit_wait += seconds

    def page(self) -> None:
        """Count one page yielded by an iterator."""
        with self._lock:
            self._pages += 1

    def scroll_restart(self) -> None:
        """Count one companies scroll started again from the beginning."""
        with self._lock:
            self._scroll_restarts += 1

    def snapshot(self) -> dict[str, Any]:
        """A plain dict of every counter (JSON-serialisable)."""
        with self._lock:
            return {
                "requests": sum(self._requests.values()),
                "requests_by_route": dict(sorted(self._requests.items())),
                "retries": self._retries,
                "rate_limited_429": self._rate_limited,
                "rate_limit_wait_seconds": round(self._rate_limit_wait, 3),
                "backoff_wait_seconds": round(self._backoff_wait, 3),
                "bytes_received": self._bytes,
                "pages": self._pages,
                "scroll_restarts": self._scroll_restarts,
            }
