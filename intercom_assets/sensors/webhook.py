"""Posting an alert body with retries inside one tick (run failures, failed change probes)."""

import time
from collections.abc import Mapping
from typing import Any

from intercom_assets.resources import AlertWebhookResource

WEBHOOK_ATTEMPTS = 3
"""A run-failure alert is tried this many times in its tick (1 s, then 2 s apart): Dagster
moves a run-failure sensor past a run whether or not its alert got through."""


def post_alert(
    webhook: AlertWebhookResource, body: Mapping[str, Any], retry_delay_seconds: float
) -> str | None:
    """Posts `body`, up to `WEBHOOK_ATTEMPTS` times; the last error, or None once sent."""
    error: str | None = None
    for attempt in range(WEBHOOK_ATTEMPTS):
        if attempt:
            time.sleep(retry_delay_seconds * attempt)
        error = webhook.post(body)
        if error is None:
            return None
    return error
