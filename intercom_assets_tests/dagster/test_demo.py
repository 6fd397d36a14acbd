"""`intercom-assets demo`: two recorded runs, a summary per table, tables that hold the data."""

import subprocess
import sys
from pathlib import Path

import dagster as dg

from intercom_assets.demo import DEMO_SCHEMA
from intercom_assets.warehouse import connect


def test_demo_records_two_runs_and_summarizes_every_table(tmp_path: Path) -> None:
    home = tmp_path / "home"
    command = [str(Path(sys.executable).with_name("intercom-assets")), "demo"]
    command += ["--home", str(home), "--size", "tiny"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr[-4000:]
    out = done.stdout
    assert out.count("contacts: started") == 2 and out.count("contacts: finished") == 2
    assert out.count("\ntotal ") == 2
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert len(runs) == 2 and all(r.is_success for r in runs)
    with connect(home / "intercom.duckdb", schema=DEMO_SCHEMA) as wh:
        rows = wh.query(f'SELECT COUNT(*) AS n FROM "{DEMO_SCHEMA}".contacts').item()
    summary_line = next(line for line in out.splitlines()[::-1] if line.startswith("contacts "))
    assert int(summary_line.split()[1]) <= rows  # live rows reported, soft-deleted ones kept
