"""intercom-assets: a Dagster project that keeps a SQL copy of an Intercom workspace up to date."""

__version__ = "0.1.0"
