"""Every setting's variable, expected form, check and meaning.

Each is one typed field of the resource that uses it (`intercom_assets.resources`) or of the
component (`intercom_assets.component`: what shapes the definitions), declared as
`region: str = REGION.field("US")`; `checked` runs its check whenever the model is built.
A wrong value is `SettingError`: one line naming the variable (or the attribute or option
that gave it) and the expected form, never the value of a secret.
"""

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import dagster as dg
from pydantic import Field

from intercom_assets.warehouse import ALL


class SettingError(Exception):
    """A setting holds a value of the wrong form. The message is one line and names the
    variable and the expected form. (Not a `ValueError`: pydantic lets it through as it is.)"""


class Reason(ValueError):
    """A parser's explanation of a wrong value that is safe to show even for a secret
    setting (it never quotes the value): "unknown scheme 'mysql'"."""


@dataclass(frozen=True)
class Setting:
    """One setting: its variable, the form error messages name, its check and its meaning."""

    variable: str
    expected: str
    parse: Callable[[str], Any]
    """Text to value; raises ValueError (any message) for a wrong form."""
    meaning: str
    secret: bool = False
    """Its value never appears in an error (the token; URLs that may carry credentials)."""

    def __post_init__(self) -> None:
        BY_VARIABLE[self.variable] = self

    def check(self, value: object, name: str | None = None) -> Any:
        """`value` parsed, or a `SettingError` naming the variable (or `name`: the attribute
        or option that gave it) and the expected form."""
        name = name or self.variable
        text = str(value).strip()
        got = "" if self.secret else f", got {text!r}"
        try:
            return self.parse(text)
        except Reason as reason:
            raise SettingError(f"{name} must be {self.expected}{got} ({reason})") from None
        except (ValueError, TypeError, KeyError):
            raise SettingError(f"{name} must be {self.expected}{got}") from None

    def field(self, default: Any) -> Any:
        """A model field fed by this setting, with its default."""
        return Field(default, description=self.meaning, json_schema_extra={"env": self.variable})


BY_VARIABLE: dict[str, Setting] = {}


def setting_of(model: type[Any], field: str) -> Setting | None:
    """The setting that feeds a field of a model (None: a field of no setting)."""
    extra = model.model_fields[field].json_schema_extra
    variable = extra.get("env") if isinstance(extra, dict) else None
    return BY_VARIABLE.get(variable) if isinstance(variable, str) else None


def checked(model: type[Any], field: str, value: Any, name: str | None = None) -> Any:
    """A field's value as its setting's check returns it (None stays None). An `EnvVar` is
    checked as its variable holds it now, if set; the model keeps the `EnvVar` (Dagster puts
    it back once the model is built, and resolves it when a run or tick starts)."""
    setting = setting_of(model, field)
    if setting is None or value is None:
        return value
    if isinstance(value, dg.EnvVar):
        text = (value.get_value() or "").strip()
        return setting.check(text, name=value.env_var_name) if text else value
    return setting.check(value, name=name)


# --- parsers (each raises ValueError, TypeError or KeyError for a wrong form) --------------


def _valid(ok: Callable[[str], object], value: Callable[[str], Any] = str) -> Callable[[str], Any]:
    """A parser: `value(text)` if `ok(text)` is true, else a ValueError."""

    def parse(text: str) -> Any:
        if not ok(text):
            raise ValueError(text)
        return value(text)

    return parse


IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
API_VERSION = re.compile(r"\d+\.\d+|Preview|Unstable")
_date = _valid(lambda t: len(t) == 10 and date.fromisoformat(t))
_zone = _valid(ZoneInfo)  # an unknown zone raises (ZoneInfoNotFoundError is a KeyError)
_region = _valid(lambda t: t.upper() in ("US", "EU", "AU"), str.upper)
_http_url = _valid(lambda t: urlsplit(t).scheme in ("http", "https") and urlsplit(t).hostname)
_identifier = _valid(IDENTIFIER.fullmatch)
_token = _valid(lambda t: t and not any(c.isspace() for c in t))
_positive_int = _valid(lambda t: int(t) >= 1, int)
_boolean = _valid(
    lambda t: t.lower() in ("true", "false", "1", "0"), lambda t: t.lower() in ("true", "1")
)
_positive_hours = _valid(lambda t: 0 < float(t) < float("inf"), float)


def _api_version(text: str) -> str:
    if not API_VERSION.fullmatch(text):
        raise ValueError(text)
    if text == "Unstable":  # Intercom's name for Preview until 2026-04
        logging.getLogger(__name__).warning(
            "INTERCOM_API_VERSION=Unstable is Intercom's former name of Preview:"
            " sending Preview (set Preview to silence this note)"
        )
    return "Preview" if text == "Unstable" else text


def database_url(text: str) -> str:
    """`text` if it is a warehouse URL, else a `Reason` (never quoting the URL, which may hold
    a password): `postgresql://[user[:password]@][host][:port]/database` (libpq reads the
    rest) or `duckdb:///path` (relative to the working directory; `duckdb:////abs/path`)."""
    scheme, separator, rest = text.partition("://")
    if not separator:
        raise Reason("not a URL: expected a scheme such as postgresql:// or duckdb:///")
    if scheme in ("postgresql", "postgres"):
        if not urlsplit(text).path.strip("/"):
            raise Reason("no database name after the host: add /<database>")
        return text
    if scheme == "duckdb":
        if not rest.startswith("/") or not rest[1:] or rest[1:].endswith("/"):
            raise Reason("no file after duckdb:///, e.g. duckdb:///intercom.duckdb")
        return text
    raise Reason(f"unknown scheme {scheme[:20]!r}: use postgresql:// or duckdb:///")


def _history(text: str) -> str:
    """`all`, or comma-separated entity tables of the streams (`contacts,companies`), as the
    warehouse's `history_tables` reads it."""
    if text.lower() == ALL:
        return ALL
    from intercom_assets.streams import STREAMS  # the tables the streams write

    entity_tables = {spec.name for s in STREAMS for spec in s.tables if spec.is_entity}
    names = sorted({name.strip() for name in text.split(",")})
    if not set(names) <= entity_tables:
        raise ValueError(text)
    return ",".join(names)


# --- the settings (each a field of a resource or of the component) ------------------------

ACCESS_TOKEN = Setting("INTERCOM_ACCESS_TOKEN", "an Intercom access token (no spaces)", _token,
                       "access token (the UI shows only the name)", secret=True)
REGION = Setting("INTERCOM_REGION", "one of US, EU or AU", _region,
                 "`US`, `EU` or `AU`: picks Intercom's host")
BASE_URL = Setting("INTERCOM_BASE_URL", "an http(s) URL such as https://api.intercom.io",
                   _http_url, "explicit API base URL, wins over the region (e.g. a sandbox)")
API_VERSION_SETTING = Setting(
    "INTERCOM_API_VERSION", "an Intercom API version such as 2.14, 2.15, 2.16 or Preview",
    _api_version, "sent as `Intercom-Version` (`Unstable` is read as `Preview`); `2.15` adds"
    " `conversations.company_id`; `2.16` the deleted-conversations feed (deletes arrive with"
    " the next conversations run), company notes, contact merge history (merges with their"
    " time, `contact_merges.merged_at`; docs/change-matrix.md) and a few columns; which to"
    " choose: docs/operations.md")
DATABASE_URL = Setting(
    "INTERCOM_ASSETS_DATABASE_URL", "postgresql://user@host:port/db or duckdb:///path/file.duckdb",
    database_url, "`postgresql://user@host:port/db` or `duckdb:///path` (relative to the"
    " working directory; `duckdb:////abs/path` is absolute): the warehouse", secret=True)
SCHEMA = Setting("INTERCOM_ASSETS_SCHEMA", "an SQL identifier such as intercom (letters, digits,"
                 " _)", _identifier, "schema of the tables")
HISTORY = Setting(
    "INTERCOM_ASSETS_HISTORY", "all or comma-separated entity tables such as"
    " contacts,companies,conversations", _history, "tables that keep every version in"
    " `<table>_history` (`all`: every entity table); unset: none (docs/warehouse.md, History)")
ALERT_WEBHOOK_URL = Setting(
    "INTERCOM_ASSETS_ALERT_WEBHOOK_URL", "an http(s) URL such as https://hooks.slack.com/services/...",
    _http_url, "Slack-compatible webhook for freshness and run-failure alerts (resolved each"
    " tick); unset: log only", secret=True)
UI_BASE_URL = Setting(
    "INTERCOM_ASSETS_UI_BASE_URL", "an http(s) URL such as http://localhost:3000", _http_url,
    "the Dagster UI's address, for links to assets and runs in alerts; unset: no links")
EVENTS_RECHECK_DAYS = Setting(
    "INTERCOM_ASSETS_EVENTS_RECHECK_DAYS", "a whole number of days >= 1", _positive_int,
    "every contact's events are re-read at least this often (events that move no timestamp)")
ALLOW_EMPTY_LISTINGS = Setting(
    "INTERCOM_ASSETS_ALLOW_EMPTY_LISTINGS", "true or false", _boolean,
    "let an empty complete listing soft-delete a whole table (refused otherwise)")
START_DATE = Setting("INTERCOM_ASSETS_START_DATE", "a date like 2024-01-01", _date,
                     "first partition (`YYYY-MM-DD`); it also covers everything before it")
TIMEZONE = Setting("INTERCOM_ASSETS_TIMEZONE", "an IANA time zone such as Europe/Berlin", _zone,
                   "partition days' time zone: set the workspace's")
CHANGE_SENSOR_INTERVAL = Setting(
    "INTERCOM_ASSETS_CHANGE_SENSOR_INTERVAL_SECONDS", "a whole number of seconds >= 1",
    _positive_int, "minimum seconds between change-sensor ticks")
FRESHNESS_WARN_HOURS = Setting(
    "INTERCOM_ASSETS_FRESHNESS_WARN_HOURS", "a number of hours above 0 such as 26 or 0.5",
    _positive_hours, "an asset whose latest materialization is this old is WARN (its freshness"
    " policy: the UI and the alerts)")
FRESHNESS_FAIL_HOURS = Setting(
    "INTERCOM_ASSETS_FRESHNESS_FAIL_HOURS", "a number of hours above 0 such as 30 (more than the"
    " WARN hours)", _positive_hours, "... and FAIL after this long (must be more than WARN)")
NEVER_LOADED_GRACE_HOURS = Setting(
    "INTERCOM_ASSETS_NEVER_LOADED_GRACE_HOURS", "a number of hours above 0 such as 26",
    _positive_hours, "an asset never materialized (freshness UNKNOWN) alerts once it has been"
    " so this long")

SETTINGS: tuple[Setting, ...] = tuple(BY_VARIABLE.values())
"""Every variable the project reads."""

# --- what shapes the definitions (the component's attributes, read when they load) -------

DEFAULT_CHANGE_INTERVAL_SECONDS = 300
DEFAULT_FRESHNESS_WARN_HOURS = 26.0
"""A stream is materialized at least daily (the 00:30 run of yesterday): about 24 h apart, so
26 h leaves a late daily run 2 h."""
DEFAULT_FRESHNESS_FAIL_HOURS = 30.0
DEFAULT_NEVER_LOADED_GRACE_HOURS = DEFAULT_FRESHNESS_WARN_HOURS


@dataclass(frozen=True)
class PartitionSettings:
    """Where the daily partitions start and in which time zone their days begin."""

    start_date: str = "2024-01-01"
    timezone: str = "UTC"


@dataclass(frozen=True)
class AutomationSettings:
    """The change sensor's interval, the freshness windows and the never-loaded grace."""

    change_interval_seconds: int = DEFAULT_CHANGE_INTERVAL_SECONDS
    freshness_warn_hours: float = DEFAULT_FRESHNESS_WARN_HOURS
    freshness_fail_hours: float = DEFAULT_FRESHNESS_FAIL_HOURS
    never_loaded_grace_hours: float = DEFAULT_NEVER_LOADED_GRACE_HOURS
