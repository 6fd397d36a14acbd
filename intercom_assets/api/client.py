"""The Intercom REST client: one pooled `httpx.Client`, retries, rate limiting, counters."""

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib import metadata
from typing import Any, TypeAlias, cast
from urllib.parse import urlsplit

import httpx
import msgspec
from typing_extensions import TypeVar

from intercom_assets.api.auth import BearerAuth, Secret
from intercom_assets.api.config import (
    DEFAULT_API_VERSION,
    DEFAULT_TIMEOUT,
    RETRY_STATUSES,
    RetryPolicy,
    base_url_for,
    region_code,
    region_of_url,
    timeout_for,
)
from intercom_assets.api.counters import ClientCounters
from intercom_assets.api.errors import (
    IntercomError,
    IntercomProtocolError,
    IntercomTransportError,
    error_for_status,
)
from intercom_assets.api.ratelimit import RateLimiter, limiter_for, token_fingerprint
from intercom_assets.api.routes import route_template

logger = logging.getLogger("intercom_assets.api")


def _project_version() -> str:
    try:
        return metadata.version("intercom-assets")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


USER_AGENT = f"intercom-assets/{_project_version()}"
Params = Mapping[str, str | int | float | bool | None]
Body = TypeVar("Body", default=dict[str, Any])
"""What a request returns: `decode`'s result; the JSON object (a dict) when there is none."""
Decoder: TypeAlias = Callable[[bytes], Body]
"""A `decode=` callable: the 2xx body's bytes in, the request's result out."""


class BodyNotAnObject(ValueError):
    """Raised by a `decode=` callable when the JSON body is not an object (retried)."""


def json_object(body: bytes) -> dict[str, Any]:
    """The default `decode=`: the body as a dict; any other JSON raises `BodyNotAnObject`."""
    data = msgspec.json.decode(body)
    if not isinstance(data, dict):
        raise BodyNotAnObject(f"expected a JSON object, got {type(data).__name__}")
    return data


@dataclass(frozen=True)
class Workspace:
    """What `GET /me` says about the workspace the token belongs to."""

    app_id: str
    name: str
    region: str | None
    timezone: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)


class IntercomClient:
    """A synchronous Intercom client, safe to share between threads.

    `token` is an access token; `region` ("US", "EU", "AU") picks Intercom's host unless
    `base_url` is given (e.g. a sandbox). Every request carries explicit timeouts, the pinned
    `Intercom-Version` and the project's User-Agent; it waits on the shared rate limiter,
    is retried per `retry` on 429, 5xx, transport errors and unreadable bodies, and raises a
    typed `IntercomError` on other failures. `transport` replaces the network (tests).
    """

    def __init__(
        self,
        token: str,
        *,
        region: str | None = "US",
        base_url: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        max_connections: int = 32,
        limiter: RateLimiter | None = None,
    ) -> None:
        if not token or not token.strip():
            raise ValueError("an Intercom access token is required")
        self._token = Secret(token)
        self.base_url = base_url_for(region, base_url)
        self.region = (region or "US").upper()
        self.api_version = api_version
        self.timeout = timeout_for(timeout)
        self.retry = retry or RetryPolicy()
        self.limiter = limiter or limiter_for(self.base_url, token)
        self.counters = ClientCounters()
        self._server_time: datetime | None = None
        self._origin = _origin(self.base_url)
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=BearerAuth(self._token),
            headers={
                "Accept": "application/json",
                "Intercom-Version": api_version,
                "User-Agent": USER_AGENT,
            },
            timeout=self.timeout,
            transport=transport,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"IntercomClient(base_url={self.base_url!r}, api_version={self.api_version!r})"

    def __enter__(self) -> "IntercomClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    @property
    def token_fingerprint(self) -> str:
        """A non-reversible fingerprint of the token (for lock names and cache keys)."""
        return token_fingerprint(self._token.reveal())

    def snapshot(self) -> dict[str, Any]:
        """The client's counters as a plain dict (for asset metadata)."""
        return self.counters.snapshot()

    def server_time(self) -> datetime | None:
        """Intercom's clock as of the latest answer (its `Date` header), None before any."""
        return self._server_time

    def me(self) -> Workspace:
        """The workspace of the token: app id and name, region and time zone."""
        body = self.get("/me")
        app = body.get("app") or {}
        if not isinstance(app, dict) or not app.get("id_code"):
            raise IntercomProtocolError("GET /me returned no app.id_code", method="GET", path="/me")
        return Workspace(
            app_id=str(app["id_code"]),
            name=str(app.get("name") or ""),
            region=app.get("region"),
            timezone=app.get("timezone"),
            raw=body,
        )

    def region_mismatch(self, workspace: Workspace) -> tuple[str, str] | None:
        """`(workspace's region, region called)` when `GET /me` names another region than the
        one this client calls (the base URL's, for an Intercom host; else the `region` given),
        None when they agree or the workspace's region is not a known one."""
        hosted = region_code(workspace.region)
        called = region_of_url(self.base_url) or self.region
        return None if hosted is None or hosted == called else (hosted, called)

    def get(
        self,
        path: str,
        params: Params | None = None,
        *,
        route: str | None = None,
        decode: Decoder[Body] | None = None,
    ) -> Body:
        """GET `path` (relative, or an absolute URL on the same host) and return its JSON.

        With `decode`, the 2xx body goes through `decode(body)` instead (see `request`).
        """
        return self.request("GET", path, params=params, route=route, decode=decode)

    def post(
        self,
        path: str,
        json: Any,
        params: Params | None = None,
        *,
        route: str | None = None,
        decode: Decoder[Body] | None = None,
    ) -> Body:
        """POST a JSON body to `path` and return the response's JSON (or `decode(body)`)."""
        return self.request("POST", path, params=params, json=json, route=route, decode=decode)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        route: str | None = None,
        headers: Mapping[str, str] | None = None,
        decode: Decoder[Body] | None = None,
    ) -> Body:
        """Send one API request with rate limiting and retries; return the decoded JSON object.

        With `decode`, a 2xx body is passed to `decode(body)` instead of `json_object` and
        its result is returned as is. A `decode` that raises `ValueError` (msgspec's
        `DecodeError` and `ValidationError` are ones) counts as invalid or truncated JSON,
        `BodyNotAnObject` as a body that is not an object: both are retried.
        Any other exception it raises propagates at once.
        """
        method = method.upper()
        url = self._resolve(path)
        path_only = urlsplit(url).path or "/"
        route = route or route_template(method, url)
        clean_params = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        content = msgspec.json.encode(json) if json is not None else None
        send_headers = dict(headers or {})
        if content is not None:
            send_headers["Content-Type"] = "application/json"
        policy = self.retry
        deadline = time.monotonic() + policy.max_total_seconds
        attempt = 0
        while True:
            attempt += 1
            self.counters.waited(self.limiter.acquire())
            outcome = self._attempt(
                method, url, path_only, route, clean_params, content, send_headers, decode
            )
            failure = outcome.failure
            if failure is None:
                # what `decode` returned, or `json_object`'s dict (Body's default) without one
                return cast(Body, outcome.data)
            if attempt >= policy.max_attempts or time.monotonic() >= deadline:
                failure.attempts = attempt
                raise failure
            # A 429 that spent the window is waited out in the limiter (every thread waits).
            delay = 0.0 if outcome.window_wait else policy.delay(attempt)
            delay = min(delay, max(0.0, deadline - time.monotonic()))
            logger.debug(
                "retrying %s (attempt %d) in %.2f s: %s", route, attempt + 1, delay, failure
            )
            self.counters.retry(delay)
            if delay > 0:
                time.sleep(delay)

    def _attempt(
        self,
        method: str,
        url: str,
        path: str,
        route: str,
        params: dict[str, str],
        content: bytes | None,
        headers: dict[str, str],
        decode: Decoder[Any] | None = None,
    ) -> "_Outcome":
        """One HTTP exchange; raises at once for statuses that are never retried."""
        started = time.monotonic()
        try:
            response = self._http.request(
                method,
                url,
                params=params or None,
                content=content,
                headers=headers,
                timeout=self.timeout,
            )
        except httpx.TransportError as exc:
            self.limiter.cancel()
            self.counters.request(route, 0)
            logger.debug("%s -> %s after %.1f ms", route, type(exc).__name__, _ms(started))
            return _Outcome(self._error(type(exc).__name__, method, path))
        body = response.content
        status = response.status_code
        self._note_server_time(response.headers.get("date"))
        rate_limited = status == 429
        window_wait = self.limiter.release(response.headers, rate_limited=rate_limited)
        self.counters.request(route, len(body))
        logger.debug("%s -> %d in %.1f ms (%d bytes)", route, status, _ms(started), len(body))
        if 200 <= status < 300:
            if not body.strip():
                return _Outcome(self._error("empty body", method, path, status))
            try:
                return _Outcome(None, data=(decode or json_object)(body))
            except BodyNotAnObject:
                return _Outcome(self._error("JSON body is not an object", method, path, status))
            except ValueError:  # msgspec's DecodeError and ValidationError are ValueErrors
                return _Outcome(self._error("invalid or truncated JSON", method, path, status))
        if rate_limited:
            self.counters.rate_limited()
        error = error_for_status(
            status,
            _loads_or_none(body),
            method=method,
            path=path,
            token=self._token.reveal(),
            link=response.headers.get("link"),
        )
        if status not in RETRY_STATUSES:
            raise error
        return _Outcome(error, window_wait=window_wait)

    def _note_server_time(self, header: str | None) -> None:
        if not header:
            return
        try:
            stamp = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        self._server_time = stamp

    @staticmethod
    def _error(what: str, method: str, path: str, status: int | None = None) -> IntercomError:
        suffix = f" (HTTP {status})" if status is not None else ""
        return IntercomTransportError(
            f"{method} {path} failed: {what}{suffix}", method=method, path=path, status=status
        )

    def _resolve(self, path: str) -> str:
        """A relative path, or an absolute URL checked to be on the client's own host."""
        if "://" in path:
            if _origin(path) != self._origin:
                raise IntercomProtocolError(
                    f"refusing to send the token to another host: {_origin(path)}",
                    path=urlsplit(path).path,
                )
            return path
        return path if path.startswith("/") else f"/{path}"


@dataclass(frozen=True)
class _Outcome:
    """What one attempt produced: a decoded body, or a retryable failure."""

    failure: IntercomError | None
    data: Any = field(default_factory=dict)
    window_wait: bool = False


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _param(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _loads_or_none(body: bytes) -> Any:
    try:
        return msgspec.json.decode(body) if body else None
    except msgspec.DecodeError:
        return None


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000
