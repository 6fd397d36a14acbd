"""Paces the browser test's `dagster-daemon` (this folder is on its `PYTHONPATH` only).

Dagster's backfill daemon looks for work every `DEFAULT_DAEMON_INTERVAL_SECONDS` (30 s, not
an instance setting), and an asset backfill moves one step (parents, then their dependants)
per look: the "Materialize all" backfills spent most of their time waiting for it. In the
daemon process only, the interval is `BACKFILL_INTERVAL_SECONDS`; every other process the
demo starts (the demo, the webserver, code servers, runs) is left as it is. The asset daemon
reads the same constant for its default interval; the test's `dagster.yaml` sets its own.
"""

import sys

BACKFILL_INTERVAL_SECONDS = 2

if any(arg.endswith("dagster-daemon") for arg in getattr(sys, "orig_argv", ())):
    import dagster._daemon.controller as controller

    controller.DEFAULT_DAEMON_INTERVAL_SECONDS = BACKFILL_INTERVAL_SECONDS
