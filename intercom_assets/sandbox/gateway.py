"""The framework-free request handler that both the ASGI app and the httpx transport call.

One `Gateway.handle()` call: match the route, count it, check the bearer token, count it
against the rate limit, check `Intercom-Version` and the app's permissions (`permissions`),
roll the fault dice, run the endpoint under the core's lock (`core.py`).
`/_sandbox/*` control endpoints (`control.py`) need no token and are never faulted, rate
limited or counted.
"""

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from intercom_assets.sandbox.churn import ChangeLog
from intercom_assets.sandbox.control import Controls
from intercom_assets.sandbox.core import SandboxCore
from intercom_assets.sandbox.counts import RequestCounts
from intercom_assets.sandbox.endpoints import Call, Handler
from intercom_assets.sandbox.errors import ApiError, new_request_id
from intercom_assets.sandbox.permissions import ALL_PERMISSIONS, required_permission
from intercom_assets.sandbox.ratelimit import RateLimiter
from intercom_assets.sandbox.replies import JSON_HEADERS, Reply, error_reply

SERVED_VERSION = "2.14"
KNOWN_VERSIONS = frozenset(
    [f"1.{i}" for i in range(5)] + [f"2.{i}" for i in range(17)] + ["Preview"]
)
ERROR_TEXT = {
    500: "server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


@dataclass(frozen=True)
class Request:
    """One HTTP request as the app or the transport received it."""

    method: str
    path: str
    query_string: str
    headers: Mapping[str, str]
    """Lower-case names."""
    body: bytes
    base_url: str


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


class Gateway:
    """What every request to one sandbox workspace passes through."""

    def __init__(
        self,
        core: SandboxCore,
        *,
        routes: Iterable[tuple[str, str, Handler]],
        token: str,
        rate_limit_per_minute: int,
        clock: Callable[[], float],
        advance: Callable[..., ChangeLog],
        truth: Callable[[], dict[str, Any]],
        permissions: frozenset[str] = ALL_PERMISSIONS,
        permission_status: int = 403,
    ) -> None:
        self.core = core
        self.permissions = permissions
        self.permission_status = permission_status
        self.static_routes, self.templated_routes = compile_routes(routes)
        self.token = token
        self.rate = RateLimiter(rate_limit_per_minute, clock)
        self.counts = RequestCounts()
        self.controls = Controls(core.store, core.faults, self.counts, advance, truth)

    def handle(self, request: Request) -> Reply:
        """Answer one HTTP request, dated by the simulated clock."""
        return self._answer(request).dated(self.core.store.now)

    def _answer(self, request: Request) -> Reply:
        method, path, headers = request.method, request.path, request.headers
        if path.startswith("/_sandbox/"):
            return self.controls.handle(method, path, request.body)
        route, params = self.match(method, path)
        if route is not None:
            self.counts.add(route.key)
        request_id = new_request_id()
        if headers.get("authorization") != f"Bearer {self.token}":
            return error_reply(401, "unauthorized", "Access Token Invalid", request_id)
        decision = self.rate.hit()
        rate_headers = decision.headers()
        if not decision.allowed:
            return error_reply(
                429, "rate_limit_exceeded", self.rate.message(), request_id, rate_headers
            )
        version = headers.get("intercom-version", SERVED_VERSION)
        if version not in KNOWN_VERSIONS:
            return error_reply(
                400,
                "intercom_version_invalid",
                f"The requested version could not be found: {version!r}",
                request_id,
                rate_headers,
            )
        if route is None:
            return error_reply(
                404, "not_found", f"No route matches {method} {path}", request_id, rate_headers
            )
        needed = required_permission(path)
        if needed is not None and needed not in self.permissions:
            if self.permission_status == 401:
                return error_reply(401, "unauthorized", "Access Token Invalid", request_id)
            return error_reply(
                403,
                "forbidden",
                f"You do not have the required scope ({needed}) to access this resource",
                request_id,
                rate_headers,
            )
        fault = self.core.faults.roll(route.key)
        if fault.kind == "reset":
            return Reply(0, b"", delay=fault.delay, reset=True)
        if fault.kind == "429":
            reply = error_reply(
                429, "rate_limit_exceeded", self.rate.message(), request_id, rate_headers
            )
        elif fault.kind == "error":
            reply = error_reply(
                fault.status, ERROR_TEXT[fault.status], "Server Error", request_id, rate_headers
            )
        else:
            query = dict(parse_qsl(request.query_string, keep_blank_values=True))
            call = Call(params, query, request.body, request.base_url, version)
            try:
                with self.core.lock:
                    payload = route.handler(self.core, call)
                reply = Reply(200, payload, JSON_HEADERS + rate_headers)
            except ApiError as exc:
                reply = error_reply(
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
