"""The `intercom-assets` command."""

import click

from intercom_assets.demo import demo
from intercom_assets.sandbox.cli import sandbox


@click.group()
@click.version_option(package_name="intercom-assets")
def main() -> None:
    """Keep a SQL copy of an Intercom workspace up to date."""


main.add_command(demo)
main.add_command(sandbox)
