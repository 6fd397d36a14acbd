"""The companies scroll: one open scroll per workspace, across threads and processes.

Intercom allows a single open `GET /companies/scroll` per workspace; a second one gets
400 `scroll_exists`, an idle scroll expires 60 s after its last use, and a scroll that
failed with a 500 ("please restart the scroll operation") is closed. `CompanyScroll`
holds a thread lock plus a file lock (keyed by base URL and a hash of the token) for the
whole walk and waits on `scroll_exists` within a bound.

A failed page is retried in place by the client, like any request: a reset, a 502-504 or
an unreadable body leaves the scroll open, and a scroll that the failure closed answers
the retry with 404, which starts a new pass. A retry may also lose a page (the server
moved on but its answer never arrived), so the walk ends only when a pass reaches the
empty page and the companies read number at least its `total_count`; otherwise another
pass fills the gap. Every pass keeps what earlier ones read: each company is yielded once
(deduped by `id`), and a page of companies already read is skipped. Restarts back off
exponentially and stop after `max_stalled_restarts` passes in a row that read nothing new.
"""

import hashlib
import logging
import random
import tempfile
import threading
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import filelock
import msgspec

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
    """Iterate over every company with the scroll API, each company once, page by page.

    `lock_timeout` bounds the wait for another thread or process of this machine that
    scrolls the same workspace; `scroll_exists_timeout` bounds the wait for a scroll opened
    elsewhere (or a stale one of ours) to expire, polling every `scroll_exists_poll`
    seconds. A pass that fails or ends short starts a new one after `restart_delay`
    doubled per pass in a row without progress (capped at `max_restart_delay`); after
    `max_stalled_restarts` such passes the last failure is raised. Pages hold only
    companies not yielded before (a page may be empty after a restart, never yielded).
    Keep the time between two pages under 60 s, or Intercom expires the scroll.
    """

    def __init__(
        self,
        client: IntercomClient,
        *,
        lock_timeout: float = 1800.0,
        scroll_exists_timeout: float = 90.0,
        scroll_exists_poll: float = 5.0,
        max_stalled_restarts: int = 5,
        restart_delay: float = 1.0,
        max_restart_delay: float = 30.0,
        lock_dir: Path | None = None,
    ) -> None:
        self.client = client
        self.lock_timeout = lock_timeout
        self.scroll_exists_timeout = scroll_exists_timeout
        self.scroll_exists_poll = scroll_exists_poll
        self.max_stalled_restarts = max_stalled_restarts
        self.restart_delay = restart_delay
        self.max_restart_delay = max_restart_delay
        key = scroll_lock_key(client.base_url, client.token_fingerprint)
        self.lock_path = (
            lock_dir or Path(tempfile.gettempdir())
        ) / f"intercom-assets-scroll-{key}.lock"
        with _THREAD_LOCKS_GUARD:
            self._thread_lock = _THREAD_LOCKS.setdefault(key, threading.Lock())
        self.restarts = 0
        self.scroll_exists_waits = 0
        self.pages_skipped = 0
        """Pages of a restarted pass whose companies had all been read already."""

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
        seen: set[Any] = set()
        stalled = 0
        while True:
            before = len(seen)
            failure = yield from self._pass(seen)
            if failure is None:
                return
            stalled = 0 if len(seen) > before else stalled + 1
            if stalled > self.max_stalled_restarts:
                raise failure
            self.restarts += 1
            self.client.counters.scroll_restart()
            delay = min(self.max_restart_delay, self.restart_delay * 2**stalled)
            logger.debug("restarting the companies scroll (%d) after %s", self.restarts, failure)
            time.sleep(random.uniform(0.5, 1.0) * delay)

    def _pass(self, seen: set[Any]) -> Generator[Page, None, IntercomError | None]:
        """One scroll from its first page; returns None when the walk is complete, else why not.

        New companies are added to `seen` and yielded; pages with none are skipped.
        """
        number, total = 0, None
        param: str | None = None
        try:
            while True:
                body = self._fetch(param)
                total = body.total_count if isinstance(body.total_count, int) else total
                if not body.raw_items:
                    break
                number += 1
                self.client.counters.page()
                fresh = [raw for raw in body.raw_items if _unseen(raw, seen)]
                if fresh:
                    yield replace(body, raw_items=fresh).page(number, self.restarts)
                else:
                    self.pages_skipped += 1
                param = body.scroll_param
                if not param:
                    raise IntercomProtocolError(
                        "scroll page without scroll_param", method="GET", path=SCROLL_PATH
                    )
        except IntercomNotFound as exc:
            # A 404 for a scroll_param: the scroll ended (its empty page's answer was lost),
            # expired, or was closed by a failure. Only a complete count says it ended.
            if param is None or total is None or len(seen) < total:
                return IntercomServerError(
                    f"companies scroll closed before its end ({exc})",
                    method="GET",
                    path=SCROLL_PATH,
                )
            return None
        except (IntercomServerError, IntercomTransportError) as exc:
            return exc  # the page failed beyond the client's retry budget
        if total is not None and len(seen) < total:
            return IntercomProtocolError(
                f"companies scroll ended with {len(seen)} of {total} companies read:"
                " a page was lost",
                method="GET",
                path=SCROLL_PATH,
            )
        return None

    def _fetch(self, param: str | None) -> PageBody:
        """One scroll page (retried in place by the client); waits out `scroll_exists`."""
        params = {"scroll_param": param} if param else None
        deadline = time.monotonic() + self.scroll_exists_timeout
        while True:
            try:
                return self.client.request(
                    "GET",
                    SCROLL_PATH,
                    params=params,
                    route=SCROLL_ROUTE,
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


class _Id(msgspec.Struct):
    """The one field of a company the dedupe reads."""

    id: Any = None


_ID = msgspec.json.Decoder(_Id)


def _unseen(raw: bytes, seen: set[Any]) -> bool:
    """Whether the company in `raw` was not read before (it is then marked as read)."""
    key = _ID.decode(raw).id
    if key is None:
        raise IntercomProtocolError(
            "companies scroll returned a company without an id", method="GET", path=SCROLL_PATH
        )
    if key in seen:
        return False
    seen.add(key)
    return True
