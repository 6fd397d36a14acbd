"""`intercom-assets sandbox`: serve a generated workspace on a local port."""

import socket
import time

import click

from intercom_assets.interrupts import interrupt_on_signals
from intercom_assets.sandbox.faults import FaultConfig
from intercom_assets.sandbox.sandbox import DEFAULT_START, Sandbox, start_time
from intercom_assets.sandbox.sizes import SIZES


@click.command("sandbox")
@click.option("--size", type=click.Choice(sorted(SIZES)), default="demo", show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True, help="0 picks a free port.")
@click.option("--token", default="sandbox", show_default=True, help="Bearer token to accept.")
@click.option("--timezone", default="UTC", show_default=True, help="Workspace IANA time zone.")
@click.option(
    "--region", default="US", show_default=True, help="The region GET /me names (app.region)."
)
@click.option("--rate-limit", type=int, default=10_000, show_default=True, help="Requests/minute.")
@click.option("--search-lag", type=int, default=0, show_default=True, help="Index lag, seconds.")
@click.option("--error-rate", type=float, default=0.0, show_default=True, help="Share of 5xx.")
@click.option("--latency", type=float, default=0.0, show_default=True, help="Seconds per request.")
@click.option(
    "--start",
    metavar="now|YYYY-MM-DD",
    help="Where the simulated clock starts: now (the wall clock, so partitions of today's date"
    " hold the changes made by advance) or that day's midnight in --timezone."
    "  [default: 2026-01-01 00:00 UTC]",
)
def sandbox(
    size: str,
    seed: int,
    host: str,
    port: int,
    token: str,
    timezone: str,
    region: str,
    rate_limit: int,
    search_lag: int,
    error_rate: float,
    latency: float,
    start: str | None,
) -> None:
    """Serve a local Intercom API 2.14 sandbox until interrupted."""
    check_port(host, port)  # before generating the workspace, which takes a while
    try:
        begins = DEFAULT_START if start is None else start_time(start, timezone)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    try:
        sb = Sandbox(
            size=size,
            seed=seed,
            timezone=timezone,
            region=region,
            token=token,
            rate_limit_per_minute=rate_limit,
            search_lag_seconds=search_lag,
            start=begins,
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    sb.set_faults(FaultConfig(error_rate=error_rate, latency_seconds=latency))
    with interrupt_on_signals():
        try:
            with sb.serve(host=host, port=port) as url:
                click.echo(url, nl=True)
                controls = f"{url}/_sandbox/{{clock,advance,faults,requests,truth}}"
                click.echo(f"token: {token}  controls: {controls}", err=True)
                while True:
                    time.sleep(3600)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM, whenever it comes
            click.echo("stopping", err=True)


def check_port(host: str, port: int) -> None:
    """A `click.ClickException` naming --port when `host:port` cannot be bound now (taken,
    or not an address of this machine); port 0 always can."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise click.ClickException(
                f"cannot serve on {host}:{port}: {exc.strerror or exc};"
                " choose another --port (0 picks a free one)"
            ) from None
