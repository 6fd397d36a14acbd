"""The code location of the freshness test, built as the project builds its own (default
freshness windows and grace period), for the FreshnessDaemon and the UI's GraphQL to load."""

from intercom_assets.definitions import build_definitions
from intercom_assets.settings import PartitionSettings

from .conftest import TIMEZONE

defs = build_definitions(PartitionSettings(start_date="2024-01-01", timezone=TIMEZONE))
