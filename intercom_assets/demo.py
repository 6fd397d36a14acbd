"""The demo: the whole pipeline against a local sandbox, in about a minute.

It serves a generated workspace (the `demo` size) on a free loopback port whose simulated
clock sits one day behind real time, materializes the whole history as one single-run
partition range, moves the sandbox one day forward (to real time) and materializes the last
day: yesterday again, since the day changed, and today. Each run runs every asset and check
of the code location. Runs are recorded in a real Dagster instance under the home folder,
one per warehouse (`instance_home`), tagged with what they are (`DEMO_TAG`, `WAREHOUSE_TAG`);
`--ui` then keeps the sandbox serving and opens the Dagster UI on them
(`intercom_assets.demo_ui`). The warehouse keeps history as `INTERCOM_ASSETS_HISTORY` says.
The tables go to schema `intercom_demo`, which each demo run replaces; a schema of that name
the demo did not create (it has no marker table) is refused, never dropped.
"""

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
import dagster as dg

from intercom_assets.definitions import build_definitions
from intercom_assets.demo_ui import DemoSite, UiError, check_port, serve_ui
from intercom_assets.keys import table_key
from intercom_assets.problems import Refusal
from intercom_assets.resources import IntercomResource, WarehouseResource
from intercom_assets.runs import OUTCOMES, progress_log
from intercom_assets.sandbox import Sandbox, start_time
from intercom_assets.sandbox.sizes import SIZES
from intercom_assets.settings import DATABASE_URL, HISTORY, PartitionSettings
from intercom_assets.streams import STREAMS
from intercom_assets.streams.versions import empty_note
from intercom_assets.warehouse import connect, duckdb_path

DEMO_SCHEMA = "intercom_demo"
MARKER = "_intercom_assets_demo"
"""A table in the demo's schema: the demo created it, so a later demo may drop it."""
MARKER_NOTE = "created by `intercom-assets demo`, which replaces this schema on each run"
HISTORY_DAYS = 7
"""Partitions in the history range; the first also covers everything before it."""
DAY = 86_400
DEMO_TAG = "intercom_assets/demo"
"""Tag of the demo's runs: `history` (the first run), `next_day` (the second)."""
WAREHOUSE_TAG = "intercom_assets/warehouse"
"""Tag of the demo's runs: the warehouse's URL, without a password."""
QUIET_LOGGERS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}

Echo = Callable[[str], None]


@dataclass
class TableLine:
    """One table's line in the summary."""

    stream: str
    table: str
    rows: int
    counts: dict[str, int]
    api_calls: int | None
    seconds: float | None


def run_demo(
    home: Path,
    database: str | None = None,
    *,
    size: str = "demo",
    timezone: str = "UTC",
    schema: str = DEMO_SCHEMA,
    echo: Echo = print,
    then: Callable[[DemoSite], None] | None = None,
) -> list[list[TableLine]]:
    """Run the demo; returns the summary of each run (history, then the last day).

    The runs are recorded in the Dagster instance of the warehouse (`instance_home`) and
    tagged with `DEMO_TAG` (`history`, `next_day`) and `WAREHOUSE_TAG`. The tables keep
    history as `INTERCOM_ASSETS_HISTORY` says, as in `intercom-assets load`. `then`, when
    given, is called after the runs with where their data is, while the sandbox still serves
    (`intercom-assets demo --ui` starts the Dagster UI there).
    """
    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    url = DATABASE_URL.check(database, "--database") if database else None
    url = url or f"duckdb:///{home / 'intercom.duckdb'}"
    history = dg.EnvVar(HISTORY.variable).get_value() or None  # as in `load`
    warehouse = WarehouseResource(url=url, schema_name=schema, history=history)  # checks it
    history = warehouse.history
    replaced = reset_schema(url, schema)
    dagster_home = instance_home(home, url if database else None)
    zone = ZoneInfo(timezone)
    now = datetime.now(zone)
    first = (now - timedelta(days=HISTORY_DAYS - 1)).strftime("%Y-%m-%d")

    echo(f"sandbox: generating the {size!r} workspace (clock one day behind real time)")
    # as `intercom-assets sandbox --start now`, a day earlier: the partitions cover its days
    clock = start_time("now", timezone, now=now.timestamp) - DAY
    sb = Sandbox(size=size, seed=1, timezone=timezone, start=clock)
    summaries: list[list[TableLine]] = []
    with sb.serve(port=0) as served, instance_at(dagster_home) as instance, progress_to(echo):
        what = "replaced: the previous demo's" if replaced else "new"
        echo(f"sandbox: {served}   warehouse: {redact(url)} (schema {schema}, {what})")
        echo(
            f"Dagster instance: {dagster_home} (this warehouse's runs only; delete the folder"
            " to start its run history over)"
        )
        if history:
            echo(f"history: {history} ({HISTORY.variable}): <table>_history keeps every version")
        intercom = IntercomResource(access_token=sb.token, base_url=served)
        resources = {"intercom": intercom, "warehouse": warehouse}
        # every asset and check of the code location, in one run, as a UI backfill runs them
        defs = build_definitions(PartitionSettings(first, timezone), resources)
        job = defs.resolve_implicit_global_asset_job_def()
        yesterday = (now - timedelta(days=1)).strftime("%Y-%m-%d")
        today = now.strftime("%Y-%m-%d")
        later = f"one day later: partitions {yesterday}...{today} in one run"
        steps = [
            ("history", f"history: partitions {first}...{yesterday} in one run", first, yesterday),
            ("next_day", later, yesterday, today),
        ]
        for number, (name, title, start, end) in enumerate(steps):
            if number:
                sb.advance(days=1)
            echo(f"\n== {title}")
            started = time.monotonic()
            result = job.execute_in_process(
                instance=instance,
                tags={
                    "dagster/asset_partition_range_start": start,
                    "dagster/asset_partition_range_end": end,
                    DEMO_TAG: name,
                    WAREHOUSE_TAG: redact(url),
                },
                run_config=QUIET_LOGGERS,
            )
            lines = summarize(result, url, schema)
            summaries.append(lines)
            echo(render(lines, time.monotonic() - started))
            echo(render_checks(result, lines))
            note = empty_note(intercom.api_version)
            if note:
                echo(note)
        if then is not None:
            then(DemoSite(dagster_home, served, sb.token, url, schema, first, timezone))
            return summaries
    echo(
        f"\nDagster runs recorded in {dagster_home}; see them in the Dagster UI:"
        " intercom-assets demo --ui" + ("" if database is None else " --database <the same URL>")
    )
    return summaries


def instance_home(home: Path, database: str | None) -> Path:
    """The Dagster home of the demo's runs on a warehouse: one instance per warehouse, so the
    runs and the check history of different warehouses never mix.

    The default DuckDB file's is `<home>/duckdb`; the one of `--database URL` is
    `<home>/<scheme>-<8 hex digits of the URL without its password>`.
    """
    if database is None:
        return home / "duckdb"
    public = redact(database)
    scheme = public.split(":", 1)[0]
    return home / f"{scheme}-{hashlib.sha256(public.encode()).hexdigest()[:8]}"


def summarize(result: dg.ExecuteInProcessResult, url: str, schema: str) -> list[TableLine]:
    """Per table, from its own materialization: rows now, the run's counts, and (on a
    stream's entity table) the stream's API calls and seconds."""
    found: dict[dg.AssetKey, dict[str, Any]] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        found.setdefault(
            materialization.asset_key, {k: v.value for k, v in materialization.metadata.items()}
        )
    lines: list[TableLine] = []
    with connect(url, schema=schema) as wh:
        for stream in STREAMS:
            wh.register(stream.tables)
            for spec in stream.tables:
                metadata = found.get(table_key(spec.name), {})
                lines.append(
                    TableLine(
                        stream.name,
                        spec.name,
                        int(metadata.get("dagster/row_count", wh.totals(spec.name).live)),
                        {o: int(metadata.get(o, 0)) for o in OUTCOMES},
                        metadata.get("api_calls"),
                        metadata.get("seconds"),
                    )
                )
    return lines


def render(lines: list[TableLine], seconds: float) -> str:
    """The summary as a fixed-width table: its totals are the columns' sums, and the run's
    wall time (the streams' seconds, Dagster's own work and the checks) follows."""
    head = ("table", "rows", "inserted", "updated", "unchanged", "deleted", "API calls", "seconds")
    rows = [
        (
            line.table,
            str(line.rows),
            str(line.counts["inserted"] + line.counts["revived"]),
            str(line.counts["updated"]),
            str(line.counts["unchanged"]),
            str(line.counts["deleted"]),
            "" if line.api_calls is None else str(line.api_calls),
            "" if line.seconds is None else f"{line.seconds:.1f}",
        )
        for line in lines
    ]
    calls = sum(line.api_calls or 0 for line in lines)
    streams = sum(round(line.seconds or 0, 1) for line in lines)
    rows.append(("total", "", "", "", "", "", str(calls), f"{streams:.1f}"))
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    table = "\n".join(
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in [head, *rows]
    )
    return (
        f"{table}\nwall time: {seconds:.1f} s (the streams' {streams:.1f} s, plus Dagster's"
        " own work and the checks)"
    )


def render_checks(result: dg.ExecuteInProcessResult, lines: list[TableLine]) -> str:
    """The run's checks in a few lines: how many passed, those that did not, and each live
    count against Intercom's `total_count` (saying what Intercom counts where that is not
    every row, as for companies)."""
    rows = {line.table: line.rows for line in lines}
    evaluations = result.get_asset_check_evaluations()
    failed = [e for e in evaluations if not e.passed]
    out = [f"checks: {len(evaluations) - len(failed)} of {len(evaluations)} passed"]
    for evaluation in failed:
        level = evaluation.severity.value if evaluation.severity else "ERROR"
        table = evaluation.asset_key.path[-1]
        metadata = {k: v.value for k, v in evaluation.metadata.items()}
        details = ", ".join(f"{k} {v}" for k, v in metadata.items() if isinstance(v, int | str))
        out.append(f"  {level}: {table} {evaluation.check_name} ({details})")
    counts = []
    for evaluation in evaluations:
        if evaluation.check_name != "live_count":
            continue
        table = evaluation.asset_key.path[-1]
        metadata = {k: v.value for k, v in evaluation.metadata.items()}
        text = f"{table} {metadata.get('stored_live')}/{metadata.get('intercom_total_count')}"
        if metadata.get("counts"):
            text += (
                f" (Intercom counts {metadata['counts']};"
                f" the table holds {rows.get(table)} live rows)"
            )
        counts.append(text)
    if counts:
        out.append("live rows / Intercom's total_count: " + ", ".join(counts))
    return "\n".join(out)


class DemoSchemaError(Refusal):
    """The demo's schema exists in the target database, but the demo did not create it."""


def reset_schema(url: str, schema: str) -> bool:
    """Make `schema` an empty schema of the demo's; True when it replaced a previous demo's.

    The demo marks the schemas it creates with a table `MARKER` and drops only a marked one:
    a schema of that name without the marker is refused (`DemoSchemaError`), never dropped.
    """
    if url.startswith(("postgresql://", "postgres://")):
        import psycopg

        with psycopg.connect(url, autocommit=True) as pg:

            def on_postgres(sql: str, *params: Any) -> list[Any]:
                cursor = pg.execute(sql, params)
                return cursor.fetchall() if cursor.description else []

            return _reset(on_postgres, url, schema)
    import duckdb

    path = duckdb_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as duck:
        return _reset(
            lambda sql, *p: duck.execute(sql.replace("%s", "?"), p).fetchall(), url, schema
        )


def _reset(sql: Callable[..., list[Any]], url: str, schema: str) -> bool:
    exists = sql("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", schema)
    marked = sql(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
        schema,
        MARKER,
    )
    if exists and not marked:
        raise DemoSchemaError(
            f"schema {schema} already exists in {redact(url)} and the demo did not create it,"
            " so the demo does not drop it\n"
            f"give --database another database, or rename or drop schema {schema} yourself"
        )
    if marked:
        sql(f'DROP SCHEMA "{schema}" CASCADE')
    sql(f'CREATE SCHEMA "{schema}"')
    sql(f'CREATE TABLE "{schema}"."{MARKER}" (note text)')
    sql(f'INSERT INTO "{schema}"."{MARKER}" VALUES (%s)', MARKER_NOTE)
    return bool(marked)


@contextmanager
def instance_at(home: Path) -> Iterator[dg.DagsterInstance]:
    """A persistent Dagster instance in `home` (SQLite storage, telemetry off)."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        yield instance


@contextmanager
def progress_to(echo: Echo) -> Iterator[None]:
    """Show the assets' start and finish lines while runs execute."""

    class Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            echo(f"  {record.getMessage()}")

    handler = Handler(logging.INFO)
    level, propagate = progress_log.level, progress_log.propagate
    progress_log.addHandler(handler)
    progress_log.setLevel(logging.INFO)
    progress_log.propagate = False
    try:
        yield
    finally:
        progress_log.removeHandler(handler)
        progress_log.setLevel(level)
        progress_log.propagate = propagate


def redact(url: str) -> str:
    """The URL without a password."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    return f"{scheme}://{credentials.split(':', 1)[0]}@{host}"


@click.command("demo")
@click.option(
    "--database",
    help="postgresql://user@host:port/db (or duckdb:///file.duckdb) to write there instead"
    " of a DuckDB file in the home folder; schema intercom_demo, which the demo replaces.",
)
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".intercom-assets"),
    show_default=True,
    help="Dagster home: the runs (and the default DuckDB file) are kept here.",
)
@click.option(
    "--size", type=click.Choice(sorted(SIZES)), default="demo", show_default=True, hidden=True
)
@click.option(
    "--ui",
    is_flag=True,
    help="Then keep the sandbox serving and open the Dagster UI (webserver and daemon) on"
    " the demo's runs, sandbox and warehouse, until Ctrl-C.",
)
@click.option("--port", type=int, help="The Dagster UI's port with --ui.  [default: a free one]")
def demo(database: str | None, home: Path, size: str, ui: bool, port: int | None) -> None:
    """Load a local sandbox workspace end to end: history, then one more day."""
    if ui and port is not None:
        try:
            check_port(port)  # before the runs: a taken port would fail only after them
        except UiError as exc:
            raise click.ClickException(str(exc)) from None

    def open_ui(site: DemoSite) -> None:
        try:
            serve_ui(site, port, echo=click.echo)
        except UiError as exc:
            raise click.ClickException(str(exc)) from None

    run_demo(home, database, size=size, echo=click.echo, then=open_ui if ui else None)
