"""Dagster resources: the Intercom API, the SQL warehouse and the alert webhook.

Each field a setting feeds is declared here once, typed, with its default (`intercom_assets.
settings`); building a resource checks it. `resources_from_env` wires each field to its
variable with `dg.EnvVar`: the UI shows the variable, Dagster resolves it when a run or tick
starts (building the resource again, so the value is checked as read).
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import dagster as dg
import httpx
from pydantic import PrivateAttr, ValidationInfo, field_validator

from intercom_assets import settings as s
from intercom_assets.api import DEFAULT_API_VERSION, IntercomClient, Workspace
from intercom_assets.api.config import region_of_url
from intercom_assets.settings import SettingError, checked, setting_of
from intercom_assets.warehouse import ALL, Warehouse, connect

WEBHOOK_TIMEOUT_SECONDS = 10.0

if TYPE_CHECKING:
    # The base is generic in the value a resource provides (for these, the resource itself).
    ConfigurableResource: TypeAlias = dg.ConfigurableResource[Any]
else:
    # At run time the bare base, as Dagster documents: subscripting it would put a
    # parameterised pydantic class into every resource's MRO.
    ConfigurableResource = dg.ConfigurableResource


class Configured(ConfigurableResource):
    """A resource whose fields fed by a setting are checked by it when the resource is built
    (at load for a set `EnvVar`, again with the resolved value when a run or tick starts)."""

    @field_validator("*", mode="before")
    @classmethod
    def _check(cls, value: Any, info: ValidationInfo) -> Any:
        return checked(cls, str(info.field_name), value)


class IntercomResource(Configured):
    """Creates `IntercomClient`s for one workspace. `base_url` (e.g. a sandbox) wins over
    `region`."""

    access_token: str = s.ACCESS_TOKEN.field(...)
    region: str = s.REGION.field("US")
    base_url: str | None = s.BASE_URL.field(None)
    api_version: str = s.API_VERSION_SETTING.field(DEFAULT_API_VERSION)
    max_in_flight: int = 8
    """Concurrent requests for per-record fan-out (conversation parts, events)."""
    timeout_seconds: float = 30.0
    events_recheck_days: int = s.EVENTS_RECHECK_DAYS.field(7)
    """7: well inside Intercom's 90-day event listing; about 1/7 of the contacts a day."""
    allow_empty_listings: bool = s.ALLOW_EMPTY_LISTINGS.field(False)

    _client: IntercomClient | None = PrivateAttr(default=None)
    _workspace: Workspace | None = PrivateAttr(default=None)

    def client(self) -> IntercomClient:
        """The run's client (one connection pool, created on first use)."""
        if self._client is None:
            self._client = self.new_client()
        return self._client

    def new_client(self, **kwargs: Any) -> IntercomClient:
        """A new client with its own pool and counters (close it when done)."""
        return IntercomClient(
            self.access_token,
            region=self.region,
            base_url=self.base_url,
            api_version=self.api_version,
            timeout=self.timeout_seconds,
            **kwargs,
        )

    def workspace(self) -> Workspace:
        """The token's workspace (`GET /me`), asked once per run."""
        if self._workspace is None:
            self._workspace = self.client().me()
        return self._workspace

    def region_warning(
        self, workspace: Workspace | None = None, client: IntercomClient | None = None
    ) -> str | None:
        """One line when the workspace (`GET /me`'s `app.region`; the run's, unless given) is
        hosted in another region than the one called (`INTERCOM_BASE_URL`'s Intercom host, else
        `INTERCOM_REGION`)."""
        workspace = workspace or self.workspace()
        client = client or self.client()
        mismatch = client.region_mismatch(workspace)
        if mismatch is None:
            return None
        hosted, called = mismatch
        url = client.base_url
        start = f"the workspace is hosted in {workspace.region} ({hosted})"
        if region_of_url(url) is not None and self.base_url:
            return f"{start} but INTERCOM_BASE_URL calls {called} ({url}): use the {hosted} host"
        return (
            f"{start} but INTERCOM_REGION is {called} (calling {url}): set INTERCOM_REGION={hosted}"
        )

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class WarehouseResource(Configured):
    """The database the tables are written to: PostgreSQL or a DuckDB file."""

    url: str = s.DATABASE_URL.field("duckdb:///intercom.duckdb")
    schema_name: str = s.SCHEMA.field("intercom")
    history: str | None = s.HISTORY.field(None)

    def connect(self) -> Warehouse:
        """An open warehouse (close it, or use it as a context manager)."""
        history = self.history or ""
        tables = frozenset(filter(None, history.split(",")))
        return connect(self.url, schema=self.schema_name, history=ALL if history == ALL else tables)


class AlertWebhookResource(Configured):
    """A Slack-compatible webhook that alerts are posted to; no URL: log only."""

    url: str | None = s.ALERT_WEBHOOK_URL.field(None)
    ui_base_url: str | None = s.UI_BASE_URL.field(None)
    timeout_seconds: float = WEBHOOK_TIMEOUT_SECONDS

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    def link(self, path: str) -> str | None:
        """The UI's page at `path` (e.g. `assets/intercom/tags`), or None without a base URL."""
        if not self.ui_base_url:
            return None
        return f"{self.ui_base_url.rstrip('/')}/{path.lstrip('/')}"

    def post(self, body: Mapping[str, Any]) -> str | None:
        """Posts `body` as JSON; returns an error text (without the URL) or None.

        Without a URL there is nothing to post and the result is None.
        """
        if not self.url:
            return None
        try:
            response = httpx.post(self.url, json=body, timeout=self.timeout_seconds)
            response.raise_for_status()
        except httpx.HTTPStatusError as exc:
            return f"HTTPStatusError: the webhook answered HTTP {exc.response.status_code}"
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {str(exc).replace(self.url, '<webhook>')}"
        return None


RESOURCES: Mapping[str, type[Configured]] = {
    "intercom": IntercomResource,
    "warehouse": WarehouseResource,
    "alert_webhook": AlertWebhookResource,
}
"""The code location's resource keys and kinds."""

R = TypeVar("R", bound=Configured)


def from_env(kind: type[R]) -> R:
    """A `kind` whose fields are wired to their variables: `dg.EnvVar(name)` for a set
    variable (checked now, resolved by Dagster when a run or tick starts) and for a required
    field (the token: without it, runs fail saying so); the default for an unset one."""
    wired = {}
    for name, info in kind.model_fields.items():
        setting = setting_of(kind, name)
        if setting is not None:
            variable = dg.EnvVar(setting.variable)
            if (variable.get_value() or "").strip() or info.is_required():
                wired[name] = variable
    return kind(**wired)


def resources_from_env() -> dict[str, Configured]:
    """The code location's resources, each field wired to its variable (`from_env`)."""
    return {key: from_env(kind) for key, kind in RESOURCES.items()}


def resolved(resource: R) -> R:
    """`resource` as a run resolves it: each `EnvVar` read now (and checked as the resource is
    built again); an unset variable is a `SettingError` naming it."""
    values = {}
    for name in type(resource).model_fields:
        value = getattr(resource, name)
        setting = setting_of(type(resource), name)
        if isinstance(value, dg.EnvVar):
            value = value.get_value()
            if not (value or "").strip() and setting:
                raise SettingError(f"{setting.variable} must be set to {setting.expected}")
        values[name] = value
    return type(resource)(**values)


def resolved_secrets(resources: Mapping[str, object] | None = None) -> list[str]:
    """The secret values these resources hold, as a run or tick resolves them now (the
    token, the warehouse URL, whose password `alerts.secrets_of` hides with it, and the
    webhook URL), a field holding a literal or a `dg.EnvVar` of any name; None: those of
    `resources_from_env()`, read without building them. Unset values are left out."""
    values: list[Any] = []
    for kind in RESOURCES.values():
        for name in kind.model_fields:
            setting = setting_of(kind, name)
            if setting is None or not setting.secret:
                continue
            if resources is None:
                values.append(dg.EnvVar(setting.variable))
            else:
                values += [getattr(r, name) for r in resources.values() if isinstance(r, kind)]
    resolved = (v.get_value() if isinstance(v, dg.EnvVar) else v for v in values)
    return [v for v in resolved if isinstance(v, str) and v]
