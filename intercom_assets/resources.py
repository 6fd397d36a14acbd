"""Dagster resources: the Intercom API and the SQL warehouse.

Unset optional fields fall back to their environment variables when a run starts (see
`intercom_assets.settings`); the token comes from `dg.EnvVar`, so it is resolved at run
time and the UI only ever shows the variable's name.
"""

from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from intercom_assets.api import DEFAULT_API_VERSION, IntercomClient, Workspace
from intercom_assets.settings import (
    API_VERSION_ENV,
    BASE_URL_ENV,
    DATABASE_URL_ENV,
    DEFAULT_DATABASE_URL,
    DEFAULT_SCHEMA,
    REGION_ENV,
    SCHEMA_ENV,
    env,
)
from intercom_assets.warehouse import Warehouse, connect


class IntercomResource(dg.ConfigurableResource):
    """Creates `IntercomClient`s for one workspace.

    `base_url` (e.g. a sandbox) wins over `region`; both default to their variables.
    """

    access_token: str
    region: str | None = None
    base_url: str | None = None
    api_version: str | None = None
    max_in_flight: int = 8
    """Concurrent requests for per-record fan-out (conversation parts, events)."""
    timeout_seconds: float = 30.0

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
            region=self.region or env(REGION_ENV) or "US",
            base_url=self.base_url or env(BASE_URL_ENV),
            api_version=self.api_version or env(API_VERSION_ENV) or DEFAULT_API_VERSION,
            timeout=self.timeout_seconds,
            **kwargs,
        )

    def workspace(self) -> Workspace:
        """The token's workspace (`GET /me`), asked once per run."""
        if self._workspace is None:
            self._workspace = self.client().me()
        return self._workspace

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class WarehouseResource(dg.ConfigurableResource):
    """The database the tables are written to: PostgreSQL or a DuckDB file."""

    url: str | None = None
    """`postgresql://...` or `duckdb:///path/file.duckdb`."""
    schema_name: str | None = None

    @property
    def resolved_url(self) -> str:
        return self.url or env(DATABASE_URL_ENV) or DEFAULT_DATABASE_URL

    @property
    def resolved_schema(self) -> str:
        return self.schema_name or env(SCHEMA_ENV) or DEFAULT_SCHEMA

    def connect(self) -> Warehouse:
        """An open warehouse (close it, or use it as a context manager)."""
        return connect(self.resolved_url, schema=self.resolved_schema)
