"""Configuration: every environment variable the project reads, in one place.

Read when definitions load (they shape the partitions):

- `INTERCOM_ASSETS_START_DATE` (default `2024-01-01`): the first daily partition; it also
  covers everything before it.
- `INTERCOM_ASSETS_TIMEZONE` (default `UTC`): the IANA zone where partition days start;
  set it to the workspace's time zone.

Read when a run starts (resources):

- `INTERCOM_ACCESS_TOKEN` (required): the access token, resolved by `dg.EnvVar`.
- `INTERCOM_REGION` (default `US`): `US`, `EU` or `AU` picks Intercom's host.
- `INTERCOM_BASE_URL`: an explicit API base URL (wins over the region; e.g. a sandbox).
- `INTERCOM_API_VERSION` (default `2.14`): sent as `Intercom-Version`.
- `INTERCOM_ASSETS_DATABASE_URL` (default `duckdb:///intercom.duckdb`):
  `postgresql://user@host:port/db` or `duckdb:///path/file.duckdb`.
- `INTERCOM_ASSETS_SCHEMA` (default `intercom`): the schema the tables live in.

A value set on a resource in code wins over its variable.
"""

import os
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

START_DATE_ENV = "INTERCOM_ASSETS_START_DATE"
TIMEZONE_ENV = "INTERCOM_ASSETS_TIMEZONE"
TOKEN_ENV = "INTERCOM_ACCESS_TOKEN"  # noqa: S105 - the variable's name, not a secret
REGION_ENV = "INTERCOM_REGION"
BASE_URL_ENV = "INTERCOM_BASE_URL"
API_VERSION_ENV = "INTERCOM_API_VERSION"
DATABASE_URL_ENV = "INTERCOM_ASSETS_DATABASE_URL"
SCHEMA_ENV = "INTERCOM_ASSETS_SCHEMA"

DEFAULT_START_DATE = "2024-01-01"
DEFAULT_TIMEZONE = "UTC"
DEFAULT_DATABASE_URL = "duckdb:///intercom.duckdb"
DEFAULT_SCHEMA = "intercom"


@dataclass(frozen=True)
class PartitionSettings:
    """Where the daily partitions start and in which time zone their days begin."""

    start_date: str = DEFAULT_START_DATE
    timezone: str = DEFAULT_TIMEZONE

    def __post_init__(self) -> None:
        try:
            date.fromisoformat(self.start_date)
        except ValueError:
            raise ValueError(
                f"{START_DATE_ENV} must be a date like 2024-01-01, got {self.start_date!r}"
            ) from None
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{TIMEZONE_ENV} must be an IANA time zone such as Europe/Berlin,"
                f" got {self.timezone!r}"
            ) from None

    @classmethod
    def from_env(cls) -> "PartitionSettings":
        """The settings from the environment, with defaults for unset variables."""
        return cls(
            start_date=env(START_DATE_ENV) or DEFAULT_START_DATE,
            timezone=env(TIMEZONE_ENV) or DEFAULT_TIMEZONE,
        )


def env(name: str) -> str | None:
    """A variable's value, or None when it is unset or blank."""
    value = os.environ.get(name, "").strip()
    return value or None
