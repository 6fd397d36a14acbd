"""Request parsing helpers shared by the endpoints: page sizes, cursors, numbers."""

import base64
from collections.abc import Mapping

import orjson

from intercom_assets.sandbox.errors import ApiError

MAX_PER_PAGE = 150

Query = Mapping[str, str]


def per_page(query: Query, default: int) -> int:
    """`per_page` from the query: 1..150, else 400 (a client asking for more learns at once)."""
    return bounded_per_page(query.get("per_page"), default)


def bounded_per_page(raw: object, default: int, maximum: int = MAX_PER_PAGE) -> int:
    """A `per_page` value: `default` when absent, 1..maximum, else 400."""
    if raw is None or raw == "":
        return default
    try:
        value = int(raw) if isinstance(raw, str | int | float) else None
    except ValueError:
        value = None
    if value is None:
        raise ApiError(400, "parameter_invalid", f"per_page must be an integer, got {raw!r}")
    if not 1 <= value <= maximum:
        raise ApiError(
            400, "parameter_invalid", f"per_page must be between 1 and {maximum}, got {value}"
        )
    return value


def positive_int(query: Query, name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(
            400, "parameter_invalid", f"{name} must be an integer, got {raw!r}"
        ) from None
    if value < 1:
        raise ApiError(400, "parameter_invalid", f"{name} must be at least 1, got {value}")
    return value


def encode_cursor(last_id: str) -> str:
    """An opaque cursor (base64 of a JSON array, so it starts with `Wz` like Intercom's)."""
    return base64.urlsafe_b64encode(orjson.dumps([last_id])).decode()


def decode_cursor(cursor: str) -> str:
    try:
        value = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
            return value[0]
    except (ValueError, orjson.JSONDecodeError):
        pass
    raise ApiError(400, "parameter_invalid", f"starting_after is not a valid cursor: {cursor!r}")


def list_body(
    head: Mapping[str, object], key: str, items: list[bytes], tail: Mapping[str, object]
) -> bytes:
    """`{**head, key: [items...], **tail}` from pre-serialised items, without re-encoding them."""
    parts = [orjson.dumps(dict(head))[:-1]]
    parts.append(b"," if head else b"")
    parts.append(b'"' + key.encode() + b'":[' + b",".join(items) + b"]")
    if tail:
        parts.append(b"," + orjson.dumps(dict(tail))[1:])
    else:
        parts.append(b"}")
    return b"".join(parts)
