"""The code location: every asset, check, sensor, schedule and resource in one `Definitions`."""

import dagster as dg

defs = dg.Definitions()
