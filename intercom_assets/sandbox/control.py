"""`/_sandbox/*`: clock, churn, faults, request counts and ground truth over HTTP (no token)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from intercom_assets.sandbox.churn import ChangeLog
from intercom_assets.sandbox.counts import RequestCounts
from intercom_assets.sandbox.faults import FaultConfig, FaultInjector
from intercom_assets.sandbox.replies import Reply, error_reply, json_reply
from intercom_assets.sandbox.store import Store


@dataclass(frozen=True)
class Controls:
    """The sandbox's controls that `/_sandbox/*` serves."""

    store: Store
    faults: FaultInjector
    counts: RequestCounts
    advance: Callable[..., ChangeLog]
    """`advance(days=..., seconds=...)`: moves the clock, applying churn."""
    truth: Callable[[], dict[str, Any]]

    def handle(self, method: str, path: str, body: bytes) -> Reply:
        route = (method, path.removeprefix("/_sandbox"))
        try:
            data = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError:
            return error_reply(400, "bad_request", "body is not valid JSON")
        if route == ("GET", "/clock"):
            return json_reply(200, {"now": self.store.now, "timezone": self.store.timezone})
        if route == ("POST", "/advance"):
            try:
                days = float(data.get("days", 0))
                seconds = int(data.get("seconds", 0))
            except (TypeError, ValueError, AttributeError):
                return error_reply(400, "bad_request", "days and seconds must be numbers")
            return json_reply(200, self.advance(days=days, seconds=seconds).to_json())
        if route == ("PUT", "/faults"):
            try:
                config = FaultConfig.from_json(data)
            except (TypeError, ValueError) as exc:
                return error_reply(400, "bad_request", str(exc))
            self.faults.configure(config)
            return json_reply(200, config.to_json())
        if route == ("GET", "/faults"):
            return json_reply(200, self.faults.config.to_json())
        if route == ("GET", "/requests"):
            return json_reply(200, self.counts.snapshot())
        if route == ("POST", "/requests/reset"):
            self.counts.reset()
            return json_reply(200, {})
        if route == ("GET", "/truth"):
            return json_reply(200, self.truth())
        return error_reply(404, "not_found", f"no sandbox control {method} {path}")
