"""Launches the UI's "Materialize all" backfills through the webserver's GraphQL schema, in
this process, and prints what each answered (one JSON line per backfill).

Run as `python -m intercom_assets_tests.dagster.ui_backfill`: Dagster derives each table's
partitions by walking the asset graph in an order that depends on Python's string hashing,
so the test runs this under several fixed `PYTHONHASHSEED`s. Nothing is executed (no
daemon): the mutation only validates and stores the backfill, which is where the dialog's
"Launch backfill" failed.
"""

import json
import sys
import warnings
from datetime import datetime, timedelta

import dagster as dg
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster_graphql.test.utils import execute_dagster_graphql

from intercom_assets.definitions import build_definitions
from intercom_assets.resources import IntercomResource, WarehouseResource
from intercom_assets.settings import PartitionSettings

START_DATE = (datetime.now().date() - timedelta(days=6)).isoformat()
"""Seven partitions through today."""

LAUNCH = """mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""
"""The mutation the "Materialize all" dialog sends for more than one partition (the
dialog's asset selection is every asset of the graph; its partitions are those ticked)."""


def definitions() -> dg.Definitions:
    """The code location's definitions (nothing is run, so the resources point nowhere)."""
    return build_definitions(
        PartitionSettings(START_DATE, "UTC"),
        {
            "intercom": IntercomResource(access_token="unused"),
            "warehouse": WarehouseResource(url="duckdb:///unused.duckdb"),
        },
    )


defs = definitions()


def launch(selections: dict[str, list[str]]) -> dict[str, str]:
    """Each selection's answer: `LaunchBackfillSuccess`, or the error's message."""
    keys = sorted(defs.resolve_all_asset_keys(), key=lambda k: k.to_user_string())
    asset_selection = [{"path": list(key.path)} for key in keys]
    origin = InProcessCodeLocationOrigin(
        loadable_target_origin=LoadableTargetOrigin(
            python_file=None, module_name=__name__, attribute="defs"
        ),
        location_name="intercom_assets",
    )
    answers: dict[str, str] = {}
    with (
        dg.instance_for_test() as instance,
        WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget(origin)) as workspace,
    ):
        context = workspace.create_request_context()
        for name, partitions in selections.items():
            params = {"assetSelection": asset_selection, "partitionNames": partitions}
            result = execute_dagster_graphql(context, LAUNCH, variables={"p": params})
            answer = result.data["launchPartitionBackfill"]
            answers[name] = answer.get("message") or answer["__typename"]
    return answers


def main() -> None:
    partitions = defs.resolve_asset_graph()
    keys = next(
        node.partitions_def.get_partition_keys()
        for node in partitions.asset_nodes
        if node.partitions_def is not None
    )
    selections = {"one day": keys[-1:], "a range": keys[2:5], "all": list(keys)}
    print(json.dumps(launch(selections)))


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    sys.exit(main())
