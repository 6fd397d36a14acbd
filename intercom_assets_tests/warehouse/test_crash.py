"""A writer killed with SIGKILL mid-batch leaves the last committed batch; a re-run completes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from intercom_assets.warehouse import Warehouse

from .conftest import CONTACT_TAGS, CONTACTS, Target
from .writer import STREAM

ROOT = Path(__file__).resolve().parents[2]
BIG = 60_000  # rows of the batch that gets killed on PostgreSQL (it blocks before committing)
BIG_DUCKDB = 1_000_000  # DuckDB has no lock to block on: a batch that takes seconds to write


def start_writer(
    target: Target, first: int, last: int, rows: int, history: str = ""
) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "intercom_assets_tests.warehouse.writer",
            target.url,
            target.schema,
            str(first),
            str(last),
            str(rows),
            *([history] if history else []),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def wait_for_line(process: subprocess.Popen, expected: str) -> list[str]:
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line.strip())
        if line.strip() == expected:
            return seen
    raise AssertionError(f"writer ended without printing {expected!r}: {seen}")


def wait_until_blocked_on_lock(target: Target, timeout: float = 30.0) -> None:
    """Wait until another session waits for a lock on the state table (its batch is written)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(target.url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND query LIKE %s",
                (f"%{target.schema}%_state%",),
            ).fetchone()
            if waiting and waiting[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the writer never reached its state update")


def assert_batches_committed(target: Target, last: int, rows: int) -> None:
    with target.connect() as wh:
        wh.migrate([CONTACTS, CONTACT_TAGS])
        assert wh.read_state(STREAM) == {"batch": last}
        contacts = wh.table("contacts")
        expected_ids = {f"b{n}-{i}" for n in range(1, last + 1) for i in range(rows)}
        assert set(contacts.get_column("id")) == expected_ids | {"shared"}
        shared = contacts.filter(contacts["id"] == "shared").row(0, named=True)
        assert shared["session_count"] == last
        assert wh.table("contact_tags").rows()[0][:2] == ("shared", f"t{last}")
        assert wh.table("contact_tags").height == 1


@pytest.mark.slow
def test_sigkill_mid_batch_keeps_the_last_commit(target: Target, wh: Warehouse) -> None:
    first = start_writer(target, 1, 1, 10)
    wait_for_line(first, "committed 1")
    assert first.wait(timeout=60) == 0

    if target.backend == "postgres":
        # Hold the state row so the writer blocks after writing batch 2, then kill it there.
        with psycopg.connect(target.url) as blocker:
            blocker.execute(
                f'SELECT * FROM "{target.schema}"."_state" WHERE stream = %s FOR UPDATE',
                (STREAM,),
            )
            writer = start_writer(target, 2, 3, BIG)
            wait_until_blocked_on_lock(target)
            os.kill(writer.pid, signal.SIGKILL)
            writer.wait(timeout=30)
            blocker.rollback()
    else:
        writer = start_writer(target, 2, 3, BIG_DUCKDB)
        wait_for_line(writer, "begin 2")
        time.sleep(0.3)
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=30)
        assert writer.stdout is not None
        assert "committed 2" not in writer.stdout.read(), "batch 2 finished before the kill"

    assert writer.returncode == -signal.SIGKILL
    assert_batches_committed(target, 1, 10)

    rerun = start_writer(target, 2, 3, 10)
    assert rerun.wait(timeout=120) == 0
    assert_batches_committed(target, 3, 10)
    for process in (first, writer, rerun):
        assert process.stdout is not None
        process.stdout.close()
