"""The ground truth: every live record as the API returns it, plus what vanished."""

from collections.abc import Iterable
from typing import Any

import orjson

from intercom_assets.sandbox.resource import Resource
from intercom_assets.sandbox.store import Store


def build_truth(store: Store, resources: Iterable[Resource]) -> dict[str, Any]:
    """`now`, `timezone` and every resource's keys (shape documented in the package docstring)."""
    out: dict[str, Any] = {"now": store.now, "timezone": store.timezone}
    for resource in resources:
        part = resource.truth(store)
        clash = out.keys() & part.keys()
        if clash:
            raise ValueError(f"{type(resource).__name__} repeats truth keys {sorted(clash)}")
        out.update(part)
    # One round trip so the caller owns an independent copy of every nested value.
    copy: dict[str, Any] = orjson.loads(orjson.dumps(out))
    return copy
