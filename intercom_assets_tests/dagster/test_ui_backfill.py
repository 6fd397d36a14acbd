"""The UI's "Materialize all" over partitions: the webserver accepts the backfill.

The dialog sends `launchPartitionBackfill` with every asset and the ticked partitions. The
webserver refuses a backfill in which the tables of one multi-asset would get partitions
that Dagster does not consider identical; it answered HTTP 500 and the dialog stayed open
without a word. Dagster walks the asset graph in an order set by Python's string hashing,
so the mutation runs in subprocesses under fixed hash seeds (each seed refused at least one
selection while a table followed a partitioned table of another stream directly). The
browser test (`intercom_assets_tests/ui`) clicks the same dialog and runs the backfill.
"""

import json
import os
import subprocess
import sys

from intercom_assets.assets import build_assets
from intercom_assets.keys import table_key
from intercom_assets.partitions import daily_partitions
from intercom_assets.settings import PartitionSettings
from intercom_assets.streams import STREAMS

HASH_SEEDS = ("1", "2")


def test_materialize_all_backfills_are_accepted_for_one_day_a_range_and_all() -> None:
    command = [sys.executable, "-m", "intercom_assets_tests.dagster.ui_backfill"]
    runs = [
        subprocess.Popen(
            command,
            env={**os.environ, "PYTHONHASHSEED": seed},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in HASH_SEEDS
    ]
    for seed, run in zip(HASH_SEEDS, runs, strict=True):
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err[-3000:]
        answers = json.loads(out.strip().splitlines()[-1])
        assert answers == {
            "one day": "LaunchBackfillSuccess",
            "a range": "LaunchBackfillSuccess",
            "all": "LaunchBackfillSuccess",
        }, (seed, answers)


def test_a_partitioned_table_has_no_partitioned_parent_outside_its_multi_asset_but_its_entity():
    """Why the backfill is accepted, for every stream (not only those the seeds above walk
    into): within a partitioned multi-asset, only the entity table has partitioned parents
    in other multi-assets; every other table's partitioned parents are its entity."""
    partitions = daily_partitions(PartitionSettings("2026-03-01", "UTC"))
    partitioned = {table_key(t.name) for s in STREAMS if s.windowed for t in s.tables}
    assert partitioned  # contacts, conversations, tickets, admin activity logs
    for asset in build_assets(partitions):
        if asset.partitions_def is None:
            continue
        entity, *others = asset.specs
        for spec in others:
            parents = {d.asset_key for d in spec.deps} & partitioned
            assert parents == {entity.key}, (spec.key, parents)
