"""The `intercom-assets` command.

An error a person can fix (configuration, a refused token, an unreachable database, a
refused partition range, see `intercom_assets.problems`) is printed in one to three lines,
and any other error in one line; the traceback only with `--debug` (before or after the
subcommand).

The installed `intercom-assets` starts this command with Dagster's switches for range runs
(`intercom_assets.switches.launch`).
"""

from typing import Any

import click

from intercom_assets.demo import demo
from intercom_assets.load import load
from intercom_assets.problems import explain, redact
from intercom_assets.resources import resolved_secrets
from intercom_assets.sandbox.cli import sandbox

DEBUG = "intercom_assets.debug"
"""`click.Context.meta` key (shared by a command and its subcommands): show tracebacks."""


def _set_debug(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[DEBUG] = True


debug_option = click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_debug,
    help="Show the traceback of an error.",
)


class Command(click.Group):
    """A group whose subcommands' errors are printed for people (see the module)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            if ctx.meta.get(DEBUG):
                raise
            message = explain(exc)
            if message is None:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                message = f"{type(exc).__name__}: {first}\n(run again with --debug to see where)"
                message = redact(message, resolved_secrets())
            click.echo(f"Error: {message}", err=True)
            ctx.exit(1)


@click.group(cls=Command)
@click.version_option(package_name="intercom-assets")
@debug_option
def main() -> None:
    """Keep a SQL copy of an Intercom workspace up to date."""


main.add_command(demo)
main.add_command(load)
main.add_command(sandbox)
for _command in (demo, load):
    debug_option(_command)


if __name__ == "__main__":
    main()
