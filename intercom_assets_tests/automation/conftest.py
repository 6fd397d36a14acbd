"""Fixtures for automation tests: a sandbox on a loopback port, an instance (the webhook
receiver is in the tests' conftest)."""

from collections.abc import Iterator
from dataclasses import dataclass

import dagster as dg
import pytest

from intercom_assets.resources import IntercomResource
from intercom_assets.sandbox import Sandbox

TIMEZONE = "America/New_York"


@dataclass
class Served:
    """A sandbox and the base URL it is served on."""

    sb: Sandbox
    url: str

    def resource(self, token: str | None = None) -> IntercomResource:
        return IntercomResource(access_token=token or self.sb.token, base_url=self.url)


@pytest.fixture
def served() -> Iterator[Served]:
    sb = Sandbox(size="tiny", seed=3, timezone=TIMEZONE)
    with sb.serve(port=0) as url:
        yield Served(sb, url)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


