"""`IntercomAssetsComponent`: the whole integration as a Dagster component in a `defs.yaml`
(README, "Use it from your own Dagster project").

Its attributes are what shapes the definitions, rendered by Dagster (`{{ env.NAME }}`; unset
or blank: the default) and checked where written. What a run reads is a resource field
(`intercom_assets.resources`); a subclass overrides `build_resources` for other values.
`translation` (or a subclass's `get_asset_spec`) changes the asset specs, as the dlt and
Sling components' translators do.
"""

from collections.abc import Mapping
from typing import Annotated, Any

import dagster as dg
from dagster.components.utils.translation import TranslationFn, TranslationFnResolver
from pydantic import ValidationInfo, field_validator

from intercom_assets import settings as s
from intercom_assets.assets import STREAM_METADATA
from intercom_assets.definitions import build_definitions
from intercom_assets.resources import RESOURCES, resources_from_env
from intercom_assets.settings import AutomationSettings, PartitionSettings, SettingError, checked
from intercom_assets.streams import STREAMS, get_stream


def _attribute(context: dg.ResolutionContext, value: Any) -> Any:
    """An attribute as Dagster renders it, checked by its setting (the error names the
    attribute and the template it came from; Dagster adds the line); None (unset or blank):
    its default."""
    rendered = context.resolve_value(value)
    if rendered is None or (isinstance(rendered, str) and not rendered.strip()):
        return None
    name = str(context.path[-1])
    if name == "streams":
        names = rendered.split(",") if isinstance(rendered, str) else rendered
        names = sorted({str(n).strip() for n in names if str(n).strip()})
        for stream in names or [""]:
            try:
                get_stream(stream)
            except KeyError as exc:
                raise SettingError(f"streams: {exc.args[0]}") from None
        return names
    shown = name if rendered == value else f"{name} ({value})"  # a template names its variable
    return checked(IntercomAssetsComponent, name, rendered, name=shown)


MOVED = {"database_url": ("warehouse", "url"), "alert_webhook_url": ("alert_webhook", "url")}
"""Former attributes named unlike their resource field (the others keep the field's name)."""


def _moved(context: dg.ResolutionContext, value: Any) -> None:
    """A former attribute: a one-line error saying which variable sets it now."""
    attribute = str(context.path[-1])
    key, field = MOVED.get(attribute) or next(
        (key, attribute) for key, kind in RESOURCES.items() if attribute in kind.model_fields
    )
    setting = s.setting_of(RESOURCES[key], field)
    raise SettingError(
        f"{attribute} is no attribute of the component any more: set"
        f" {setting.variable if setting else field} (the `{key}` resource's `{field}`;"
        " README, Configuration)"
    )


def _checked(kind: Any) -> dg.Resolver:
    return dg.Resolver(_attribute, model_field_type=kind | str | None, inject_before_resolve=False)


Moved = Annotated[None, dg.Resolver(_moved, model_field_type=Any, description="moved")]


class IntercomAssetsComponent(dg.Component, dg.Resolvable, dg.Model):
    """Keeps a SQL copy (PostgreSQL or DuckDB) of an Intercom workspace: one asset per
    warehouse table (a multi-asset per stream) with its checks, the daily schedule, the
    change sensor and the freshness and run-failure alerts. The attributes shape the
    definitions; the resources read their variables (README, "Configuration")."""

    streams: Annotated[list[str] | None, _checked(list[str])] = None
    """The streams to load (all by default), e.g. [tags, admins, contacts]."""
    start_date: Annotated[str, _checked(str)] = s.START_DATE.field(PartitionSettings.start_date)
    timezone: Annotated[str, _checked(str)] = s.TIMEZONE.field(PartitionSettings.timezone)
    change_sensor_interval_seconds: Annotated[int, _checked(int)] = (
        s.CHANGE_SENSOR_INTERVAL.field(s.DEFAULT_CHANGE_INTERVAL_SECONDS)
    )
    freshness_warn_hours: Annotated[float, _checked(float)] = (
        s.FRESHNESS_WARN_HOURS.field(s.DEFAULT_FRESHNESS_WARN_HOURS)
    )
    freshness_fail_hours: Annotated[float, _checked(float)] = (
        s.FRESHNESS_FAIL_HOURS.field(s.DEFAULT_FRESHNESS_FAIL_HOURS)
    )
    never_loaded_grace_hours: Annotated[float, _checked(float)] = (
        s.NEVER_LOADED_GRACE_HOURS.field(s.DEFAULT_NEVER_LOADED_GRACE_HOURS)
    )
    translation: (
        Annotated[
            TranslationFn[dg.AssetSpec],
            TranslationFnResolver[dg.AssetSpec](
                lambda spec: {"table": spec.key.path[-1], "stream": spec.metadata[STREAM_METADATA]}
            ),
        ]
        | None
    ) = None
    """Asset attributes per table (`group_name`, `tags`, `owners`, ...); templates see
    `table`, `stream` and `spec`."""
    access_token: Moved = None
    region: Moved = None
    base_url: Moved = None
    api_version: Moved = None
    database_url: Moved = None
    schema_name: Moved = None
    history: Moved = None
    events_recheck_days: Moved = None
    allow_empty_listings: Moved = None
    alert_webhook_url: Moved = None
    ui_base_url: Moved = None

    @field_validator("*", mode="before")
    @classmethod
    def _default(cls, value: Any, info: ValidationInfo) -> Any:
        # an attribute whose variable is unset (rendered as None) takes its default
        return cls.model_fields[str(info.field_name)].default if value is None else value

    def get_asset_spec(self, spec: dg.AssetSpec) -> dg.AssetSpec:
        """A table's asset spec as the definitions carry it (`translation` applied)."""
        return self.translation(spec, spec) if self.translation else spec

    def build_resources(self) -> Mapping[str, object]:
        """The resources of the definitions: each field wired to its variable."""
        return resources_from_env()

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        chosen = set(self.streams or ())
        return build_definitions(
            PartitionSettings(self.start_date, self.timezone),
            self.build_resources(),
            automation=AutomationSettings(
                self.change_sensor_interval_seconds,
                self.freshness_warn_hours,
                self.freshness_fail_hours,
                self.never_loaded_grace_hours,
            ),
            streams=[st for st in STREAMS if st.name in chosen] if chosen else STREAMS,
            translate=self.get_asset_spec,
        )

