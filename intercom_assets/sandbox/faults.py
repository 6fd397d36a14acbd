"""Fault injection: server errors, 429 bursts, latency, broken bodies and connection resets."""

import dataclasses
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SERVER_ERROR_STATUSES = (500, 502, 503, 504)


@dataclass(frozen=True)
class FaultConfig:
    """What goes wrong, and how often. Faults never apply to `/_sandbox/*`.

    Every rate is a probability per API request, drawn from `random.Random(seed)`.
    """

    seed: int = 0
    """Seed of the fault dice, so a run with the same requests sees the same faults."""
    error_rate: float = 0.0
    """Share of requests answered 500, 502, 503 or 504 (chosen at random), Intercom's error body."""
    error_rate_by_route: Mapping[str, float] = field(default_factory=dict)
    """Per-route `error_rate`, keyed like `request_counts()`: "GET /contacts/{id}"."""
    burst_429_rate: float = 0.0
    """Chance that a request starts a burst of `burst_429_length` consecutive 429 answers."""
    burst_429_length: int = 3
    """How many requests in a row (the first included) get 429 `rate_limit_exceeded`."""
    latency_seconds: float = 0.0
    """Fixed delay added before every answer."""
    latency_jitter_seconds: float = 0.0
    """Extra delay drawn uniformly from [0, jitter] on top of `latency_seconds`."""
    truncate_rate: float = 0.0
    """Share of 200 answers whose body is cut short (invalid JSON)."""
    empty_body_rate: float = 0.0
    """Share of 200 answers sent with an empty body."""
    reset_rate: float = 0.0
    """Share of requests whose connection is reset before any answer: the in-process transport
    raises `httpx.ReadError`; over a port the connection is closed without a response."""
    scroll_500_after_pages: int | None = None
    """When set, the company scroll answers 500 once after this many pages of one scroll were
    served, and that scroll is closed (the client must start again from the beginning)."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict of every field."""
        out = dataclasses.asdict(self)
        out["error_rate_by_route"] = dict(self.error_rate_by_route)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "FaultConfig":
        """Build from a JSON object; unknown keys raise ValueError naming them."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(unknown)}")
        return cls(**dict(data))


@dataclass(frozen=True)
class Fault:
    """The fault chosen for one request (`kind` None means serve it normally)."""

    kind: str | None = None  # "error", "429", "reset", "truncate", "empty"
    status: int = 200
    delay: float = 0.0


class FaultInjector:
    """Rolls the dice for each request under a lock; holds burst and scroll-fault state."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self.configure(config or FaultConfig())

    def configure(self, config: FaultConfig) -> None:
        """Replace the configuration and reset burst and scroll-fault state."""
        with self._lock:
            self.config = config
            self._rng = random.Random(config.seed)
            self._burst_left = 0
            self._scroll_fault_armed = config.scroll_500_after_pages is not None

    def roll(self, route: str) -> Fault:
        """Decide what happens to one API request on `route`."""
        cfg = self.config
        with self._lock:
            rng = self._rng
            delay = cfg.latency_seconds
            if cfg.latency_jitter_seconds:
                delay += rng.uniform(0, cfg.latency_jitter_seconds)
            if self._burst_left > 0:
                self._burst_left -= 1
                return Fault("429", 429, delay)
            if cfg.burst_429_rate and rng.random() < cfg.burst_429_rate:
                self._burst_left = max(cfg.burst_429_length, 1) - 1
                return Fault("429", 429, delay)
            if cfg.reset_rate and rng.random() < cfg.reset_rate:
                return Fault("reset", 0, delay)
            error_rate = cfg.error_rate_by_route.get(route, cfg.error_rate)
            if error_rate and rng.random() < error_rate:
                return Fault("error", rng.choice(SERVER_ERROR_STATUSES), delay)
            if cfg.truncate_rate and rng.random() < cfg.truncate_rate:
                return Fault("truncate", 200, delay)
            if cfg.empty_body_rate and rng.random() < cfg.empty_body_rate:
                return Fault("empty", 200, delay)
            return Fault(None, 200, delay)

    def take_scroll_fault(self, pages_served: int) -> bool:
        """True (once per configuration) when a scroll that served `pages_served` pages fails."""
        limit = self.config.scroll_500_after_pages
        with self._lock:
            if self._scroll_fault_armed and limit is not None and pages_served >= limit:
                self._scroll_fault_armed = False
                return True
            return False
