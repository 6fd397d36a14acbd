"""`Sandbox`: one generated workspace, its simulated clock, and the ways to reach it."""

import random
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpx
from starlette.applications import Starlette

from intercom_assets.sandbox.app import build_app, serve
from intercom_assets.sandbox.churn import ChangeLog, Churn, Churning
from intercom_assets.sandbox.core import SandboxCore
from intercom_assets.sandbox.factory import Factory
from intercom_assets.sandbox.faults import FaultConfig
from intercom_assets.sandbox.gateway import Gateway
from intercom_assets.sandbox.permissions import check_permissions
from intercom_assets.sandbox.resource import Generation, Resource
from intercom_assets.sandbox.resources import DEFAULT_RESOURCES
from intercom_assets.sandbox.sizes import SIZES
from intercom_assets.sandbox.store import Store
from intercom_assets.sandbox.transport import SandboxTransport
from intercom_assets.sandbox.truth import build_truth

DEFAULT_START = 1_767_225_600  # 2026-01-01T00:00:00Z
IN_PROCESS_BASE_URL = "https://api.intercom.sandbox"


class Sandbox:
    """A faithful local Intercom REST API 2.14 over a deterministic generated workspace.

    `clock` is the real-time source for rate-limit windows and scroll expiry (tests may pass a
    fake one); the simulated clock (`now`) only moves with `advance()`. `resources` are the
    `Resource` classes the workspace is built from, in generation order (default
    `DEFAULT_RESOURCES`; add one with `resources=[*DEFAULT_RESOURCES, Widgets]`).
    `permissions` are those of the token's app (default: all; see `sandbox.permissions`): a
    route needing another is refused with `permission_status` (403, or 401).
    """

    def __init__(
        self,
        size: str = "tiny",
        seed: int = 1,
        timezone: str = "UTC",
        token: str = "sandbox",  # noqa: S107 - the sandbox's well-known demo token
        rate_limit_per_minute: int = 10_000,
        search_lag_seconds: int = 0,
        start: int = DEFAULT_START,
        *,
        scroll_idle_seconds: float = 60.0,
        scroll_page_size: int = 50,
        churn: Churn | None = None,
        clock: Callable[[], float] = time.time,
        resources: Sequence[type[Resource]] = DEFAULT_RESOURCES,
        permissions: Collection[str] | None = None,
        permission_status: int = 403,
        region: str = "US",
    ) -> None:
        _check_timezone(timezone)
        granted = check_permissions(permissions, permission_status)
        if size not in SIZES:
            raise ValueError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
        self.size, self.seed, self.churn = size, seed, churn or Churn()
        self.resources: tuple[Resource, ...] = tuple(kind() for kind in resources)
        self.store = Store(now=start, timezone=timezone, region=region)
        self._factory = Factory(self.store, random.Random(seed))
        generation = Generation(self.store, self._factory, size, SIZES[size], start)
        for resource in self.resources:
            for table, numeric_ids in resource.tables.items():
                self.store.add_table(table, numeric_ids)
            resource.generate(generation)
        self.core = SandboxCore(
            self.store,
            search_lag_seconds=search_lag_seconds,
            scroll_idle_seconds=scroll_idle_seconds,
            scroll_page_size=scroll_page_size,
            clock=clock,
        )
        self.gateway = Gateway(
            self.core,
            routes=[route for resource in self.resources for route in resource.routes],
            token=token,
            rate_limit_per_minute=rate_limit_per_minute,
            clock=clock,
            advance=self.advance,
            truth=self.truth,
            permissions=granted,
            permission_status=permission_status,
        )
        self.base_url = IN_PROCESS_BASE_URL
        self._app: Starlette | None = None

    @property
    def token(self) -> str:
        return self.gateway.token

    @property
    def now(self) -> int:
        """The simulated clock, unix seconds."""
        return self.store.now

    @property
    def timezone(self) -> str:
        return self.store.timezone

    @property
    def app(self) -> Starlette:
        """The Starlette ASGI app serving this sandbox."""
        if self._app is None:
            self._app = build_app(self.gateway)
        return self._app

    def transport(self) -> httpx.BaseTransport:
        """A synchronous, thread-safe httpx transport serving the API in-process."""
        return SandboxTransport(self.gateway)

    def client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client on the in-process transport, authenticated with the token."""
        headers = {"Authorization": f"Bearer {self.token}", "Intercom-Version": "2.14"}
        headers.update(kwargs.pop("headers", {}))
        return httpx.Client(
            transport=self.transport(), base_url=self.base_url, headers=headers, **kwargs
        )

    @contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Serve the app with uvicorn on a port in a thread; yields the base URL."""
        with serve(self.app, host, port) as url:
            yield url

    def advance(self, days: float = 0, seconds: int = 0, churn: Churn | None = None) -> ChangeLog:
        """Move the simulated clock forward, applying churn spread over the interval."""
        total = int(days * 86_400) + int(seconds)
        if total < 0:
            raise ValueError(f"the clock only moves forward; got days={days}, seconds={seconds}")
        store = self.store
        kinds = [kind for resource in self.resources for kind in resource.change_kinds]
        with self.core.lock:
            log = ChangeLog(store.now, store.now + total, {kind: [] for kind in kinds})
            if total > 0:
                churning = Churning(store, self._factory, churn or self.churn, log, total)
                for resource in self.resources:
                    resource.plan_churn(churning)
                churning.run()
                store.now = log.end
                store.version += 1
            return log

    def set_faults(self, config: FaultConfig) -> None:
        """Replace the fault configuration (and reset burst and scroll-fault state)."""
        self.core.faults.configure(config)

    @property
    def faults(self) -> FaultConfig:
        return self.core.faults.config

    def request_counts(self) -> dict[str, int]:
        """Requests received per route, keyed "METHOD /route/{template}"."""
        return self.gateway.counts.snapshot()

    def reset_request_counts(self) -> None:
        self.gateway.counts.reset()

    def truth(self) -> dict[str, Any]:
        """The ground truth (shape in the package docstring)."""
        with self.core.lock:
            return build_truth(self.store, self.resources)


def start_time(value: str, timezone: str, now: Callable[[], float] = time.time) -> int:
    """Unix seconds where a sandbox clock starts: `now` is the wall clock, `YYYY-MM-DD` that
    day's midnight in `timezone`; anything else is a `ValueError` of one line."""
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    if value == "now":
        return int(now())
    _check_timezone(timezone)
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"start must be 'now' or a date YYYY-MM-DD, got {value!r}") from None
    midnight = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(timezone))
    return int(midnight.timestamp())


def _check_timezone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {name!r}") from None
