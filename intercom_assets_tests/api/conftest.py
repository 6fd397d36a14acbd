"""Fixtures for the API client tests: tiny sandboxes and clients on their in-process transport."""

from collections.abc import Callable, Iterator

import pytest

from intercom_assets.api import IntercomClient, RateLimiter, RetryPolicy
from intercom_assets.sandbox import Churn, Sandbox

FAST_RETRY = RetryPolicy(max_attempts=12, max_total_seconds=60, base_delay=0.01, max_delay=0.2)

MakeClient = Callable[..., IntercomClient]


def quiet_churn(**rates: float) -> Churn:
    """A churn that changes nothing except the given rates."""
    zero = {name: 0.0 for name in Churn.__dataclass_fields__}
    return Churn(**{**zero, **rates})


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    """A tiny workspace that tests only read (no faults, no clock moves)."""
    return Sandbox(size="tiny", seed=1, timezone="America/New_York", scroll_page_size=4)


@pytest.fixture
def make_client() -> Iterator[MakeClient]:
    """Build clients on a sandbox's in-process transport, each with its own rate limiter."""
    clients: list[IntercomClient] = []

    def make(sb: Sandbox, *, token: str | None = None, **kwargs: object) -> IntercomClient:
        kwargs.setdefault("retry", FAST_RETRY)
        kwargs.setdefault("limiter", RateLimiter())
        client = IntercomClient(
            token or sb.token,
            base_url=sb.base_url,
            transport=sb.transport(),
            **kwargs,  # type: ignore[arg-type]
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
