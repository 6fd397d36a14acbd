"""The framework-free request handler that both the ASGI app and the httpx transport call.

One `handle()` call: match the route, count it, check the bearer token, count it against the
rate limit, check `Intercom-Version` and the app's permissions (`permissions`), roll the fault
dice, run the endpoint under the store lock.
`/_sandbox/*` control endpoints need no token and are never faulted, rate limited or counted.
"""

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl

import orjson

from intercom_assets.sandbox import control
from intercom_assets.sandbox.endpoints import Call, Handler
from intercom_assets.sandbox.errors import ApiError, error_body, new_request_id
from intercom_assets.sandbox.faults import FaultInjector
from intercom_assets.sandbox.permissions import ALL_PERMISSIONS, required_permission
from intercom_assets.sandbox.ratelimit import RateLimiter
from intercom_assets.sandbox.scroll import ScrollRegistry
from intercom_assets.sandbox.store import Record, Store

SERVED_VERSION = "2.14"
KNOWN_VERSIONS = frozenset(
    [f"1.{i}" for i in range(5)] + [f"2.{i}" for i in range(17)] + ["Preview"]
)
JSON_HEADERS = [("Content-Type", "application/json; charset=utf-8")]
ERROR_TEXT = {
    500: "server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


@dataclass
class Reply:
    """What to answer: status, headers, body; `reset` means drop the connection instead."""

    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    delay: float = 0.0
    reset: bool = False

    def dated(self, now: float) -> "Reply":
        """This reply with a `Date` header from the simulated clock, as every HTTP server
        sends one (clients can read the workspace's time from it)."""
        self.headers = [*self.headers, ("date", formatdate(now, usegmt=True))]
        return self


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"


def compile_routes(
    routes: Iterable[tuple[str, str, Handler]],
) -> tuple[dict[tuple[str, str], Route], list[Route]]:
    """Static routes by (method, path), and templated ones to try in order."""
    static: dict[tuple[str, str], Route] = {}
    templated: list[Route] = []
    for method, template, handler in routes:
        if (method, template) in static or any(r.key == f"{method} {template}" for r in templated):
            raise ValueError(f"two resources serve {method} {template}")
        regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$"
        route = Route(method, template, re.compile(regex), handler)
        if "{" in template:
            templated.append(route)
        else:
            static[(method, template)] = route
    return static, templated


class SandboxCore:
    """State and request handling of one sandbox workspace."""

    def __init__(
        self,
        store: Store,
        *,
        routes: Iterable[tuple[str, str, Handler]],
        token: str,
        rate_limit_per_minute: int,
        search_lag_seconds: int,
        scroll_idle_seconds: float,
        scroll_page_size: int,
        clock: Callable[[], float],
        advance: Callable[..., Any],
        truth: Callable[[], dict[str, Any]],
        permissions: frozenset[str] = ALL_PERMISSIONS,
        permission_status: int = 403,
    ) -> None:
        self.store = store
        self.permissions = permissions
        self.permission_status = permission_status
        self.static_routes, self.templated_routes = compile_routes(routes)
        self.token = token
        self.search_lag_seconds = search_lag_seconds
        self.scroll_page_size = scroll_page_size
        self.clock = clock
        self.lock = threading.RLock()
        self.rate = RateLimiter(rate_limit_per_minute, clock)
        self.faults = FaultInjector()
        self.scrolls = ScrollRegistry(scroll_idle_seconds, clock)
        self.counts: dict[str, int] = {}
        self._counts_lock = threading.Lock()
        self.advance_fn = advance
        self.truth_fn = truth
        self._searchable: dict[str, tuple[tuple[int, int], list[Record]]] = {}
        self._contact_index: tuple[int, dict[tuple[str, str], Record]] = (-1, {})

    # -- entry point ----------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query_string: str,
        headers: Mapping[str, str],
        body: bytes,
        base_url: str,
    ) -> Reply:
        """Answer one HTTP request. `headers` must have lower-case names."""
        reply = self._answer(method, path, query_string, headers, body, base_url)
        return reply.dated(self.store.now)

    def _answer(
        self,
        method: str,
        path: str,
        query_string: str,
        headers: Mapping[str, str],
        body: bytes,
        base_url: str,
    ) -> Reply:
        if path.startswith("/_sandbox/"):
            return control.handle(self, method, path, body)
        route, params = self.match(method, path)
        if route is not None:
            with self._counts_lock:
                self.counts[route.key] = self.counts.get(route.key, 0) + 1
        request_id = new_request_id()
        if headers.get("authorization") != f"Bearer {self.token}":
            return self.error(401, "unauthorized", "Access Token Invalid", request_id)
        decision = self.rate.hit()
        rate_headers = decision.headers()
        if not decision.allowed:
            return self.error(
                429, "rate_limit_exceeded", self.rate.message(), request_id, rate_headers
            )
        version = headers.get("intercom-version", SERVED_VERSION)
        if version not in KNOWN_VERSIONS:
            return self.error(
                400,
                "intercom_version_invalid",
                f"The requested version could not be found: {version!r}",
                request_id,
                rate_headers,
            )
        if route is None:
            return self.error(
                404, "not_found", f"No route matches {method} {path}", request_id, rate_headers
            )
        needed = required_permission(path)
        if needed is not None and needed not in self.permissions:
            if self.permission_status == 401:
                return self.error(401, "unauthorized", "Access Token Invalid", request_id)
            return self.error(
                403,
                "forbidden",
                f"You do not have the required scope ({needed}) to access this resource",
                request_id,
                rate_headers,
            )
        fault = self.faults.roll(route.key)
        if fault.kind == "reset":
            return Reply(0, b"", delay=fault.delay, reset=True)
        if fault.kind == "429":
            reply = self.error(
                429, "rate_limit_exceeded", self.rate.message(), request_id, rate_headers
            )
        elif fault.kind == "error":
            reply = self.error(
                fault.status, ERROR_TEXT[fault.status], "Server Error", request_id, rate_headers
            )
        else:
            query = dict(parse_qsl(query_string, keep_blank_values=True))
            call = Call(params, query, body, base_url, version)
            try:
                with self.lock:
                    payload = route.handler(self, call)
                reply = Reply(200, payload, JSON_HEADERS + rate_headers)
            except ApiError as exc:
                reply = self.error(
                    exc.status, exc.code, exc.message, request_id, rate_headers + exc.headers
                )
            if reply.status == 200 and fault.kind == "truncate":
                reply.body = reply.body[: max(len(reply.body) // 2, 1)]
            elif reply.status == 200 and fault.kind == "empty":
                reply.body = b""
        reply.delay = fault.delay
        return reply

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        route = self.static_routes.get((method, path))
        if route is not None:
            return route, {}
        for candidate in self.templated_routes:
            if candidate.method == method:
                found = candidate.pattern.match(path)
                if found:
                    return candidate, found.groupdict()
        return None, {}

    @staticmethod
    def error(
        status: int,
        code: str,
        message: str,
        request_id: str,
        extra_headers: list[tuple[str, str]] | None = None,
    ) -> Reply:
        return Reply(
            status, error_body(code, message, request_id), JSON_HEADERS + (extra_headers or [])
        )

    # -- helpers the endpoints use -----------------------------------------------------------

    def searchable(self, kind: str) -> list[Record]:
        """Live records the search index has caught up with (`search_lag_seconds` old or more)."""
        return self.searchable_with_key(kind)[0]

    def searchable_with_key(self, kind: str) -> tuple[list[Record], tuple[Any, ...]]:
        """`searchable(kind)` and a key that changes whenever that record set does."""
        store = self.store
        cutoff = store.now - self.search_lag_seconds
        stamp = (store.version, cutoff)
        key = (id(self), kind, *stamp)
        cached = self._searchable.get(kind)
        if cached is not None and cached[0] == stamp:
            return cached[1], key
        table = store.tables[kind]
        records = [table[i] for i in store.sorted_ids(kind)]
        if self.search_lag_seconds:
            records = [
                r for r in records if r["updated_at"] <= cutoff and r["created_at"] <= cutoff
            ]
        self._searchable[kind] = (stamp, records)
        return records, key

    def custom_attribute_types(self, model: str) -> dict[str, str]:
        """Custom attribute name -> data type of a model (date ones match whole days in contact
        search)."""
        return {
            a["name"]: a["data_type"]
            for a in self.store.data_attributes
            if a["model"] == model and a["custom"]
        }

    def find_contact(self, identifier: str, value: str) -> Record | None:
        """A live contact by `intercom_user_id`, `user_id` (external id) or `email`."""
        if identifier == "intercom_user_id":
            return self.store.contacts.get(value)
        version, index = self._contact_index
        if version != self.store.version:
            index = {}
            for contact in self.store.contacts.values():
                if contact["external_id"]:
                    index.setdefault(("user_id", contact["external_id"]), contact)
                if contact["email"]:
                    index.setdefault(("email", contact["email"]), contact)
            self._contact_index = (self.store.version, index)
        return index.get((identifier, value))

    def request_counts(self) -> dict[str, int]:
        with self._counts_lock:
            return dict(sorted(self.counts.items()))

    def reset_request_counts(self) -> None:
        with self._counts_lock:
            self.counts.clear()


def json_reply(status: int, value: Any) -> Reply:
    return Reply(status, orjson.dumps(value), list(JSON_HEADERS))
