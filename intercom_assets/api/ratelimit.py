"""A rate limiter driven by Intercom's `X-RateLimit-*` headers, shared per app.

Intercom counts requests per app in fixed windows (10 s) and reports, on each response,
the window's `Limit`, the `Remaining` budget and the unix second it `Reset`s. The limiter
keeps the lowest `Remaining` seen in the current window and the number of requests in
flight; a request may start while `Remaining - in_flight > reserve`, so it never waits
while budget remains and never overshoots the window when it is the only consumer. Once
the budget is spent it waits until `Reset` (+ a small margin, since Reset is whole
seconds). A 429 that reports the budget spent blocks every thread until `Reset` plus
jitter; a 429 that reports budget left is backed off by the caller alone.

One limiter exists per (base URL, token) in a process: see `limiter_for`.
"""

import hashlib
import random
import threading
import time
from collections.abc import Callable, Mapping


class RateLimiter:
    """Paces requests of every thread that shares one Intercom app's budget."""

    def __init__(
        self,
        *,
        reserve: int = 0,
        margin: float = 0.05,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.reserve = reserve
        self.margin = margin
        self._clock = clock
        self._cond = threading.Condition()
        self._limit: int | None = None
        self._remaining: int | None = None
        self._window_end: float | None = None
        self._blocked_until = 0.0
        self._in_flight = 0

    def acquire(self) -> float:
        """Block until a request may start; returns the seconds waited."""
        started = time.monotonic()
        with self._cond:
            while True:
                now = self._clock()
                if now < self._blocked_until:
                    self._cond.wait(self._blocked_until - now)
                    continue
                if self._window_end is not None and now >= self._window_end + self.margin:
                    # A new window began: its budget is full until a response says otherwise.
                    self._remaining = self._limit
                    self._window_end = None
                if self._remaining is None or self._remaining - self._in_flight > self.reserve:
                    self._in_flight += 1
                    return time.monotonic() - started
                if self._window_end is None:
                    if self._in_flight == 0:
                        # Spent budget and no known reset: probe with one request.
                        self._in_flight += 1
                        return time.monotonic() - started
                    self._cond.wait(0.5)  # in-flight responses will report the reset
                    continue
                self._cond.wait(self._window_end + self.margin - now)

    def release(self, headers: Mapping[str, str] | None, *, rate_limited: bool = False) -> bool:
        """Record a finished request (its response headers, if any) and wake waiters.

        For a 429 that says the window's budget is spent (`Remaining` 0, or a `Reset`
        without `Remaining`), every thread is blocked until `Reset` plus jitter and True is
        returned. A 429 that reports budget left (another limit, e.g. a burst) returns
        False: the caller backs off on its own.
        """
        with self._cond:
            self._in_flight = max(0, self._in_flight - 1)
            limit = _int_header(headers, "x-ratelimit-limit")
            remaining = _int_header(headers, "x-ratelimit-remaining")
            reset = _int_header(headers, "x-ratelimit-reset")
            if limit is not None:
                self._limit = limit
            if remaining is not None and reset is not None:
                if self._window_end is None or reset > self._window_end:
                    self._window_end = float(reset)
                    self._remaining = remaining
                elif reset == self._window_end:
                    self._remaining = (
                        remaining if self._remaining is None else min(self._remaining, remaining)
                    )
            window_spent = rate_limited and (
                remaining == 0 or (remaining is None and reset is not None)
            )
            if window_spent:
                now = self._clock()
                if reset is not None:
                    self._remaining = 0
                    self._window_end = max(self._window_end or 0.0, float(reset))
                    until = max(float(reset) + self.margin, now + 0.1)
                else:
                    until = now + 1.0
                self._blocked_until = max(self._blocked_until, until + random.uniform(0, 0.25))
            self._cond.notify_all()
            return window_spent

    def cancel(self) -> None:
        """Record a request that got no response (transport error)."""
        self.release(None)

    def state(self) -> dict[str, float | int | None]:
        """The limiter's current view of the window (for logs and tests)."""
        with self._cond:
            return {
                "limit": self._limit,
                "remaining": self._remaining,
                "window_end": self._window_end,
                "in_flight": self._in_flight,
            }


def _int_header(headers: Mapping[str, str] | None, name: str) -> int | None:
    if headers is None:
        return None
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


def token_fingerprint(token: str) -> str:
    """A short, non-reversible fingerprint of a token (safe for keys and file names)."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


_LIMITERS: dict[tuple[str, str], RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def limiter_for(base_url: str, token: str, *, reserve: int = 0) -> RateLimiter:
    """The process-wide limiter of one Intercom app (Intercom counts per app, not per client)."""
    key = (base_url.rstrip("/"), token_fingerprint(token))
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get(key)
        if limiter is None:
            limiter = _LIMITERS[key] = RateLimiter(reserve=reserve)
        return limiter
