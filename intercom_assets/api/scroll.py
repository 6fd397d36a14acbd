"""The companies scroll: one open scroll per workspace, across threads and processes.

Intercom allows a single open `GET /companies/scroll` per workspace; a second one gets
400 `scroll_exists`, an idle scroll expires 60 s after its last use, and a scroll that
failed (500, lost response) cannot be resumed, only started again. `CompanyScroll` holds a
thread lock plus a file lock (keyed by base URL and a hash of the token) for the whole
walk, waits on `scroll_exists` within a bound, restarts from the beginning after any
failed page and stops on the first empty page.

After a restart, records already yielded come again: `Page.restarts` (and
`CompanyScroll.restarts`) say so, and consumers must dedupe by `id`.
"""

import hashlib
import logging
import random
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import filelock

from intercom_assets.api.client import IntercomClient
from intercom_assets.api.errors import (
    IntercomError,
    IntercomNotFound,
    IntercomProtocolError,
    IntercomScrollExists,
    IntercomServerError,
    IntercomTransportError,
)
from intercom_assets.api.pages import Page, PageBody, page_decoder

logger = logging.getLogger("intercom_assets.api")

SCROLL_PATH = "/companies/scroll"
SCROLL_ROUTE = "GET /companies/scroll"


class IntercomScrollBusy(IntercomError):
    """The workspace's scroll stayed busy (lock or `scroll_exists`) beyond the configured bound."""


_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


def scroll_lock_key(base_url: str, token_fingerprint: str) -> str:
    """The lock name of one workspace's scroll: a hash of the base URL and the token's hash."""
    return hashlib.sha256(f"{base_url.rstrip('/')}|{token_fingerprint}".encode()).hexdigest()[:24]


class CompanyScroll:
    """Iterate over every company with the scroll API, one page at a time.

    `lock_timeout` bounds the wait for another thread or process of this machine that
    scrolls the same workspace; `scroll_exists_timeout` bounds the wait for a scroll opened
    elsewhere (or a stale one of ours) to expire, polling every `scroll_exists_poll`
    seconds. At most `max_restarts` restarts happen before the last failure is raised.
    Keep the time between two pages under 60 s, or Intercom expires the scroll.
    """

    def __init__(
        self,
        client: IntercomClient,
        *,
        lock_timeout: float = 1800.0,
        scroll_exists_timeout: float = 90.0,
        scroll_exists_poll: float = 5.0,
        max_restarts: int = 10,
        restart_delay: float = 1.0,
        lock_dir: Path | None = None,
    ) -> None:
        self.client = client
        self.lock_timeout = lock_timeout
        self.scroll_exists_timeout = scroll_exists_timeout
        self.scroll_exists_poll = scroll_exists_poll
        self.max_restarts = max_restarts
        self.restart_delay = restart_delay
        key = scroll_lock_key(client.base_url, client.token_fingerprint)
        self.lock_path = (
            lock_dir or Path(tempfile.gettempdir())
        ) / f"intercom-assets-scroll-{key}.lock"
        with _THREAD_LOCKS_GUARD:
            self._thread_lock = _THREAD_LOCKS.setdefault(key, threading.Lock())
        self.restarts = 0
        self.scroll_exists_waits = 0

    def __iter__(self) -> Iterator[Page]:
        with self._workspace_lock():
            yield from self._walk()

    @contextmanager
    def _workspace_lock(self) -> Iterator[None]:
        started = time.monotonic()
        if not self._thread_lock.acquire(timeout=self.lock_timeout):
            raise IntercomScrollBusy(
                f"another thread kept the companies scroll for over {self.lock_timeout:.0f} s",
                method="GET",
                path=SCROLL_PATH,
            )
        try:
            remaining = max(0.0, self.lock_timeout - (time.monotonic() - started))
            try:
                with filelock.FileLock(str(self.lock_path), timeout=remaining):
                    yield
            except filelock.Timeout as exc:
                raise IntercomScrollBusy(
                    f"another process kept the companies scroll for over {self.lock_timeout:.0f} s",
                    method="GET",
                    path=SCROLL_PATH,
                ) from exc
        finally:
            self._thread_lock.release()

    def _walk(self) -> Iterator[Page]:
        while True:
            number, seen, total = 0, 0, None
            param: str | None = None
            try:
                while True:
                    body = self._fetch(param)
                    number += 1
                    page = body.page(number, self.restarts)
                    total = page.total_count if page.total_count is not None else total
                    if not page.raw_items:
                        return
                    self.client.counters.page()
                    yield page
                    seen += len(page.raw_items)
                    param = body.scroll_param
                    if not param:
                        raise IntercomProtocolError(
                            "scroll page without scroll_param", method="GET", path=SCROLL_PATH
                        )
            except IntercomNotFound:
                # Intercom answers 404 for a scroll_param that expired; after the last
                # page that is the end, otherwise the scroll timed out and must restart.
                if param is not None and (total is None or seen >= total):
                    return
                failure: IntercomError = IntercomServerError(
                    "companies scroll expired before its end", method="GET", path=SCROLL_PATH
                )
            except (IntercomServerError, IntercomTransportError) as exc:
                if param is not None and total is not None and seen >= total and self._ended(param):
                    return  # only the empty last page was lost
                failure = exc
            if self.restarts >= self.max_restarts:
                raise failure
            self.restarts += 1
            self.client.counters.scroll_restart()
            logger.debug("restarting the companies scroll (%d) after %s", self.restarts, failure)
            time.sleep(random.uniform(0.5, 1.0) * self.restart_delay)

    def _ended(self, param: str) -> bool:
        """Whether the scroll is over: asked again, it answers 404 or an empty page."""
        try:
            return not self._fetch(param).raw_items
        except IntercomNotFound:
            return True
        except IntercomError:
            return False

    def _fetch(self, param: str | None) -> PageBody:
        """One scroll page; a failed page is never retried in place (the scroll must restart)."""
        params = {"scroll_param": param} if param else None
        deadline = time.monotonic() + self.scroll_exists_timeout
        while True:
            try:
                return self.client.request(
                    "GET",
                    SCROLL_PATH,
                    params=params,
                    route=SCROLL_ROUTE,
                    retry_failures=False,
                    headers={"Cache-Control": "no-cache"},
                    decode=page_decoder("data"),
                )
            except IntercomScrollExists:
                if param is not None or time.monotonic() >= deadline:
                    raise
                self.scroll_exists_waits += 1
                wait = min(self.scroll_exists_poll, max(0.0, deadline - time.monotonic()))
                logger.debug("companies scroll exists elsewhere; waiting %.1f s", wait)
                time.sleep(wait * random.uniform(0.8, 1.0))
