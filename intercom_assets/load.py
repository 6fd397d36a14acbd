"""`intercom-assets load --from DAY --to DAY`: load a partition range in one run, after
checking everything a person can get wrong before the run starts.

Configured by the same environment variables as the code location. Before it launches the
run it checks every setting, the range (reversed or outside the partitions: refused, naming
the valid range and `INTERCOM_ASSETS_START_DATE`), the token (one `GET /me`) and the
warehouse (one connection), and says what to set in one to three lines when one is wrong.
The run itself is the code location's asset job over the range, as one run (the assets'
single-run backfill policy), recorded in the instance of `DAGSTER_HOME` so the UI shows it.
"""

import os
from collections.abc import Callable
from contextlib import ExitStack

import click
import dagster as dg

from intercom_assets.api import RetryPolicy
from intercom_assets.definitions import defs
from intercom_assets.demo import progress_to
from intercom_assets.problems import Refusal, redact
from intercom_assets.ranges import check_range
from intercom_assets.resources import (
    IntercomResource,
    WarehouseResource,
    resolved,
    resolved_secrets,
)

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
"""The run's own log lines stay in the instance; the command prints progress and a summary."""

Echo = Callable[[str], None]
FAILURE_CLASS = f"{dg.Failure.__module__}.{dg.Failure.__qualname__}"


class RunFailedError(Exception):
    """The run started and failed; the message lists each failed step's short message."""


PREFLIGHT_RETRY = RetryPolicy(max_attempts=3, max_total_seconds=15.0)
"""The check of the token and the host: a host that does not answer fails within seconds
(the run itself retries as every run does)."""


def preflight(start: str, end: str, *, echo: Echo = print) -> dg.Definitions:
    """The code location's definitions, once every setting, the range, the token and the
    warehouse are checked (each failure one to three lines, see `problems`); says which
    Intercom host it waits for; a workspace hosted in another region than the one called is a
    warning line."""
    loaded = defs()  # the component's attributes and every resource field are checked here
    check_range(daily_partitions_of(loaded), start, end)
    resources = loaded.resources or {}
    intercom: IntercomResource = resolved(resources["intercom"])
    with intercom.new_client(retry=PREFLIGHT_RETRY) as client:
        echo(f"connecting to Intercom at {client.base_url} ...")
        mismatch = intercom.region_warning(client.me(), client)  # GET /me: the token and the host
    if mismatch:
        echo(f"warning: {mismatch}")
    warehouse: WarehouseResource = resolved(resources["warehouse"])
    with warehouse.connect() as wh:
        wh.query("SELECT 1")
    return loaded


def daily_partitions_of(loaded: dg.Definitions) -> dg.DailyPartitionsDefinition:
    """The daily partitions of the definitions' windowed assets."""
    for asset in loaded.assets or ():
        partitions = asset.partitions_def if isinstance(asset, dg.AssetsDefinition) else None
        if isinstance(partitions, dg.DailyPartitionsDefinition):
            return partitions
    raise Refusal("no stream of the code location is partitioned: there is no range to load")


def run_range(start: str, end: str, *, echo: Echo = print) -> dg.ExecuteInProcessResult:
    """Check, then materialize every asset over `start...end` in one run; a failed run
    raises `RunFailedError` with each failed step's message."""
    defs = preflight(start, end, echo=echo)
    job = defs.resolve_implicit_global_asset_job_def()
    with ExitStack() as stack:
        if os.environ.get("DAGSTER_HOME"):
            instance = stack.enter_context(dg.DagsterInstance.get())
        else:
            echo("DAGSTER_HOME is not set: the run is not recorded (set it to see runs in the UI)")
            instance = stack.enter_context(dg.DagsterInstance.ephemeral())
        stack.enter_context(progress_to(echo))
        echo(f"loading partitions {start}...{end} in one run")
        result = job.execute_in_process(
            instance=instance,
            tags={RANGE_START: start, RANGE_END: end},
            run_config=QUIET,
            raise_on_error=False,
        )
    if not result.success:
        raise RunFailedError(failures(result))
    echo(f"run {result.run_id} succeeded")
    return result


def failures(result: dg.ExecuteInProcessResult) -> str:
    """One line per failed step: its name and the first line of its error."""
    lines = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data is not None:
            error = event.step_failure_data.error
            text = error.message.strip().splitlines()[0] if error else "no error recorded"
            text = text.removeprefix(f"{FAILURE_CLASS}: ")
            lines.append(f"{event.step_key}: {text}")
    if not lines:
        lines = ["the run failed before any step ran"]
    shown = lines[:3] + ([f"... and {len(lines) - 3} more steps"] if len(lines) > 3 else [])
    return redact(f"run {result.run_id} failed:\n" + "\n".join(shown), resolved_secrets())


@click.command("load")
@click.option("--from", "start", required=True, metavar="YYYY-MM-DD", help="First partition.")
@click.option("--to", "end", required=True, metavar="YYYY-MM-DD", help="Last partition.")
def load(start: str, end: str) -> None:
    """Load the partitions START...END of every asset in one run (configured by the
    INTERCOM_* variables); the range, settings, token and database are checked first."""
    try:
        run_range(start, end, echo=click.echo)
    except RunFailedError as failed:
        click.echo(f"Error: {failed}", err=True)
        raise SystemExit(1) from None
