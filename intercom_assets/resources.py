"""Dagster resources: the Intercom API, the SQL warehouse and the alert webhook.

Resources never read the environment themselves. The code location wires each field to its
variable with `dg.EnvVar` (see `resources_from_env` and `intercom_assets.settings`), so the UI
shows the variable behind every field and Dagster resolves its value when a run or a sensor
tick starts; the token is only ever shown by name. Field defaults are the settings' defaults.
Each resource checks its values when it is used and raises `SettingError` (one line naming
the variable and the expected form) for a wrong one.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

import dagster as dg
import httpx
from pydantic import PrivateAttr

from intercom_assets.api import DEFAULT_API_VERSION, IntercomClient, Workspace
from intercom_assets.api.config import region_of_url
from intercom_assets.settings import (
    ACCESS_TOKEN,
    ALERT_WEBHOOK_URL,
    ALLOW_EMPTY_LISTINGS,
    API_VERSION_SETTING,
    BASE_URL,
    DATABASE_URL,
    DEFAULT_DATABASE_URL,
    DEFAULT_EVENTS_RECHECK_DAYS,
    DEFAULT_REGION,
    DEFAULT_SCHEMA,
    EVENTS_RECHECK_DAYS,
    HISTORY,
    REGION,
    SCHEMA,
    UI_BASE_URL,
    Environ,
)
from intercom_assets.warehouse import Warehouse, connect

WEBHOOK_TIMEOUT_SECONDS = 10.0

if TYPE_CHECKING:
    # The base is generic in the value a resource provides (for these, the resource itself).
    ConfigurableResource: TypeAlias = dg.ConfigurableResource[Any]
else:
    # At run time the bare base, as Dagster documents: subscripting it would put a
    # parameterised pydantic class into every resource's MRO.
    ConfigurableResource = dg.ConfigurableResource


class IntercomResource(ConfigurableResource):
    """Creates `IntercomClient`s for one workspace. `base_url` (e.g. a sandbox) wins over
    `region`."""

    access_token: str
    region: str = DEFAULT_REGION
    """`US`, `EU` or `AU` (`INTERCOM_REGION`)."""
    base_url: str | None = None
    """An explicit API base URL (`INTERCOM_BASE_URL`)."""
    api_version: str = DEFAULT_API_VERSION
    """Sent as `Intercom-Version` (`INTERCOM_API_VERSION`)."""
    max_in_flight: int = 8
    """Concurrent requests for per-record fan-out (conversation parts, events)."""
    timeout_seconds: float = 30.0
    events_recheck_days: int = DEFAULT_EVENTS_RECHECK_DAYS
    """Every contact's events are re-read at least this often
    (`INTERCOM_ASSETS_EVENTS_RECHECK_DAYS`)."""
    allow_empty_listings: bool = False
    """Let an empty complete listing soft-delete a whole table
    (`INTERCOM_ASSETS_ALLOW_EMPTY_LISTINGS`)."""

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
            ACCESS_TOKEN.check(self.access_token),
            region=REGION.check(self.region),
            base_url=BASE_URL.check(self.base_url) if self.base_url else None,
            api_version=API_VERSION_SETTING.check(self.api_version),
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


class WarehouseResource(ConfigurableResource):
    """The database the tables are written to: PostgreSQL or a DuckDB file."""

    url: str = DEFAULT_DATABASE_URL
    """`postgresql://...` or `duckdb:///path/file.duckdb` (`INTERCOM_ASSETS_DATABASE_URL`)."""
    schema_name: str = DEFAULT_SCHEMA
    """The schema of the tables (`INTERCOM_ASSETS_SCHEMA`)."""
    history: str | None = None
    """Tables that keep a history table: `all` or `contacts,companies` (`INTERCOM_ASSETS_HISTORY`);
    None: none."""

    @property
    def resolved_url(self) -> str:
        return DATABASE_URL.check(self.url)

    @property
    def resolved_schema(self) -> str:
        return SCHEMA.check(self.schema_name)

    def connect(self) -> Warehouse:
        """An open warehouse (close it, or use it as a context manager)."""
        history = HISTORY.check(self.history) if self.history else frozenset()
        return connect(self.resolved_url, schema=self.resolved_schema, history=history)


class AlertWebhookResource(ConfigurableResource):
    """A Slack-compatible webhook that alerts are posted to; no URL: log only."""

    url: str | None = None
    """`INTERCOM_ASSETS_ALERT_WEBHOOK_URL`; a secret (never logged)."""
    ui_base_url: str | None = None
    """`INTERCOM_ASSETS_UI_BASE_URL`: the Dagster UI, for links in alerts; None: no links."""
    timeout_seconds: float = WEBHOOK_TIMEOUT_SECONDS

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    def link(self, path: str) -> str | None:
        """The UI's page at `path` (e.g. `assets/intercom/tags`), or None without a base URL."""
        if not self.ui_base_url:
            return None
        return f"{UI_BASE_URL.check(self.ui_base_url).rstrip('/')}/{path.lstrip('/')}"

    def post(self, body: Mapping[str, Any]) -> str | None:
        """Posts `body` as JSON; returns an error text (without the URL) or None.

        Without a URL there is nothing to post and the result is None.
        """
        if not self.url:
            return None
        url = ALERT_WEBHOOK_URL.check(self.url)
        try:
            response = httpx.post(url, json=body, timeout=self.timeout_seconds)
            response.raise_for_status()
        except httpx.HTTPStatusError as exc:
            return f"HTTPStatusError: the webhook answered HTTP {exc.response.status_code}"
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {str(exc).replace(url, '<webhook>')}"
        return None


def resolved_secrets(resources: Mapping[str, object]) -> list[str]:
    """The secret values these resources hold, as a run or tick resolves them now: the
    Intercom token, the warehouse URL (its password is hidden with it, see
    `alerts.secrets_of`) and the webhook URL, whether a field holds a literal or a
    `dg.EnvVar` of any name (read from this process's environment). Unset values are left out.
    """
    fields = (
        (IntercomResource, "access_token"),
        (WarehouseResource, "url"),
        (AlertWebhookResource, "url"),
    )
    found: list[str] = []
    for resource in resources.values():
        for kind, name in fields:
            if isinstance(resource, kind):
                value = getattr(resource, name)
                resolved = value.get_value() if isinstance(value, dg.EnvVar) else value
                if isinstance(resolved, str) and resolved:
                    found.append(resolved)
    return found


def resources_from_env(environ: Environ | None = None) -> dict[str, ConfigurableResource]:
    """The code location's resources, each field wired to its variable.

    A set variable becomes `dg.EnvVar(name)` (its value is checked now, and resolved by
    Dagster when a run or tick starts); an unset optional one passes its default. The token
    is always an `EnvVar`: without it, runs and change-sensor ticks fail saying so.
    """
    return {
        "intercom": IntercomResource(
            access_token=ACCESS_TOKEN.reference(environ),
            region=REGION.field(environ),
            base_url=BASE_URL.field(environ),
            api_version=API_VERSION_SETTING.field(environ),
            events_recheck_days=EVENTS_RECHECK_DAYS.field(environ),
            allow_empty_listings=ALLOW_EMPTY_LISTINGS.field(environ),
        ),
        "warehouse": WarehouseResource(
            url=DATABASE_URL.field(environ),
            schema_name=SCHEMA.field(environ),
            history=HISTORY.field(environ),
        ),
        "alert_webhook": AlertWebhookResource(
            url=ALERT_WEBHOOK_URL.field(environ), ui_base_url=UI_BASE_URL.field(environ)
        ),
    }
