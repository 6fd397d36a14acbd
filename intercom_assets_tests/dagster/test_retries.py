"""Failures: transient ones heal through the stream assets' retry policy, permanent ones fail
once with a short message.

The restart scenario runs a throwaway PostgreSQL server of its own (see
`throwaway_postgres`), stops it once the history run has written its first rows and starts it
again: the run must end successful through the retry policy, with the warehouse equal to the
sandbox's truth.
"""

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
import pytest

from intercom_assets.api import IntercomAuthError, IntercomScrollExists, IntercomServerError
from intercom_assets.definitions import build_definitions
from intercom_assets.failures import STREAM_RETRY_POLICY, permanent_failure
from intercom_assets.resources import IntercomResource, WarehouseResource
from intercom_assets.sandbox import FaultConfig, Sandbox
from intercom_assets.settings import PartitionSettings, SettingError
from intercom_assets.warehouse import (
    SchemaMismatchError,
    WarehouseInputError,
    WarehouseLockedError,
    connect,
)
from intercom_assets_tests.dagster.conftest import (
    E2E_CHURN,
    SANDBOX_START,
    START_DATE,
    TIMEZONE,
    Pipeline,
)
from intercom_assets_tests.dagster.throwaway_postgres import ThrowawayPostgres
from intercom_assets_tests.truth import assert_matches_truth

QUICK_RETRY = dg.RetryPolicy(max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL)
"""The production policy's shape with shorter waits (2, 4, 8 s), so the scenario takes seconds."""
SCHEMA = "intercom"
FIRST_TABLE = "tags"
"""The first stream in load order: its rows are the run's first writes."""
DOWN_SECONDS = 1.0


def pipeline(sb: Sandbox, served: str, url: str, instance: dg.DagsterInstance) -> Pipeline:
    resources = {
        "intercom": IntercomResource(access_token=sb.token, base_url=served),
        "warehouse": WarehouseResource(url=url, schema_name=SCHEMA),
    }
    defs = build_definitions(
        PartitionSettings(START_DATE, TIMEZONE), resources, retry_policy=QUICK_RETRY
    )
    return Pipeline(sb, defs, resources, instance, url, SCHEMA)


def events_of(result: dg.ExecuteInProcessResult, kind: dg.DagsterEventType) -> list[Any]:
    return [e for e in result.all_events if e.event_type == kind]


def error_chain(error: Any) -> list[tuple[str, str]]:
    """(class name, message) of a step error and every cause and context behind it."""
    chain, todo = [], [error]
    while todo:
        info = todo.pop()
        if info is None:
            continue
        chain.append((info.cls_name or "", info.message))
        todo += [info.cause, info.context]
    return chain


def is_operational_error(cls_name: str) -> bool:
    """Whether psycopg's error of that name is an OperationalError (e.g. AdminShutdown)."""
    kind = getattr(psycopg.errors, cls_name, None) or getattr(psycopg, cls_name, None)
    return isinstance(kind, type) and issubclass(kind, psycopg.OperationalError)


class Interrupter:
    """Stops the server once `FIRST_TABLE` has rows, and starts it again `DOWN_SECONDS` later."""

    def __init__(self, server: ThrowawayPostgres) -> None:
        self.server = server
        self.stopped_at: float | None = None
        self.started_at: float | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _rows_written(self) -> bool:
        try:
            with psycopg.connect(self.server.url, connect_timeout=2) as conn:
                row = conn.execute(
                    "SELECT to_regclass(%s) IS NOT NULL", (f"{SCHEMA}.{FIRST_TABLE}",)
                ).fetchone()
                if not row or not row[0]:
                    return False
                count = conn.execute(f"SELECT count(*) FROM {SCHEMA}.{FIRST_TABLE}").fetchone()
                return bool(count and count[0])
        except psycopg.Error:
            return False

    def _run(self) -> None:
        try:
            deadline = time.monotonic() + 120
            while not self._rows_written():
                if time.monotonic() > deadline or self.done.is_set():
                    return
                time.sleep(0.02)
            self.server.stop("fast")
            self.stopped_at = time.monotonic()
            time.sleep(DOWN_SECONDS)
            self.server.start()
            self.started_at = time.monotonic()
        except BaseException as exc:
            self.error = exc

    @contextlib.contextmanager
    def running(self) -> Iterator["Interrupter"]:
        self.thread.start()
        try:
            yield self
        finally:
            self.done.set()
            self.thread.join(60)


@pytest.mark.postgres
@pytest.mark.slow
def test_postgres_stopped_and_restarted_mid_run_heals_through_the_retry_policy(
    throwaway_postgres: ThrowawayPostgres,
) -> None:
    sb = Sandbox(size="tiny", seed=3, timezone=TIMEZONE, start=SANDBOX_START, churn=E2E_CHURN)
    # Every answer takes 20 ms: the history run lasts seconds, far longer than a restart.
    sb.set_faults(FaultConfig(latency_seconds=0.02))
    with (
        sb.serve(port=0) as served,
        dg.instance_for_test() as instance,
        Interrupter(throwaway_postgres).running() as interrupter,
    ):
        p = pipeline(sb, served, throwaway_postgres.url, instance)
        started = time.monotonic()
        result = p.materialize(START_DATE, p.day())
        finished = time.monotonic()
    assert interrupter.error is None, interrupter.error
    assert interrupter.stopped_at is not None and interrupter.started_at is not None
    assert started < interrupter.stopped_at < finished, "the server was not stopped mid-run"

    assert result.success
    retries = events_of(result, dg.DagsterEventType.STEP_UP_FOR_RETRY)
    assert retries, "no step was retried: the restart did not interrupt the run"
    for event in retries:
        chain = error_chain(event.event_specific_data.error)
        dropped = [(name, message) for name, message in chain if is_operational_error(name)]
        assert dropped, chain  # the database was unreachable or dropped the connection
        print(f"retried {event.step_key}: {dropped[0][0]}: {dropped[0][1].strip()}")
    restarted = events_of(result, dg.DagsterEventType.STEP_RESTARTED)
    assert len(restarted) == len(retries)
    assert not events_of(result, dg.DagsterEventType.STEP_FAILURE)

    with connect(throwaway_postgres.url, schema=SCHEMA) as wh:
        assert_matches_truth(wh, sb.truth())


def test_a_rejected_token_fails_once_without_a_retry(tmp_path: Path) -> None:
    sb = Sandbox(size="tiny", seed=3, timezone=TIMEZONE, start=SANDBOX_START)
    wrong = "wrong-token-s3cret"
    with sb.serve(port=0) as served, dg.instance_for_test() as instance:
        resources = {
            "intercom": IntercomResource(access_token=wrong, base_url=served),
            "warehouse": WarehouseResource(url=f"duckdb:///{tmp_path / 'w.duckdb'}"),
        }
        defs = build_definitions(
            PartitionSettings(START_DATE, TIMEZONE),
            resources,
            retry_policy=dg.RetryPolicy(max_retries=3, delay=0.1),
        )
        sb.reset_request_counts()
        result = dg.materialize(
            list(defs.assets or []),
            selection=[dg.AssetKey(["intercom", "tags"])],  # unpartitioned: no partition key
            resources=resources,
            instance=instance,
            raise_on_error=False,
        )
        calls = sb.request_counts()
    assert not result.success
    assert len(events_of(result, dg.DagsterEventType.STEP_START)) == 1
    assert not events_of(result, dg.DagsterEventType.STEP_UP_FOR_RETRY)
    assert not events_of(result, dg.DagsterEventType.STEP_RESTARTED)
    assert sum(calls.values()) == 1, calls  # one request, answered 401, never repeated
    [failure] = events_of(result, dg.DagsterEventType.STEP_FAILURE)
    error = failure.event_specific_data.error
    assert error.message.startswith(
        "dagster._core.definitions.events.Failure: Intercom refused the access token"
        " (INTERCOM_ACCESS_TOKEN); not retried: GET /me failed with HTTP 401"
    ), error.message
    logged = " ".join(str(e.message) for e in result.all_events) + error.to_string()
    assert wrong not in logged and "s3cret" not in logged


def test_the_stream_assets_carry_the_retry_policy() -> None:
    defs = build_definitions(PartitionSettings(START_DATE, TIMEZONE))
    for asset in defs.assets or []:
        assert isinstance(asset, dg.AssetsDefinition)
        assert asset.op.retry_policy == STREAM_RETRY_POLICY
    assert STREAM_RETRY_POLICY.max_retries == 3
    assert STREAM_RETRY_POLICY.backoff == dg.Backoff.EXPONENTIAL


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (IntercomAuthError("GET /me failed with HTTP 401", status=401), True),
        (SettingError("INTERCOM_REGION must be one of US, EU or AU, got 'Mars'"), True),
        (SchemaMismatchError("contacts.email is integer, the spec says text"), True),
        (WarehouseInputError("contacts: column id has nulls"), True),
        (IntercomScrollExists("scroll_exists", status=400), False),
        (IntercomServerError("HTTP 503 after 8 attempts", status=503), False),
        (WarehouseLockedError("the file stayed locked"), False),
        (psycopg.OperationalError("server closed the connection unexpectedly"), False),
        (ConnectionResetError("reset by peer"), False),
    ],
)
def test_which_errors_are_permanent(error: Exception, permanent: bool) -> None:
    failure = permanent_failure(error)
    assert (failure is not None) == permanent
    if failure is not None:
        assert failure.allow_retries is False
        assert str(error) in (failure.description or "")
