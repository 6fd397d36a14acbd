"""What the alert sensors post: freshness digests, run failures and failed change-sensor
ticks, as one JSON body each.

A body is Slack-compatible (`text`, the whole message in plain text, plus `blocks` for
Slack's layout) and plain JSON for any other receiver (`alerts`: one object per asset or run
with the same fields). Building a body reads nothing and posts nothing; the sensors in
`intercom_assets.sensors` decide what to post and `AlertWebhookResource` posts it.

Errors in run-failure alerts pass through `redact`: the values of the secret settings (token,
database URL and its password, webhook URL) and any credentials in URLs or `Bearer` headers
are replaced by `***`, and the message is cut to one line.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

ALERT_STATES = frozenset({"WARN", "FAIL"})
PASS = "PASS"  # noqa: S105 (a freshness state, not a password)
UNKNOWN = "UNKNOWN"
"""Dagster's freshness state of an asset never materialized: alerted once it has lasted the
grace period."""

MAX_BLOCKS = 45
"""Slack takes 50 blocks a message; the rest of a long digest is summarised in one block."""
ERROR_CHARS = 300
REDACTED = "***"

_URL_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]+@")
_BEARER = re.compile(r"(?i)(bearer\s+)\S+")


# --- freshness ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Freshness:
    """One asset's freshness state as Dagster's FreshnessDaemon recorded it (the state the UI
    shows), and the latest materialization that state was judged from."""

    asset: str
    state: str
    """Dagster's `FreshnessState`: PASS, WARN, FAIL, or UNKNOWN (never materialized)."""
    since: datetime
    """When the FreshnessDaemon recorded this state."""
    materialized_at: datetime | None = None
    partition: str | None = None
    """The partition of that materialization (None: unpartitioned)."""
    age_hours: float | None = None
    """Hours from that materialization to the tick."""


@dataclass(frozen=True)
class Thresholds:
    warn_hours: float
    fail_hours: float
    grace_hours: float


def overdue(state: str, since: datetime, now: datetime, grace_hours: float) -> bool:
    """A never-materialized (UNKNOWN) asset has been so for the grace period."""
    return state == UNKNOWN and (now - since).total_seconds() >= grace_hours * 3600


def is_transition(old: str | None, new: str, *, overdue: bool = False) -> bool:
    """Worth an alert: into WARN or FAIL (or between them), into UNKNOWN once `overdue`, or
    back to PASS from any of these."""
    if new in ALERT_STATES or (new == UNKNOWN and overdue):
        return new != old
    return new == PASS and (old in ALERT_STATES or old == UNKNOWN)


@dataclass(frozen=True)
class FreshnessAlert:
    freshness: Freshness
    previous: str | None
    thresholds: Thresholds
    url: str | None

    @property
    def reason(self) -> str:
        f = self.freshness
        if f.state == PASS:
            return "recovered"
        return "never materialized" if f.state == UNKNOWN else "stale"

    def fields(self) -> dict[str, Any]:
        f, t = self.freshness, self.thresholds
        return {
            "kind": "freshness",
            "asset": f.asset,
            "state": f.state,
            "previous": self.previous,
            "reason": self.reason,
            "state_since": _iso(f.since),
            "partition": f.partition,
            "last_materialization": _iso(f.materialized_at),
            "age_hours": None if f.age_hours is None else round(f.age_hours, 2),
            "warn_hours": t.warn_hours,
            "fail_hours": t.fail_hours,
            "grace_hours": t.grace_hours if f.state == UNKNOWN else None,
            "url": self.url,
        }

    def headline(self) -> str:
        f = self.freshness
        was = self.previous or "not announced"
        if f.state == PASS:
            return f"{f.asset} recovered: PASS (was {was})"
        return f"{f.asset} is {f.state} ({self.reason}; was {was})"

    def details(self) -> str:
        f, t = self.freshness, self.thresholds
        limits = f"WARN after {t.warn_hours:g} h, FAIL after {t.fail_hours:g} h"
        if f.state == UNKNOWN or f.materialized_at is None or f.age_hours is None:
            return (
                f"never materialized; {f.state} since {_text_time(f.since)}, grace"
                f" {t.grace_hours:g} h; {limits}"
            )
        partition = f" (partition {f.partition})" if f.partition else ""
        return (
            f"last materialization {_text_time(f.materialized_at)}{partition},"
            f" {f.age_hours:.1f} h old; {f.state} since {_text_time(f.since)}; {limits}"
        )


def freshness_message(alerts: Sequence[FreshnessAlert]) -> dict[str, Any]:
    """One tick's transitions as one webhook body."""
    labels = {"FAIL": "FAIL", "WARN": "WARN", UNKNOWN: "never materialized", PASS: "recovered"}
    counts = {s: sum(a.freshness.state == s for a in alerts) for s in labels}
    summary = ", ".join(f"{n} {labels[s]}" for s, n in counts.items() if n)
    title = f"Intercom freshness: {summary}"
    lines = [title]
    blocks: list[dict[str, Any]] = [_header(title)]
    for i, alert in enumerate(alerts):
        link = f" {alert.url}" if alert.url else ""
        lines.append(f"- {alert.headline()}: {alert.details()}.{link}")
        if i < MAX_BLOCKS:
            name = _slack_link(alert.url, alert.freshness.asset)
            rest = _escape(alert.headline().removeprefix(alert.freshness.asset))
            blocks.append(_section(f"*{name}*{rest}\n{_escape(alert.details())}"))
    if len(alerts) > MAX_BLOCKS:
        blocks.append(_section(f"... and {len(alerts) - MAX_BLOCKS} more (see `text`)"))
    return {"text": "\n".join(lines), "blocks": blocks, "alerts": [a.fields() for a in alerts]}


# --- run failures -------------------------------------------------------------------------


@dataclass(frozen=True)
class StepFailure:
    step: str
    error: str
    """One line, redacted."""


@dataclass(frozen=True)
class RunFailure:
    run_id: str
    job: str
    partitions: str | None
    """`2026-11-27`, or `2026-11-01...2026-11-27` for a single-run range; None: unpartitioned."""
    launched_by: str
    steps: Sequence[StepFailure]
    error: str
    """The run's own failure message (one line, redacted): what failed when no step did."""
    url: str | None

    def fields(self) -> dict[str, Any]:
        return {
            "kind": "run_failure",
            "run_id": self.run_id,
            "job": self.job,
            "partitions": self.partitions,
            "launched_by": self.launched_by,
            "failed_steps": [{"step": s.step, "error": s.error} for s in self.steps],
            "step": self.steps[0].step if self.steps else None,
            "error": self.steps[0].error if self.steps else self.error,
            "url": self.url,
        }

    def headline(self) -> str:
        where = f" for {self.partitions}" if self.partitions else ""
        return f"Intercom run failed: {self.job}{where} ({self.launched_by})"


@dataclass(frozen=True)
class SensorFailure:
    """A sensor tick that failed (e.g. the change sensor could not ask Intercom)."""

    sensor: str
    error: str
    """One line, redacted."""
    url: str | None

    def fields(self) -> dict[str, Any]:
        return {
            "kind": "sensor_failure",
            "sensor": self.sensor,
            "error": self.error,
            "url": self.url,
        }

    def headline(self) -> str:
        return f"Intercom sensor tick failed: {self.sensor}"


def sensor_failure_message(failure: SensorFailure) -> dict[str, Any]:
    """One failed sensor tick as one webhook body."""
    title = failure.headline()
    lines = [title, f"- {failure.error}", "No run was requested; the next tick asks again."]
    body = "\n".join(_escape(line) for line in lines[1:])
    if failure.url:
        lines.append(failure.url)
        body += f"\n{_slack_link(failure.url, 'sensor')}"
    blocks = [_header(title), _section(body)]
    return {"text": "\n".join(lines), "blocks": blocks, "alerts": [failure.fields()]}


def partitions_of(tags: Mapping[str, str]) -> str | None:
    """The run's partition or single-run range from its tags."""
    if "dagster/partition" in tags:
        return tags["dagster/partition"]
    start = tags.get("dagster/asset_partition_range_start")
    end = tags.get("dagster/asset_partition_range_end")
    if start and end:
        return start if start == end else f"{start}...{end}"
    return None


def launched_by(tags: Mapping[str, str]) -> str:
    if "dagster/schedule_name" in tags:
        return f"schedule {tags['dagster/schedule_name']}"
    if "dagster/sensor_name" in tags:
        return f"sensor {tags['dagster/sensor_name']}"
    if "dagster/backfill" in tags:
        return f"backfill {tags['dagster/backfill']}"
    return "launched by hand"


def run_failure_message(failure: RunFailure) -> dict[str, Any]:
    """One failed run as one webhook body."""
    title = failure.headline()
    lines = [title, f"run {failure.run_id}"]
    shown = failure.steps[:MAX_BLOCKS]
    for s in shown:
        lines.append(f"- step {s.step}: {s.error}")
    if not failure.steps:
        lines.append(f"- {failure.error}")
    if len(failure.steps) > len(shown):
        lines.append(f"... and {len(failure.steps) - len(shown)} more failed steps")
    if failure.url:
        lines.append(failure.url)
    run = _slack_link(failure.url, failure.run_id)
    body = "\n".join(_escape(line) for line in lines[2:] if line != failure.url)
    blocks = [_header(title), _section(f"run {run}\n{body}")]
    return {"text": "\n".join(lines), "blocks": blocks, "alerts": [failure.fields()]}


# --- secrets ------------------------------------------------------------------------------


def secrets_of(values: Iterable[str | None]) -> list[str]:
    """The strings to hide for these secret values: each value and, for a URL, its password
    and user:password part. Longest first, so a URL is hidden before its parts."""
    found: set[str] = set()
    for value in values:
        if not value or len(value) < 4:
            continue
        found.add(value)
        try:
            parts = urlsplit(value)
            password = parts.password
        except ValueError:
            continue
        if password and len(password) >= 4:
            found.add(password)
    return sorted(found, key=len, reverse=True)


def redact(text: str, secrets: Sequence[str]) -> str:
    """`text` without any of `secrets`, URL credentials or bearer tokens."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    text = _URL_CREDENTIALS.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", text)
    return _BEARER.sub(lambda m: f"{m.group(1)}{REDACTED}", text)


def one_line(text: str, limit: int = ERROR_CHARS) -> str:
    """The first non-blank line of `text`, cut to `limit` characters; a first line that ends
    with a colon (a list follows, as in Dagster's failed-check error) takes the next one."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    line = lines[0] if lines else ""
    if line.endswith(":") and len(lines) > 1:
        line = f"{line} {lines[1]}"
    return line if len(line) <= limit else line[: limit - 3] + "..."


# --- formatting ---------------------------------------------------------------------------


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat(timespec="seconds")


def _text_time(at: datetime | None) -> str:
    return "unknown" if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _escape(text: str) -> str:
    """Slack's mrkdwn control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_link(url: str | None, label: str) -> str:
    return f"<{url}|{_escape(label)}>" if url else _escape(label)


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150]}}


def _section(mrkdwn: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn[:3000]}}
