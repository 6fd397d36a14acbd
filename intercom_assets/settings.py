"""Configuration: every environment variable the project reads, typed, with its default.

Nothing here is read when a module imports. The code location's `@dg.definitions` function
(`intercom_assets.definitions.defs`) reads the environment once, when Dagster loads it:

- settings that shape the definitions (`read="load"`: partition start and time zone, the
  change sensor's interval, the freshness windows, the never-loaded grace period) become
  `PartitionSettings` and `AutomationSettings`;
- settings of resources (`read="run"`) are wired into the resources as `dg.EnvVar(name)` when
  the variable is set, so the UI shows which variable feeds each field and Dagster resolves
  the value when a run (or a sensor tick) starts; an unset optional variable passes its
  default instead (an `EnvVar` on an unset variable fails at run time).

Every value is checked where it is read, and again by the resource when it is used: a wrong
one raises `SettingError`, one line that names the variable and the form it expects (never
the value of a secret).

One exception: the run-failure alert sensor reads the secret variables (`secret_values()`) at
each tick, only to cut their values out of error messages before posting them.

`SETTINGS` lists every variable; `configuration_table()` renders them as the README's
configuration table.
"""

import logging
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dagster as dg

from intercom_assets.api import DEFAULT_API_VERSION
from intercom_assets.warehouse import ALL, HistoryTables

T = TypeVar("T")
Environ = Mapping[str, str]


class SettingError(ValueError):
    """A setting holds a value of the wrong form. The message is one line and names the
    variable and the expected form."""


class Reason(ValueError):
    """A parser's explanation of a wrong value that is safe to show even for a secret
    setting (it never quotes the value): "unknown scheme 'mysql'"."""


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One environment variable: its name, type (through `parse`), default and meaning."""

    variable: str
    default: T | None
    """None: no default (the token is required; without a base URL the region decides)."""
    expected: str
    """The expected form, as error messages name it: "a date like 2024-01-01"."""
    parse: Callable[[str], T]
    """Text to value; raises ValueError (any message) for a wrong form."""
    read: Literal["load", "run"]
    meaning: str
    secret: bool = False
    """Its value never appears in an error (the token; URLs that may carry credentials)."""

    def raw(self, environ: Environ | None = None) -> str | None:
        """The variable's text, or None when it is unset or blank."""
        value = (os.environ if environ is None else environ).get(self.variable, "").strip()
        return value or None

    def check(self, text: str, name: str | None = None) -> T:
        """`text` parsed, or a `SettingError` naming the variable (or `name`, e.g. a command
        line option that gave the value) and the expected form."""
        name = name or self.variable
        got = "" if self.secret else f", got {text!r}"
        try:
            return self.parse(text.strip())
        except Reason as reason:
            raise SettingError(f"{name} must be {self.expected}{got} ({reason})") from None
        except (ValueError, TypeError):
            raise SettingError(f"{name} must be {self.expected}{got}") from None

    def value(self, environ: Environ | None = None) -> T | None:
        """The variable's value, parsed, or the default when it is unset."""
        raw = self.raw(environ)
        return self.default if raw is None else self.check(raw)

    def get(self, environ: Environ | None = None) -> T:
        """The variable's value, parsed, or the default; a `SettingError` without either."""
        value = self.value(environ)
        if value is None:
            raise SettingError(f"{self.variable} must be set to {self.expected}")
        return value

    def field(self, environ: Environ | None = None) -> Any:
        """What to give the resource field this variable feeds: `dg.EnvVar(variable)` when
        it is set (after checking its value now, so a wrong one fails when the definitions
        load), else the default. Values given as `GivenSettings` pass a literal as it is and
        a variable as `dg.EnvVar` of that variable."""
        raw = self.raw(environ)
        if raw is None:
            return self.default
        value = self.check(raw)
        variable = _source(self, environ)
        if variable is not None:
            return dg.EnvVar(variable)
        # A resource field holds a plain value; a parsed set (history's tables) goes as the
        # checked text, which the resource parses again.
        return value if isinstance(value, str | int | float | bool) else raw

    def reference(self, environ: Environ | None = None) -> Any:
        """A required resource field: `dg.EnvVar` of its variable, set or not (a run without
        it fails saying so), or the literal given as `GivenSettings`."""
        variable = _source(self, environ)
        if variable is None:
            return self.check(self.raw(environ) or "")
        return dg.EnvVar(variable)


class GivenSettings(Mapping[str, str]):
    """Settings given other than by their own environment variables (the attributes of
    `intercom_assets.component.IntercomAssetsComponent`), read like the environment.

    `given` maps a setting's variable to its literal text, or to `dg.EnvVar(other)`: the
    value of the environment variable `other` (read now for the settings that shape the
    definitions, wired as `dg.EnvVar(other)` into resources). A setting not given reads its
    own variable, as the code location does.
    """

    def __init__(self, given: Mapping[str, str], environ: Environ | None = None) -> None:
        self._given = dict(given)
        self._environ = os.environ if environ is None else environ

    def source(self, variable: str) -> str | None:
        """The environment variable behind `variable`'s value, or None for a literal."""
        value = self._given.get(variable)
        if value is None:
            return variable
        return value.env_var_name if isinstance(value, dg.EnvVar) else None

    def __getitem__(self, variable: str) -> str:
        source = self.source(variable)
        if source is None:
            return self._given[variable]
        return self._environ[source]

    def __iter__(self) -> Iterator[str]:
        return iter({*self._given, *self._environ})

    def __len__(self) -> int:
        return len({*self._given, *self._environ})


def _source(setting: "Setting[Any]", environ: Environ | None) -> str | None:
    if isinstance(environ, GivenSettings):
        return environ.source(setting.variable)
    return setting.variable


# --- parsers (each raises ValueError for a wrong form) ------------------------------------

REGIONS = ("US", "EU", "AU")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
API_VERSION = re.compile(r"\d+\.\d+|Preview|Unstable")
PREVIEW = "Preview"
UNSTABLE = "Unstable"
"""Intercom's name for `Preview` until 2026-04: accepted, sent as `Preview`."""


def _date(text: str) -> str:
    date.fromisoformat(text)
    if len(text) != 10:
        raise ValueError(text)
    return text


def _zone(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(text) from exc
    return text


def _region(text: str) -> str:
    if text.upper() not in REGIONS:
        raise ValueError(text)
    return text.upper()


def _http_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not an http(s) URL")
    return text


def _api_version(text: str) -> str:
    if not API_VERSION.fullmatch(text):
        raise ValueError(text)
    if text == UNSTABLE:
        logging.getLogger(__name__).warning(
            "INTERCOM_API_VERSION=Unstable is Intercom's former name of Preview:"
            " sending Preview (set Preview to silence this note)"
        )
        return PREVIEW
    return text


def database_url(text: str) -> str:
    """`text` if it is a warehouse URL, else a `Reason` (never quoting the URL, which may hold
    a password): `postgresql://[user[:password]@][host][:port]/database` (libpq reads the
    rest: a socket directory or a default host is fine) or `duckdb:///path` (relative to the
    working directory; `duckdb:////abs/path` for an absolute one)."""
    scheme, separator, rest = text.partition("://")
    if not separator:
        raise Reason("not a URL: expected a scheme such as postgresql:// or duckdb:///")
    if scheme in ("postgresql", "postgres"):
        path = urlsplit(text).path.strip("/")
        if not path:
            raise Reason("no database name after the host: add /<database>")
        return text
    if scheme == "duckdb":
        if not rest.startswith("/") or not rest[1:] or rest[1:].endswith("/"):
            raise Reason("no file after duckdb:///, e.g. duckdb:///intercom.duckdb")
        return text
    raise Reason(f"unknown scheme {scheme[:20]!r}: use postgresql:// or duckdb:///")


def _identifier(text: str) -> str:
    if not IDENTIFIER.fullmatch(text):
        raise ValueError(text)
    return text


def _token(text: str) -> str:
    if not text or any(c.isspace() for c in text):
        raise ValueError("blank or contains whitespace")
    return text


def _positive_int(text: str) -> int:
    number = int(text)
    if number < 1:
        raise ValueError(text)
    return number


def _boolean(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


def _history(text: str) -> HistoryTables:
    """`all`, or comma-separated entity tables of the streams (`contacts,companies`)."""
    if text.lower() == ALL:
        return ALL
    from intercom_assets.streams import STREAMS  # the tables the streams write

    entity_tables = {spec.name for s in STREAMS for spec in s.tables if spec.is_entity}
    names = frozenset(name.strip() for name in text.split(","))
    if not names or not names <= entity_tables:
        raise ValueError(text)
    return names


def _positive_hours(text: str) -> float:
    number = float(text)
    if not 0 < number < float("inf"):
        raise ValueError(text)
    return number


# --- defaults ------------------------------------------------------------------------------

DEFAULT_REGION = "US"
DEFAULT_DATABASE_URL = "duckdb:///intercom.duckdb"
DEFAULT_SCHEMA = "intercom"
DEFAULT_START_DATE = "2024-01-01"
DEFAULT_TIMEZONE = "UTC"
DEFAULT_CHANGE_INTERVAL_SECONDS = 300
DEFAULT_FRESHNESS_WARN_HOURS = 26.0
"""A stream is materialized at least daily (the 00:30 run of yesterday): about 24 h apart, so
26 h leaves a late daily run 2 h."""
DEFAULT_FRESHNESS_FAIL_HOURS = 30.0
DEFAULT_NEVER_LOADED_GRACE_HOURS = DEFAULT_FRESHNESS_WARN_HOURS
"""An asset never materialized (freshness UNKNOWN) alerts once it has been so this long."""
DEFAULT_EVENTS_RECHECK_DAYS = 7
"""Well inside Intercom's 90-day event listing; costs about 1/7 of the contacts a day."""


# --- the settings --------------------------------------------------------------------------

ACCESS_TOKEN: Setting[str] = Setting(
    "INTERCOM_ACCESS_TOKEN",
    None,
    "an Intercom access token (no spaces)",
    _token,
    "run",
    "access token (the UI shows only the name)",
    secret=True,
)
REGION: Setting[str] = Setting(
    "INTERCOM_REGION",
    DEFAULT_REGION,
    "one of US, EU or AU",
    _region,
    "run",
    "`US`, `EU` or `AU`: picks Intercom's host",
)
BASE_URL: Setting[str] = Setting(
    "INTERCOM_BASE_URL",
    None,
    "an http(s) URL such as https://api.intercom.io",
    _http_url,
    "run",
    "explicit API base URL, wins over the region (e.g. a sandbox)",
)
API_VERSION_SETTING: Setting[str] = Setting(
    "INTERCOM_API_VERSION",
    DEFAULT_API_VERSION,
    "an Intercom API version such as 2.14, 2.15, 2.16 or Preview",
    _api_version,
    "run",
    "sent as `Intercom-Version` (`Unstable` is read as `Preview`); `2.15` adds"
    " `conversations.company_id`; `2.16` the deleted-conversations feed (deletes arrive with"
    " the next conversations run), company notes, contact merge history (merges with their"
    " time, `contact_merges.merged_at`; docs/change-matrix.md) and a few columns; which to"
    " choose: docs/operations.md",
)
DATABASE_URL: Setting[str] = Setting(
    "INTERCOM_ASSETS_DATABASE_URL",
    DEFAULT_DATABASE_URL,
    "postgresql://user@host:port/db or duckdb:///path/file.duckdb",
    database_url,
    "run",
    "`postgresql://user@host:port/db` or `duckdb:///path` (relative to the working"
    " directory; `duckdb:////abs/path` is absolute): the warehouse",
    secret=True,
)
SCHEMA: Setting[str] = Setting(
    "INTERCOM_ASSETS_SCHEMA",
    DEFAULT_SCHEMA,
    "an SQL identifier such as intercom (letters, digits, _)",
    _identifier,
    "run",
    "schema of the tables",
)
ALERT_WEBHOOK_URL: Setting[str] = Setting(
    "INTERCOM_ASSETS_ALERT_WEBHOOK_URL",
    None,
    "an http(s) URL such as https://hooks.slack.com/services/...",
    _http_url,
    "run",
    "Slack-compatible webhook for freshness and run-failure alerts (resolved each tick);"
    " unset: log only",
    secret=True,
)
UI_BASE_URL: Setting[str] = Setting(
    "INTERCOM_ASSETS_UI_BASE_URL",
    None,
    "an http(s) URL such as http://localhost:3000",
    _http_url,
    "run",
    "the Dagster UI's address, for links to assets and runs in alerts; unset: no links",
)
EVENTS_RECHECK_DAYS: Setting[int] = Setting(
    "INTERCOM_ASSETS_EVENTS_RECHECK_DAYS",
    DEFAULT_EVENTS_RECHECK_DAYS,
    "a whole number of days >= 1",
    _positive_int,
    "run",
    "every contact's events are re-read at least this often (events that move no timestamp)",
)
ALLOW_EMPTY_LISTINGS: Setting[bool] = Setting(
    "INTERCOM_ASSETS_ALLOW_EMPTY_LISTINGS",
    False,
    "true or false",
    _boolean,
    "run",
    "let an empty complete listing soft-delete a whole table (refused otherwise)",
)
HISTORY: Setting[HistoryTables] = Setting(
    "INTERCOM_ASSETS_HISTORY",
    None,
    "all or comma-separated entity tables such as contacts,companies,conversations",
    _history,
    "run",
    "tables that keep every version in `<table>_history` (`all`: every entity table);"
    " unset: none (docs/warehouse.md, History)",
)
START_DATE: Setting[str] = Setting(
    "INTERCOM_ASSETS_START_DATE",
    DEFAULT_START_DATE,
    "a date like 2024-01-01",
    _date,
    "load",
    "first partition (`YYYY-MM-DD`); it also covers everything before it",
)
TIMEZONE: Setting[str] = Setting(
    "INTERCOM_ASSETS_TIMEZONE",
    DEFAULT_TIMEZONE,
    "an IANA time zone such as Europe/Berlin",
    _zone,
    "load",
    "partition days' time zone: set the workspace's",
)
CHANGE_SENSOR_INTERVAL: Setting[int] = Setting(
    "INTERCOM_ASSETS_CHANGE_SENSOR_INTERVAL_SECONDS",
    DEFAULT_CHANGE_INTERVAL_SECONDS,
    "a whole number of seconds >= 1",
    _positive_int,
    "load",
    "minimum seconds between change-sensor ticks",
)
FRESHNESS_WARN_HOURS: Setting[float] = Setting(
    "INTERCOM_ASSETS_FRESHNESS_WARN_HOURS",
    DEFAULT_FRESHNESS_WARN_HOURS,
    "a number of hours above 0 such as 26 or 0.5",
    _positive_hours,
    "load",
    "an asset whose latest materialization is this old is WARN (its freshness policy: the UI"
    " and the alerts)",
)
FRESHNESS_FAIL_HOURS: Setting[float] = Setting(
    "INTERCOM_ASSETS_FRESHNESS_FAIL_HOURS",
    DEFAULT_FRESHNESS_FAIL_HOURS,
    "a number of hours above 0 such as 30 (more than the WARN hours)",
    _positive_hours,
    "load",
    "... and FAIL after this long (must be more than WARN)",
)
NEVER_LOADED_GRACE_HOURS: Setting[float] = Setting(
    "INTERCOM_ASSETS_NEVER_LOADED_GRACE_HOURS",
    DEFAULT_NEVER_LOADED_GRACE_HOURS,
    "a number of hours above 0 such as 26",
    _positive_hours,
    "load",
    "an asset never materialized (freshness UNKNOWN) alerts once it has been so this long",
)


SETTINGS: tuple[Setting[Any], ...] = (
    ACCESS_TOKEN,
    REGION,
    BASE_URL,
    API_VERSION_SETTING,
    DATABASE_URL,
    SCHEMA,
    ALERT_WEBHOOK_URL,
    UI_BASE_URL,
    EVENTS_RECHECK_DAYS,
    ALLOW_EMPTY_LISTINGS,
    HISTORY,
    START_DATE,
    TIMEZONE,
    CHANGE_SENSOR_INTERVAL,
    FRESHNESS_WARN_HOURS,
    FRESHNESS_FAIL_HOURS,
    NEVER_LOADED_GRACE_HOURS,
)
"""Every variable the project reads (README's configuration table lists the same)."""

# The variables' names, for code and tests that name them.
TOKEN_ENV = ACCESS_TOKEN.variable
REGION_ENV = REGION.variable
BASE_URL_ENV = BASE_URL.variable
API_VERSION_ENV = API_VERSION_SETTING.variable
DATABASE_URL_ENV = DATABASE_URL.variable
SCHEMA_ENV = SCHEMA.variable
START_DATE_ENV = START_DATE.variable
TIMEZONE_ENV = TIMEZONE.variable
CHANGE_INTERVAL_ENV = CHANGE_SENSOR_INTERVAL.variable
ALERT_WEBHOOK_ENV = ALERT_WEBHOOK_URL.variable
FRESHNESS_WARN_ENV = FRESHNESS_WARN_HOURS.variable
FRESHNESS_FAIL_ENV = FRESHNESS_FAIL_HOURS.variable
UI_BASE_URL_ENV = UI_BASE_URL.variable
GRACE_ENV = NEVER_LOADED_GRACE_HOURS.variable
HISTORY_ENV = HISTORY.variable


def secret_values(environ: Environ | None = None) -> list[str]:
    """The values of the secret settings that are set (to keep them out of alerts)."""
    return [v for v in (s.raw(environ) for s in SETTINGS if s.secret) if v is not None]


# --- settings that shape the definitions ---------------------------------------------------


@dataclass(frozen=True)
class PartitionSettings:
    """Where the daily partitions start and in which time zone their days begin."""

    start_date: str = DEFAULT_START_DATE
    timezone: str = DEFAULT_TIMEZONE

    def __post_init__(self) -> None:
        START_DATE.check(self.start_date)
        TIMEZONE.check(self.timezone)

    @classmethod
    def from_env(cls, environ: Environ | None = None) -> "PartitionSettings":
        """The settings from the environment, with defaults for unset variables."""
        return cls(start_date=START_DATE.get(environ), timezone=TIMEZONE.get(environ))


@dataclass(frozen=True)
class AutomationSettings:
    """The change sensor's interval, the stream assets' freshness windows and the grace
    period of an asset never materialized."""

    change_interval_seconds: int = DEFAULT_CHANGE_INTERVAL_SECONDS
    freshness_warn_hours: float = DEFAULT_FRESHNESS_WARN_HOURS
    freshness_fail_hours: float = DEFAULT_FRESHNESS_FAIL_HOURS
    never_loaded_grace_hours: float = DEFAULT_NEVER_LOADED_GRACE_HOURS

    def __post_init__(self) -> None:
        CHANGE_SENSOR_INTERVAL.check(str(self.change_interval_seconds))
        FRESHNESS_WARN_HOURS.check(str(self.freshness_warn_hours))
        FRESHNESS_FAIL_HOURS.check(str(self.freshness_fail_hours))
        NEVER_LOADED_GRACE_HOURS.check(str(self.never_loaded_grace_hours))
        if self.freshness_warn_hours >= self.freshness_fail_hours:
            raise SettingError(
                f"{FRESHNESS_FAIL_HOURS.variable} must be more than"
                f" {FRESHNESS_WARN_HOURS.variable}, got warn={self.freshness_warn_hours:g}"
                f" fail={self.freshness_fail_hours:g}"
            )

    @classmethod
    def from_env(cls, environ: Environ | None = None) -> "AutomationSettings":
        """The settings from the environment, with defaults for unset variables."""
        return cls(
            change_interval_seconds=CHANGE_SENSOR_INTERVAL.get(environ),
            freshness_warn_hours=FRESHNESS_WARN_HOURS.get(environ),
            freshness_fail_hours=FRESHNESS_FAIL_HOURS.get(environ),
            never_loaded_grace_hours=NEVER_LOADED_GRACE_HOURS.get(environ),
        )


def configuration_table() -> str:
    """The configuration table in Markdown (README's copy is checked against it)."""
    lines = ["| variable | default | read | meaning |", "| --- | --- | --- | --- |"]
    for s in SETTINGS:
        if s is ACCESS_TOKEN:
            shown = "required"
        elif s.default is None:
            shown = ""
        else:
            shown = f"`{s.default:g}`" if isinstance(s.default, float) else f"`{s.default}`"
        lines.append(f"| `{s.variable}` | {shown} | {s.read} | {s.meaning} |")
    return "\n".join(lines)
