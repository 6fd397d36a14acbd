"""`IntercomAssetsComponent`: the whole integration as a Dagster component, set up in a
`defs.yaml`.

A `dg` project adds it with `dg scaffold defs intercom_assets.component.IntercomAssetsComponent
<path>` and sets its attributes in the `defs.yaml` written there:

    type: intercom_assets.component.IntercomAssetsComponent
    attributes:
      access_token: "{{ env.INTERCOM_ACCESS_TOKEN }}"
      region: EU
      database_url: "{{ env.WAREHOUSE_URL }}"
      schema_name: intercom
      start_date: "2025-01-01"
      timezone: Europe/Berlin
      streams: [tags, admins, teams, contacts, conversations]

Each attribute is one of the project's settings (`intercom_assets.settings`): the same
values, defaults and checks as its environment variable. An attribute left out reads the
setting's own variable (`region` reads `INTERCOM_REGION`), as this project's own code
location does, which is built through this component (`intercom_assets/defs/`).

An attribute that is exactly `"{{ env.NAME }}"` (or `"{{ env('NAME') }}"`) stays a reference
to the variable `NAME`: a resource field gets `dg.EnvVar("NAME")`, so the UI shows the name,
never the value, and Dagster reads it when a run or a sensor tick starts (an unset variable
means the setting's default; an unset token fails the run saying so). Any other value,
templated or not, is the setting's literal value.

`build_defs` returns what `intercom_assets.definitions.build_definitions` builds for these
settings: the stream assets, their checks, jobs, schedules, sensors and resources.
"""

import os
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import dagster as dg

from intercom_assets.definitions import build_definitions
from intercom_assets.resources import resources_from_env
from intercom_assets.settings import (
    ACCESS_TOKEN,
    ALERT_WEBHOOK_URL,
    ALLOW_EMPTY_LISTINGS,
    API_VERSION_SETTING,
    BASE_URL,
    CHANGE_SENSOR_INTERVAL,
    DATABASE_URL,
    EVENTS_RECHECK_DAYS,
    FRESHNESS_FAIL_HOURS,
    FRESHNESS_WARN_HOURS,
    HISTORY,
    NEVER_LOADED_GRACE_HOURS,
    REGION,
    SCHEMA,
    START_DATE,
    TIMEZONE,
    UI_BASE_URL,
    AutomationSettings,
    GivenSettings,
    PartitionSettings,
    Setting,
    SettingError,
)
from intercom_assets.streams import STREAMS, Stream, get_stream

ENV_REFERENCE = re.compile(
    r"\s*\{\{\s*env(?:\.(?P<attr>[A-Za-z_]\w*)|\(\s*(?P<q>['\"])(?P<call>[A-Za-z_]\w*)(?P=q)\s*\))"
    r"\s*\}\}\s*"
)
"""`{{ env.NAME }}` or `{{ env('NAME') }}`, alone: a reference to the variable NAME."""


def _text(value: Any) -> str | None:
    """A YAML value as the text its variable would hold."""
    if value is None:
        return None
    if isinstance(value, list):
        return ",".join(str(item).strip() for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _resolve(context: dg.ResolutionContext, value: Any) -> str | None:
    """A setting attribute from YAML: a reference to a variable stays as written
    (`reference` reads it); anything else is rendered and checked now, so a wrong value
    fails where it is written."""
    if isinstance(value, str) and ENV_REFERENCE.fullmatch(value):
        return value
    text = _text(context.resolve_value(value))
    if text is not None:
        check_attribute(str(context.path[-1]), text)
    return text


def reference(text: str | None) -> str | None:
    """The variable that `text` refers to (`{{ env.NAME }}`), or None for a literal."""
    match = ENV_REFERENCE.fullmatch(text) if text is not None else None
    return (match.group("attr") or match.group("call")) if match else None


def _setting(yaml_type: Any, description: str) -> dg.Resolver:
    return dg.Resolver(
        _resolve,
        model_field_type=yaml_type | None,
        description=description,
        inject_before_resolve=False,
    )


Text = str | None
"""A setting's value as its variable would hold it, or `{{ env.NAME }}`; None: not given."""


class IntercomAssetsComponent(dg.Component, dg.Resolvable, dg.Model):
    """Keeps a SQL copy (PostgreSQL or DuckDB) of an Intercom workspace: one asset per
    warehouse table (a multi-asset per stream) with its checks, the daily schedule, the
    change sensor and the freshness and run-failure alerts. Every attribute is optional and
    defaults to its environment variable, then to the project's default (README,
    "Configuration")."""

    access_token: Annotated[
        Text, _setting(str, 'Intercom access token; use "{{ env.INTERCOM_ACCESS_TOKEN }}".')
    ] = None
    region: Annotated[Text, _setting(str, "US, EU or AU: picks Intercom's host.")] = None
    base_url: Annotated[
        Text, _setting(str, "Explicit API base URL (e.g. a sandbox); wins over the region.")
    ] = None
    api_version: Annotated[
        Text, _setting(str, "Intercom API version sent as Intercom-Version, e.g. 2.14.")
    ] = None
    database_url: Annotated[
        Text, _setting(str, "postgresql://user@host:port/db or duckdb:///path/file.duckdb.")
    ] = None
    schema_name: Annotated[Text, _setting(str, "SQL schema of the tables.")] = None
    start_date: Annotated[
        Text, _setting(str, "First daily partition (YYYY-MM-DD); it covers all before it.")
    ] = None
    timezone: Annotated[
        Text, _setting(str, "IANA time zone of the partition days: the workspace's.")
    ] = None
    streams: Annotated[
        Text,
        _setting(list[str], "The streams to load (all by default), e.g. [tags, admins, contacts]."),
    ] = None
    history: Annotated[
        Text,
        _setting(str | list[str], "Tables or streams that keep every version of a row, or all."),
    ] = None
    events_recheck_days: Annotated[
        Text, _setting(int | str, "Every contact's events are re-read at least this often.")
    ] = None
    allow_empty_listings: Annotated[
        Text, _setting(bool | str, "Let an empty complete listing soft-delete a whole table.")
    ] = None
    alert_webhook_url: Annotated[
        Text, _setting(str, "Slack-compatible webhook for alerts; unset: log only.")
    ] = None
    ui_base_url: Annotated[
        Text, _setting(str, "The Dagster UI's address, for links in alerts.")
    ] = None
    change_sensor_interval_seconds: Annotated[
        Text, _setting(int | str, "Minimum seconds between change-sensor ticks.")
    ] = None
    freshness_warn_hours: Annotated[
        Text, _setting(float | str, "Data this old is WARN (alerts).")
    ] = None
    freshness_fail_hours: Annotated[
        Text, _setting(float | str, "Data this old is FAIL (more than the WARN hours).")
    ] = None
    never_loaded_grace_hours: Annotated[
        Text, _setting(float | str, "A never-loaded asset alerts this long after it is seen.")
    ] = None

    def given(self) -> GivenSettings:
        """The attributes as settings (not given: the setting's own variable)."""
        return GivenSettings(
            {
                setting.variable: dg.EnvVar(name) if (name := reference(text)) else text
                for attribute, setting in ATTRIBUTES.items()
                if (text := getattr(self, attribute)) is not None
            }
        )

    def selected_streams(self) -> Sequence[Stream]:
        """The streams named by `streams`, in load order; all of them when not given."""
        if self.streams is None:
            return STREAMS
        text = self.streams
        if (name := reference(text)) is not None:
            text = os.environ.get(name, "")
        names = {name.strip() for name in text.split(",") if name.strip()}
        check_streams(names)
        return tuple(s for s in STREAMS if s.name in names)

    def check(self) -> GivenSettings:
        """The attributes as settings, each checked: a wrong one raises `SettingError`
        naming the attribute (a literal) or the variable it reads."""
        given = self.given()
        for attribute, setting in ATTRIBUTES.items():
            raw = setting.raw(given)
            if raw is not None:
                source = given.source(setting.variable)
                setting.check(raw, name=source or attribute)
        self.selected_streams()
        return given

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        given = self.check()
        return build_definitions(
            PartitionSettings.from_env(given),
            resources_from_env(given),
            automation=AutomationSettings.from_env(given),
            streams=self.selected_streams(),
        )


def check_streams(names: set[str]) -> None:
    """A `SettingError` unless `names` are one or more known streams."""
    if not names:
        raise SettingError("streams must name at least one stream")
    for name in sorted(names):
        try:
            get_stream(name)
        except KeyError as exc:
            raise SettingError(f"streams: {exc.args[0]}") from None


def check_attribute(attribute: str, text: str) -> None:
    """A `SettingError` naming `attribute` unless `text` is a right value for it."""
    if attribute == "streams":
        check_streams({name.strip() for name in text.split(",") if name.strip()})
    else:
        ATTRIBUTES[attribute].check(text, name=attribute)


ATTRIBUTES: Mapping[str, Setting[Any]] = {
    "start_date": START_DATE,
    "timezone": TIMEZONE,
    "access_token": ACCESS_TOKEN,
    "region": REGION,
    "base_url": BASE_URL,
    "api_version": API_VERSION_SETTING,
    "database_url": DATABASE_URL,
    "schema_name": SCHEMA,
    "history": HISTORY,
    "events_recheck_days": EVENTS_RECHECK_DAYS,
    "allow_empty_listings": ALLOW_EMPTY_LISTINGS,
    "alert_webhook_url": ALERT_WEBHOOK_URL,
    "ui_base_url": UI_BASE_URL,
    "change_sensor_interval_seconds": CHANGE_SENSOR_INTERVAL,
    "freshness_warn_hours": FRESHNESS_WARN_HOURS,
    "freshness_fail_hours": FRESHNESS_FAIL_HOURS,
    "never_loaded_grace_hours": NEVER_LOADED_GRACE_HOURS,
}
"""Each attribute (but `streams`) and the setting it gives, in the order they are checked
(the partition settings first, as the code location reads them)."""
