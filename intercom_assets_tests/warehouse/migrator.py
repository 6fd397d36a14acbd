"""A migrating process for the concurrency test: in each round, waits for its peers at a
file barrier, then migrates a fresh schema (PostgreSQL) or file (DuckDB) at the same time.

python -m intercom_assets_tests.warehouse.migrator URL_TEMPLATE SCHEMA_TEMPLATE ROUNDS PEERS DIR
(`{round}` in the templates is replaced by the round number; errors go to stderr, exit 1)
"""

import os
import sys
import time
import traceback
from pathlib import Path

from intercom_assets.warehouse import connect

from .conftest import SPECS


def barrier(directory: Path, peers: int) -> None:
    """Wait until `peers` processes reached this directory."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / str(os.getpid())).touch()
    deadline = time.monotonic() + 120
    while sum(1 for _ in directory.iterdir()) < peers:
        if time.monotonic() > deadline:
            raise TimeoutError(f"peers never arrived at {directory}")
        time.sleep(0.0005)


def main(url: str, schema: str, rounds: int, peers: int, directory: str) -> int:
    failures = 0
    for number in range(rounds):
        barrier(Path(directory) / f"round{number}", peers)
        try:
            with connect(url.format(round=number), schema=schema.format(round=number)) as wh:
                wh.migrate(SPECS)
        except Exception:
            failures += 1
            traceback.print_exc()
    return 1 if failures else 0


if __name__ == "__main__":
    url, schema, rounds, peers, directory = sys.argv[1:]
    sys.exit(main(url, schema, int(rounds), int(peers), directory))
