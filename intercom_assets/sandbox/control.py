"""`/_sandbox/*`: clock, churn, faults, request counts and ground truth over HTTP (no token)."""

from typing import TYPE_CHECKING

import orjson

from intercom_assets.sandbox.errors import error_body
from intercom_assets.sandbox.faults import FaultConfig

if TYPE_CHECKING:
    from intercom_assets.sandbox.core import Reply, SandboxCore


def handle(core: "SandboxCore", method: str, path: str, body: bytes) -> "Reply":
    from intercom_assets.sandbox.core import JSON_HEADERS, Reply, json_reply

    route = (method, path.removeprefix("/_sandbox"))
    try:
        data = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        return Reply(400, error_body("bad_request", "body is not valid JSON"), list(JSON_HEADERS))
    if route == ("GET", "/clock"):
        return json_reply(200, {"now": core.store.now, "timezone": core.store.timezone})
    if route == ("POST", "/advance"):
        try:
            days = float(data.get("days", 0))
            seconds = int(data.get("seconds", 0))
        except (TypeError, ValueError, AttributeError):
            return Reply(
                400,
                error_body("bad_request", "days and seconds must be numbers"),
                list(JSON_HEADERS),
            )
        return json_reply(200, core.advance_fn(days=days, seconds=seconds).to_json())
    if route == ("PUT", "/faults"):
        try:
            config = FaultConfig.from_json(data)
        except (TypeError, ValueError) as exc:
            return Reply(400, error_body("bad_request", str(exc)), list(JSON_HEADERS))
        core.faults.configure(config)
        return json_reply(200, config.to_json())
    if route == ("GET", "/faults"):
        return json_reply(200, core.faults.config.to_json())
    if route == ("GET", "/requests"):
        return json_reply(200, core.request_counts())
    if route == ("POST", "/requests/reset"):
        core.reset_request_counts()
        return json_reply(200, {})
    if route == ("GET", "/truth"):
        return json_reply(200, core.truth_fn())
    return Reply(
        404, error_body("not_found", f"no sandbox control {method} {path}"), list(JSON_HEADERS)
    )
