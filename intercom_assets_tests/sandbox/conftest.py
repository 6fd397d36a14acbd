"""Fixtures: a tiny sandbox and an authenticated in-process client."""

from collections.abc import Iterator

import httpx
import pytest

from intercom_assets.sandbox import Sandbox


class FakeClock:
    """A wall clock the test moves by hand (rate-limit windows, scroll expiry)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sb(clock: FakeClock) -> Sandbox:
    return Sandbox(size="tiny", seed=1, clock=clock, scroll_page_size=5)


@pytest.fixture
def client(sb: Sandbox) -> Iterator[httpx.Client]:
    with sb.client() as c:
        yield c


@pytest.fixture
def walk_cursor():
    """`walk_cursor(client, path, key, **params)`: every item of a GET list."""
    return _walk_cursor


def _walk_cursor(client: httpx.Client, path: str, key: str, **params: object) -> list[dict]:
    """Every item of a GET list, following `pages.next.starting_after`."""
    items: list[dict] = []
    query = dict(params)
    for _ in range(10_000):
        body = client.get(path, params=query).raise_for_status().json()
        items.extend(body[key])
        nxt = body["pages"].get("next")
        if not nxt:
            return items
        query["starting_after"] = nxt["starting_after"]
    raise AssertionError("cursor walk did not end")
