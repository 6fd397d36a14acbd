"""Client settings as values: regions, API version, timeouts, retry policy."""

import random
from dataclasses import dataclass

import httpx

REGION_BASE_URLS: dict[str, str] = {
    "US": "https://api.intercom.io",
    "EU": "https://api.eu.intercom.io",
    "AU": "https://api.au.intercom.io",
}
REGION_NAMES: dict[str, str] = {
    "US": "US",
    "USA": "US",
    "UNITED STATES": "US",
    "EU": "EU",
    "EUROPE": "EU",
    "AU": "AU",
    "AUSTRALIA": "AU",
}
"""How `GET /me` may name a region (`app.region`: "US", "Europe", ...) -> its region code."""
DEFAULT_API_VERSION = "2.14"
CONNECT_TIMEOUT_SECONDS = 5.0
"""Seconds to open a connection (TCP and TLS): a host that does not answer fails in seconds
(and is retried per the retry policy), while reads keep their longer timeout."""
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=CONNECT_TIMEOUT_SECONDS)


def timeout_for(timeout: httpx.Timeout | float) -> httpx.Timeout:
    """An `httpx.Timeout` as given; a number is the read, write and pool timeout, with
    connecting bounded by `CONNECT_TIMEOUT_SECONDS` (or the number, if smaller)."""
    if isinstance(timeout, httpx.Timeout):
        return timeout
    return httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_SECONDS))


RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def base_url_for(region: str | None, base_url: str | None) -> str:
    """The base URL to call: an explicit `base_url` wins, else the region's host."""
    if base_url:
        return base_url.rstrip("/")
    key = (region or "US").upper()
    if key not in REGION_BASE_URLS:
        raise ValueError(
            f"unknown Intercom region {region!r}; expected one of {sorted(REGION_BASE_URLS)}"
        )
    return REGION_BASE_URLS[key]


def region_code(name: object) -> str | None:
    """The region code (`US`, `EU`, `AU`) of a region as `GET /me` names it; None when the
    name is not one of them."""
    return REGION_NAMES.get(name.strip().upper()) if isinstance(name, str) else None


def region_of_url(base_url: str) -> str | None:
    """The region whose Intercom host `base_url` is; None for any other host (a sandbox)."""
    host = httpx.URL(base_url).host
    return next((r for r, url in REGION_BASE_URLS.items() if httpx.URL(url).host == host), None)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and full jitter.

    A request is tried at most `max_attempts` times and retries stop once `max_total_seconds`
    have passed since the first attempt. Waiting on a 429 is governed by the rate limiter
    (until the window resets) and counts towards both bounds.
    """

    max_attempts: int = 8
    max_total_seconds: float = 300.0
    base_delay: float = 0.5
    max_delay: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_total_seconds < 0:
            raise ValueError("RetryPolicy delays must not be negative")

    def delay(self, attempt: int) -> float:
        """Seconds to sleep before retry number `attempt` (1 = the first retry)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)
