"""Dagster's switches for range runs, and `launch`: the `intercom-assets` command started in a
process whose environment has them.

Dagster reads both switches from the environment of the process that creates or executes a
run. The command does both (`load`, `demo`), so `launch` (the installed entry point) starts
`python -m intercom_assets.cli` with the switches that are not set already; nothing writes a
process's own environment. This module imports nothing of Dagster's, so that start is cheap.
"""

import os
import sys
from collections.abc import Mapping

ONE_PLANNED_EVENT_PER_ASSET = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"
"""Dagster's switch (read where a run is created) that records a range run's planned
materializations as one event per asset instead of one per asset and partition: a
731-partition range plans 37 events instead of about 27,000. Its cost: a range run that fails
leaves its partitions "missing" rather than "failed" (docs/operations.md, Range runs)."""

EVENT_BATCH_SIZE = "DAGSTER_EVENT_BATCH_SIZE"
"""Dagster's switch (read where steps execute) that writes a range run's materializations,
one per partition and partitioned table, in batches of this many: on PostgreSQL storage one
INSERT per batch instead of one transaction per event (about 8,000 for 731 partitions: 138 s
of a run that takes 23 s batched, bench/results/orchestration.json). SQLite storage writes a
batch event by event, so it gains nothing there and loses nothing."""

EVENT_BATCH_DEFAULT = "1000"

RANGE_RUN_ENVIRONMENT: Mapping[str, str] = {
    ONE_PLANNED_EVENT_PER_ASSET: "1",
    EVENT_BATCH_SIZE: EVENT_BATCH_DEFAULT,
}
"""Dagster's two switches for range runs, as the project's own processes set them: the
`intercom-assets` command (in its own process) and the demo UI's webserver and daemon (whose
run workers inherit them). Building the definitions never sets them, so a host project that
loads this code location keeps Dagster's behaviour for its other assets; a production
deployment sets them in the environment of its webserver, daemon and run workers
(docs/operations.md, Range runs)."""


def range_run_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The switches of `RANGE_RUN_ENVIRONMENT` that `environ` (default: this process's
    environment) does not set yet: a value already set wins."""
    current = os.environ if environ is None else environ
    return {name: value for name, value in RANGE_RUN_ENVIRONMENT.items() if name not in current}


def launch() -> None:
    """The `intercom-assets` command, with Dagster's switches for range runs (a value
    already set wins); this process is replaced by it."""
    command = [sys.executable, "-m", "intercom_assets.cli", *sys.argv[1:]]
    os.execve(sys.executable, command, {**os.environ, **range_run_environment()})  # noqa: S606
