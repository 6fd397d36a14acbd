"""Intercom's rate limit: the per-minute budget spread over 10-second windows of real time."""

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_SECONDS = 10


@dataclass(frozen=True)
class RateDecision:
    """The outcome for one request, and the `X-RateLimit-*` header values."""

    allowed: bool
    limit: int
    remaining: int
    reset: int

    def headers(self) -> list[tuple[str, str]]:
        return [
            ("X-RateLimit-Limit", str(self.limit)),
            ("X-RateLimit-Remaining", str(self.remaining)),
            ("X-RateLimit-Reset", str(self.reset)),
        ]


class RateLimiter:
    """Counts requests per 10-second window; the limit per window is ceil(per_minute / 6)."""

    def __init__(self, per_minute: int, clock: Callable[[], float]) -> None:
        if per_minute < 1:
            raise ValueError(f"rate_limit_per_minute must be at least 1, got {per_minute}")
        self.per_minute = per_minute
        self.limit = math.ceil(per_minute / (60 / WINDOW_SECONDS))
        self._clock = clock
        self._window = -1
        self._count = 0
        self._lock = threading.Lock()

    def hit(self) -> RateDecision:
        """Count one request in the current window."""
        now = self._clock()
        window = int(now // WINDOW_SECONDS)
        with self._lock:
            if window != self._window:
                self._window, self._count = window, 0
            self._count += 1
            count = self._count
        reset = (window + 1) * WINDOW_SECONDS
        allowed = count <= self.limit
        return RateDecision(allowed, self.limit, max(self.limit - count, 0), reset)

    def message(self) -> str:
        return f"Exceeded rate limit of {self.limit} in 10_seconds"
