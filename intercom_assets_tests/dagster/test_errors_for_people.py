"""Errors for people: configuration and connection errors are one to three lines that say
what to set, printed without a traceback (unless `--debug`), and never show the token.

The command runs as a user runs it (a subprocess, configured only by environment
variables); Intercom is the sandbox served on a loopback port.
"""

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest

from intercom_assets.api import IntercomClient, IntercomTransportError, RetryPolicy
from intercom_assets.assets import build_assets
from intercom_assets.partitions import daily_partitions
from intercom_assets.ranges import PartitionRangeError, check_range
from intercom_assets.resources import IntercomResource, WarehouseResource
from intercom_assets.sandbox import Sandbox
from intercom_assets.settings import PartitionSettings
from intercom_assets_tests.dagster.test_cli import clean_env

TOKEN = "tok-a9f3-very-secret-value"
"""Set in every command's environment: it must never appear in what the command prints."""
START = "2026-01-01"
COMMAND = [sys.executable, "-m", "intercom_assets.cli"]


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def env_for(home: Path, **variables: str) -> dict[str, str]:
    env = clean_env(home) | {"INTERCOM_ASSETS_START_DATE": START}
    env |= {"INTERCOM_ACCESS_TOKEN": TOKEN, **variables}
    return {k: v for k, v in env.items() if v != ""}


def assert_for_people(
    done: subprocess.CompletedProcess[str], *expected: str, secrets: tuple[str, ...] = ()
) -> list[str]:
    """Exit 1, at most three lines in all, no traceback, the expected words, no secret."""
    output = done.stdout + done.stderr
    lines = [line for line in output.splitlines() if line.strip()]
    assert done.returncode == 1, output
    assert len(lines) <= 3, output
    assert "Traceback" not in output
    for words in expected:
        assert words in output, output
    for secret in (TOKEN, *secrets):
        assert secret not in output, output
    return lines


def test_no_token(tmp_path: Path) -> None:
    env = env_for(tmp_path, INTERCOM_ACCESS_TOKEN="")
    done = run(["load", "--from", START, "--to", START], env, tmp_path)
    lines = assert_for_people(done, "INTERCOM_ACCESS_TOKEN must be set")
    assert len(lines) == 1


def test_wrong_token_answered_401_by_the_sandbox(tmp_path: Path) -> None:
    sb = Sandbox(size="tiny", seed=1)
    with sb.serve(port=0) as url:
        env = env_for(tmp_path, INTERCOM_BASE_URL=url)
        done = run(["load", "--from", START, "--to", START], env, tmp_path)
    assert_for_people(
        done, "Intercom refused the access token", "HTTP 401", "set INTERCOM_ACCESS_TOKEN"
    )
    assert sb.token != TOKEN


def test_unreachable_postgres_for_the_demo(tmp_path: Path) -> None:
    url = "postgresql://loader:pg-pass-5ecret@127.0.0.1:1/analytics"
    done = run(["demo", "--database", url, "--home", str(tmp_path)], env_for(tmp_path), tmp_path)
    assert_for_people(
        done,
        "cannot connect to PostgreSQL",
        "Connection refused",
        "--database",
        secrets=("pg-pass-5ecret",),
    )


def test_unknown_scheme_for_the_demo_and_the_setting(tmp_path: Path) -> None:
    done = run(
        ["demo", "--database", "mysql://x", "--home", str(tmp_path)], env_for(tmp_path), tmp_path
    )
    lines = assert_for_people(done, "--database must be postgresql://", "unknown scheme 'mysql'")
    assert len(lines) == 1
    env = env_for(tmp_path, INTERCOM_ASSETS_DATABASE_URL="mysql://u:db-pass-5ecret@h/x")
    done = run(["load", "--from", START, "--to", START], env, tmp_path)
    assert_for_people(
        done,
        "INTERCOM_ASSETS_DATABASE_URL must be postgresql://",
        "unknown scheme 'mysql'",
        secrets=("db-pass-5ecret",),
    )
    assert not list(tmp_path.glob("*mysql*"))  # never taken for a DuckDB path


def test_missing_database_name(tmp_path: Path) -> None:
    for args, variables, name in (
        (
            ["demo", "--database", "postgresql://u@h:5432/", "--home", str(tmp_path)],
            {},
            "--database",
        ),
        (
            ["load", "--from", START, "--to", START],
            {"INTERCOM_ASSETS_DATABASE_URL": "postgresql://u:db-pass-5ecret@h:5432/"},
            "INTERCOM_ASSETS_DATABASE_URL",
        ),
    ):
        done = run(args, env_for(tmp_path, **variables), tmp_path)
        assert_for_people(done, f"{name} must be", "no database name", secrets=("db-pass-5ecret",))


def test_partition_before_the_start_date(tmp_path: Path) -> None:
    done = run(["load", "--from", "2025-12-01", "--to", START], env_for(tmp_path), tmp_path)
    today = date.today()
    last = {(today + timedelta(days=d)).isoformat() for d in (-1, 0, 1)}  # any time zone
    output = done.stdout + done.stderr
    assert_for_people(done, "starts before the first partition", "INTERCOM_ASSETS_START_DATE")
    assert f"{START}..." in output and any(f"...{day}" in output for day in last), output


def test_reversed_partition_range(tmp_path: Path) -> None:
    done = run(["load", "--from", "2026-01-05", "--to", START], env_for(tmp_path), tmp_path)
    assert_for_people(
        done, "2026-01-05...2026-01-01 is reversed", f"partitions are {START}...", "START_DATE"
    )


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    done = run(
        ["demo", "--database", "mysql://x", "--home", str(tmp_path), "--debug"],
        env_for(tmp_path),
        tmp_path,
    )
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "SettingError" in done.stderr


def test_a_reversed_range_launched_in_dagster_fails_with_the_short_message(
    tmp_path: Path,
) -> None:
    """A range that reaches the asset (the UI, `dagster asset materialize`) is refused before
    the stream fetches anything, and not retried.

    A run with a partition range holds the daily-partitioned assets only (Dagster launches the
    unpartitioned ones, which read what Intercom holds now, in a run of their own)."""
    sb = Sandbox(size="tiny", seed=1)
    partitions = daily_partitions(PartitionSettings(START, "UTC"))
    ranged = [a for a in build_assets(partitions) if a.partitions_def is not None]
    assert ranged
    with sb.serve(port=0) as url:
        result = dg.materialize(
            ranged,
            resources={
                "intercom": IntercomResource(access_token=sb.token, base_url=url),
                "warehouse": WarehouseResource(url=f"duckdb:///{tmp_path / 'w.duckdb'}"),
            },
            tags={
                "dagster/asset_partition_range_start": "2026-01-05",
                "dagster/asset_partition_range_end": START,
            },
            raise_on_error=False,
        )
        assert sum(sb.request_counts().values()) == 0
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert failures
    for event in failures:
        assert event.step_failure_data is not None and event.step_failure_data.error
        message = event.step_failure_data.error.message
        assert "2026-01-05...2026-01-01 is reversed" in message
        assert "INTERCOM_ASSETS_START_DATE" in message


def test_an_unreachable_database_fails_the_step_with_the_short_message(tmp_path: Path) -> None:
    sb = Sandbox(size="tiny", seed=1)
    partitions = daily_partitions(PartitionSettings(START, "UTC"))
    assets = build_assets(partitions, retry_policy=dg.RetryPolicy(max_retries=0))
    assert assets[0].partitions_def is None  # the first stream (tags) is unpartitioned
    with sb.serve(port=0) as url:
        result = dg.materialize(
            assets[:1],
            resources={
                "intercom": IntercomResource(access_token=sb.token, base_url=url),
                "warehouse": WarehouseResource(url="postgresql://u:pg-pass-5ecret@127.0.0.1:1/db"),
            },
            raise_on_error=False,
        )
    failures = [e for e in result.all_events if e.is_step_failure]
    assert len(failures) == 1 and failures[0].step_failure_data is not None
    error = failures[0].step_failure_data.error
    assert error is not None
    assert error.message.startswith(
        "dagster._core.definitions.events.Failure: cannot connect to PostgreSQL"
    )
    assert "pg-pass-5ecret" not in error.message
    assert error.cause is not None  # the original error stays in the step's record


def test_ranges_inside_the_partitions_pass_and_others_name_the_valid_range() -> None:
    partitions = daily_partitions(PartitionSettings(START, "UTC"))
    last = partitions.get_last_partition_key()
    assert last is not None
    check_range(partitions, START, last)
    check_range(partitions, last, last)
    after = (date.fromisoformat(last) + timedelta(days=1)).isoformat()
    for start, end, words in (
        (START, after, "ends after the last partition"),
        ("2025-12-31", START, "starts before the first partition"),
        (last, START, "is reversed"),
        ("2026-1-5", last, "is not a date"),
    ):
        with pytest.raises(PartitionRangeError, match=words) as refused:
            check_range(partitions, start, end)
        assert len(str(refused.value).splitlines()) <= 2
        if words != "is not a date":
            assert f"{START}...{last}" in str(refused.value)
            assert "INTERCOM_ASSETS_START_DATE" in str(refused.value)


@contextmanager
def taken_port() -> Iterator[int]:
    """A loopback port another process listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@contextmanager
def unanswered_port() -> Iterator[int]:
    """A loopback port whose listener never accepts and whose queue is full: a connection
    to it is neither accepted nor refused (a host that does not answer)."""
    with ExitStack() as stack:
        listener = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(4):  # fill the accept queue; further handshakes are dropped
            filler = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
        time.sleep(0.2)
        yield port


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_intercom_host_says_what_it_waits_for_and_fails_in_seconds(
    tmp_path: Path,
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    done = run(
        ["load", "--from", START, "--to", START], env_for(tmp_path, INTERCOM_BASE_URL=url), tmp_path
    )
    elapsed = time.monotonic() - started
    lines = assert_for_people(done, "cannot reach Intercom", "INTERCOM_BASE_URL")
    assert done.stdout.splitlines()[0] == f"connecting to Intercom at {url} ..."
    assert len(lines) == 3
    assert elapsed < 20, f"{elapsed:.0f} s before the message"


@pytest.mark.parametrize("timeout", [None, 30.0], ids=["client-default", "resource-30s"])
def test_a_host_that_does_not_answer_fails_to_connect_within_seconds(
    timeout: float | None,
) -> None:
    """The connect timeout is seconds, whatever the read timeout (the resource passes its
    `timeout_seconds`, 30 s, as a number)."""
    with unanswered_port() as port:
        base_url = f"http://127.0.0.1:{port}"
        if timeout is None:
            client = IntercomClient("t", base_url=base_url, retry=RetryPolicy(max_attempts=1))
        else:
            resource = IntercomResource(
                access_token="t", base_url=base_url, timeout_seconds=timeout
            )
            client = resource.new_client(retry=RetryPolicy(max_attempts=1))
        assert client.timeout.read == (timeout or client.timeout.read) and client.timeout.read >= 30
        started = time.monotonic()
        with client, pytest.raises(IntercomTransportError, match="ConnectTimeout"):
            client.get("/me")
        assert time.monotonic() - started < 8


def test_the_sandbox_on_a_taken_port_names_the_option(tmp_path: Path) -> None:
    with taken_port() as port:
        done = run(["sandbox", "--size", "tiny", "--port", str(port)], env_for(tmp_path), tmp_path)
    lines = assert_for_people(done, f"cannot serve on 127.0.0.1:{port}", "another --port")
    assert len(lines) == 1


def test_a_database_host_that_does_not_resolve_names_what_to_set(tmp_path: Path) -> None:
    url = "postgresql://loader:pg-pass-5ecret@nosuchhost.invalid:5432/analytics"
    done = run(["demo", "--database", url, "--home", str(tmp_path)], env_for(tmp_path), tmp_path)
    assert_for_people(
        done,
        "cannot resolve database host 'nosuchhost.invalid'",
        "--database",
        secrets=("pg-pass-5ecret",),
    )
    sb = Sandbox(size="tiny", seed=1, token=TOKEN)
    with sb.serve(port=0) as served:
        env = env_for(tmp_path, INTERCOM_BASE_URL=served, INTERCOM_ASSETS_DATABASE_URL=url)
        done = run(["load", "--from", START, "--to", START], env, tmp_path)
    assert_for_people(
        done,
        "cannot resolve database host 'nosuchhost.invalid'",
        "INTERCOM_ASSETS_DATABASE_URL",
        secrets=("pg-pass-5ecret",),
    )
