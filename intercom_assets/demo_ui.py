"""`intercom-assets demo --ui`: the Dagster UI on the demo's instance, sandbox and warehouse.

After the demo's runs the sandbox keeps serving on its port, and two processes start on the
demo's Dagster home (its instance, `DAGSTER_HOME`): `dagster-webserver` and
`dagster-daemon run`. Both load the code location `intercom_assets.definitions` from a
`workspace.yaml` written into the home, with the environment pointed at the demo: the
sandbox's URL and token, the demo's warehouse and schema, and partitions that start at the
demo's first day. So the UI shows every partition of the demo's range materialized (the
windowed streams' tables; the others are unpartitioned and materialized) and their
checks evaluated, the change sensor ticks against the sandbox (every
`UI_SENSOR_INTERVAL_SECONDS`), the daily schedule is on, and Materialize and range backfills
load from the sandbox into the same tables.

The processes write their output to `<home>/ui-logs/`. Ctrl-C (or SIGTERM) stops both
processes and their children (code servers, runs), then the sandbox.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx

from intercom_assets.definitions import range_run_environment
from intercom_assets.interrupts import interrupt_on_signals
from intercom_assets.settings import (
    ACCESS_TOKEN,
    BASE_URL,
    CHANGE_SENSOR_INTERVAL,
    DATABASE_URL,
    SCHEMA,
    START_DATE,
    TIMEZONE,
    UI_BASE_URL,
)

LOCATION = "intercom_assets"
"""The code location's name in the demo's workspace: the project's own
(`[tool.dg.project] code_location_name` in pyproject.toml), since Dagster warns on every load
of a code location registered under another name."""
UI_SENSOR_INTERVAL_SECONDS = 30
"""The change sensor's interval in the demo UI: a tick soon after the sandbox moves."""
READY_TIMEOUT_SECONDS = 180.0
STOP_TIMEOUT_SECONDS = 20.0

Echo = Callable[[str], None]


class UiError(RuntimeError):
    """The Dagster UI did not start; the message says which process and where its log is."""


@dataclass(frozen=True)
class DemoSite:
    """Where the demo left its data: what the code location must point at."""

    home: Path
    sandbox_url: str
    token: str
    database_url: str
    schema: str
    start_date: str
    timezone: str


def location_environment(site: DemoSite, ui_url: str) -> dict[str, str]:
    """The variables that point the code location at the demo's sandbox, warehouse and
    partitions (and its instance: `DAGSTER_HOME`); the change sensor ticks every
    `UI_SENSOR_INTERVAL_SECONDS` unless its variable is set."""
    return {
        "DAGSTER_HOME": str(site.home),
        ACCESS_TOKEN.variable: site.token,
        BASE_URL.variable: site.sandbox_url,
        DATABASE_URL.variable: site.database_url,
        SCHEMA.variable: site.schema,
        START_DATE.variable: site.start_date,
        TIMEZONE.variable: site.timezone,
        CHANGE_SENSOR_INTERVAL.variable: os.environ.get(
            CHANGE_SENSOR_INTERVAL.variable, str(UI_SENSOR_INTERVAL_SECONDS)
        ),
        UI_BASE_URL.variable: ui_url,
        # range runs launched from the UI plan one event per asset and their run workers
        # write materializations in batches (docs/operations.md, Range runs)
        **range_run_environment(),
    }


def write_workspace(home: Path) -> Path:
    """`<home>/workspace.yaml`: one code location, `intercom_assets.definitions`."""
    path = home / "workspace.yaml"
    path.write_text(
        "# Written by `intercom-assets demo --ui`: the code location of the demo's UI.\n"
        "load_from:\n"
        "  - python_module:\n"
        "      module_name: intercom_assets.definitions\n"
        f"      location_name: {LOCATION}\n"
    )
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on `host` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def check_port(port: int, host: str = "127.0.0.1") -> None:
    """A `UiError` naming --port when the UI could not listen on `host:port` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the webserver binds
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise UiError(
                f"the Dagster UI cannot listen on {host}:{port}: {exc.strerror or exc};"
                " choose another --port, or leave it out for a free one"
            ) from None


def dagster_command(name: str) -> str:
    """The path of a Dagster console script: beside this Python, else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise UiError(f"{name} is not installed; install the project (pip install -e .)")
    return found


@dataclass
class Child:
    """A started process and its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def check_alive(self) -> None:
        """A `UiError` with the end of its log when the process has exited."""
        code = self.process.poll()
        if code is not None:
            tail = self.log.read_text(errors="replace").strip().splitlines()[-5:]
            raise UiError(
                f"{self.name} exited with code {code}; its log is {self.log}"
                + "".join(f"\n  {line}" for line in tail)
            )


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pid, sig)


def stop_all(children: list[Child], timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """SIGTERM to each process (they stop their own children), all at once; SIGKILL to the
    process group of any still running after `timeout`, and to what each left behind."""
    for child in children:
        if child.process.poll() is None:
            child.process.terminate()
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(child.process.pid, signal.SIGKILL)
            child.process.wait()
        _signal_group(child.process.pid, signal.SIGKILL)  # code servers, runs left behind


def start_child(name: str, args: list[str], env: Mapping[str, str], logs: Path) -> Child:
    """Start `args` in its own process group, with its output in `<logs>/<name>.log`."""
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own Dagster commands
            args,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only the demo, which stops them in order
        )
    return Child(name, process, log)


LOCATION_QUERY = """
query { workspaceOrError { __typename ... on Workspace { locationEntries {
  name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""


def location_status(ui_url: str) -> str | None:
    """`LOADED` when the webserver answers and has loaded the code location; None while it
    is starting; a `UiError` when the code location failed to load."""
    try:
        reply = httpx.post(f"{ui_url}/graphql", json={"query": LOCATION_QUERY}, timeout=5.0)
        data = reply.json()["data"]["workspaceOrError"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None
    for entry in data.get("locationEntries", []):
        if entry["name"] != LOCATION or entry["loadStatus"] != "LOADED":
            continue
        loaded = entry["locationOrLoadError"] or {}
        if loaded.get("__typename") == "PythonError":
            first = str(loaded.get("message", "")).strip().splitlines()[:1]
            raise UiError(f"the code location failed to load: {' '.join(first)}")
        return "LOADED"
    return None


@contextmanager
def dagster_ui(
    site: DemoSite,
    port: int,
    *,
    host: str = "127.0.0.1",
    timeout: float = READY_TIMEOUT_SECONDS,
) -> Iterator[str]:
    """The webserver and the daemon on the demo's home, running until the block exits;
    yields the UI's URL once the code location is loaded."""
    ui_url = f"http://{host}:{port}"
    workspace = write_workspace(site.home)
    env = {**os.environ, **location_environment(site, ui_url)}
    logs = site.home / "ui-logs"
    webserver_args = [
        dagster_command("dagster-webserver"),
        *("--host", host, "--port", str(port), "--workspace", str(workspace)),
    ]
    daemon_args = [dagster_command("dagster-daemon"), "run", "--workspace", str(workspace)]
    children: list[Child] = []
    try:
        daemon = start_child("dagster-daemon", daemon_args, env, logs)
        children.append(daemon)
        webserver = start_child("dagster-webserver", webserver_args, env, logs)
        children.append(webserver)
        deadline = time.monotonic() + timeout
        while location_status(ui_url) != "LOADED":
            webserver.check_alive()
            daemon.check_alive()
            if time.monotonic() > deadline:
                raise UiError(
                    f"the Dagster UI did not load the code location within {timeout:.0f} s;"
                    f" see {webserver.log}"
                )
            time.sleep(0.5)
        yield ui_url
    finally:
        stop_all(children)


def instructions(site: DemoSite, ui_url: str) -> str:
    """What the UI shows, and how to give the change sensor work."""
    advance = f"curl -X POST {site.sandbox_url}/_sandbox/advance -d"
    interval = location_environment(site, ui_url)[CHANGE_SENSOR_INTERVAL.variable]
    return "\n".join(
        [
            f"\nDagster UI: {ui_url}",
            f"  assets:     {ui_url}/assets   (every partition since {site.start_date}"
            " materialized, checks evaluated)",
            f"  automation: {ui_url}/automation   (change sensor every"
            f" {interval} s against the sandbox, daily schedule on)",
            f"  runs:       {ui_url}/runs",
            f"sandbox: {site.sandbox_url} (token {site.token})",
            "Give the change sensor work: move the sandbox's clock forward, e.g.",
            f"  {advance} '{{\"seconds\": 3600}}'   # an hour of changes",
            f"  {advance} '{{\"days\": 1}}'         # a day (what passes midnight waits for"
            " its day's partition)",
            "Materialize or backfill any partitions from the UI: they load from the sandbox.",
            f"Logs: {site.home / 'ui-logs'}.   Ctrl-C stops the UI, the daemon and the sandbox.",
        ]
    )


def serve_ui(site: DemoSite, port: int | None = None, *, echo: Echo = print) -> None:
    """Start the UI on `port` (a free one if None), print where it is, and keep it (and the
    caller's sandbox) running until Ctrl-C or SIGTERM."""
    port = port or free_port()
    check_port(port)  # taken since the demo checked it: say so before starting anything
    echo(f"\nstarting the Dagster UI on port {port} (webserver and daemon) ...")
    with interrupt_on_signals():
        try:
            with dagster_ui(site, port) as ui_url:
                echo(instructions(site, ui_url))
                while True:
                    time.sleep(3600)
        except KeyboardInterrupt:
            pass
    echo("stopped the Dagster UI and the daemon")


__all__ = [
    "LOCATION",
    "UI_SENSOR_INTERVAL_SECONDS",
    "DemoSite",
    "UiError",
    "check_port",
    "dagster_ui",
    "free_port",
    "instructions",
    "location_environment",
    "serve_ui",
    "write_workspace",
]
