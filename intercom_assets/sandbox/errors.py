"""Intercom's error body and the exception the request handlers raise to produce it."""

import uuid

import orjson


class ApiError(Exception):
    """An HTTP error answered with Intercom's `error.list` body."""

    def __init__(
        self, status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or []


def new_request_id() -> str:
    """A fresh request id (a UUID, as Intercom sends)."""
    return str(uuid.uuid4())


def error_body(code: str, message: str, request_id: str | None = None) -> bytes:
    """`{"type": "error.list", "request_id": ..., "errors": [{"code": ..., "message": ...}]}`."""
    return orjson.dumps(
        {
            "type": "error.list",
            "request_id": request_id or new_request_id(),
            "errors": [{"code": code, "message": message}],
        }
    )
