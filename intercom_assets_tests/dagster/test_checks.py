"""The `live_count` checks against a served sandbox: ERROR when the warehouse misses more
records than the change matrix's bounds explain, WARN for a difference within them."""

from dataclasses import fields, replace
from pathlib import Path

import dagster as dg

from intercom_assets.checks import count_severity, evaluate_checks, stream_checks
from intercom_assets.resources import IntercomResource
from intercom_assets.sandbox import Churn
from intercom_assets.streams import STREAMS
from intercom_assets_tests.dagster.conftest import START_DATE, Pipeline

QUIET = Churn(**{f.name: 0.0 for f in fields(Churn)})
COUNTED = ("contacts", "conversations", "companies")


def live_counts(p: Pipeline) -> dict[str, dg.AssetCheckResult]:
    """Every stream's `live_count` check, evaluated now."""
    tables = {t.name: t for s in STREAMS for t in s.tables}
    checks = [c for s in STREAMS for c in stream_checks(s, tables) if c.key.name == "live_count"]
    intercom: IntercomResource = p.resources["intercom"]
    client = intercom.new_client()
    try:
        with p.warehouse() as wh:
            results = evaluate_checks(checks, wh, lambda: client)
    finally:
        client.close()
    found = {r.asset_key.path[-1]: r for r in results if r.asset_key is not None}
    assert set(found) == set(COUNTED)
    return found


def metadata(result: dg.AssetCheckResult) -> dict[str, int]:
    return {k: v.value for k, v in result.metadata.items()}  # type: ignore[misc]


def test_missing_history_is_an_error_and_records_created_since_the_run_a_warning(
    pipeline: Pipeline,
) -> None:
    p = pipeline
    truth = p.sb.truth()
    for name, result in live_counts(p).items():  # nothing loaded: the whole history missing
        assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR, name
        assert metadata(result)["stored_live"] == 0, name
        if name != "companies":  # Intercom counts only companies with users
            assert metadata(result)["intercom_total_count"] == len(truth[name]), name

    assert p.materialize(START_DATE, p.day()).success
    assert all(r.passed for r in live_counts(p).values())

    log = p.sb.advance(days=1, churn=replace(QUIET, contact_create=0.05, conversation_create=0.05))
    results = live_counts(p)
    for name in ("contacts", "conversations"):
        created = len(log.ids[f"{name}_created"])
        assert 0 < created <= 10, (name, created)
        assert not results[name].passed, name
        assert results[name].severity == dg.AssetCheckSeverity.WARN, name
        assert metadata(results[name])["difference"] == -created, name


def test_the_error_threshold_is_more_than_one_percent_and_more_than_ten_records() -> None:
    error, warn = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN
    assert count_severity(live=0, total=10) == warn  # ten missing: not more than ten
    assert count_severity(live=0, total=11) == error
    assert count_severity(live=100_000 - 1_000, total=100_000) == warn  # exactly 1%
    assert count_severity(live=100_000 - 1_001, total=100_000) == error
    assert count_severity(live=500, total=40) == warn  # a surplus: the next sweep removes it


def test_an_error_check_failure_fails_the_run_and_is_alerted(pipeline: Pipeline) -> None:
    """A check failing at ERROR fails its run, and the run-failure alert names the check."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from intercom_assets.resources import AlertWebhookResource
    from intercom_assets.sensors import RUN_FAILURE_SENSOR, build_run_failure_sensor

    p = pipeline
    assert p.materialize(START_DATE, p.day()).success
    # most conversations lost, as if their history had never been loaded
    duck = p.url.startswith("duckdb:")
    path = p.url.removeprefix("duckdb:///")
    schema = f'"{Path(path).stem}"."{p.schema}"' if duck else f'"{p.schema}"'
    kept = f"(SELECT id FROM {schema}.conversations ORDER BY id LIMIT 5)"
    deletes = [
        f"DELETE FROM {schema}.{link} WHERE conversation_id NOT IN {kept}"
        for link in ("conversation_tags", "conversation_contacts", "conversation_parts")
    ] + [f"DELETE FROM {schema}.conversations WHERE id NOT IN {kept}"]
    if duck:
        import duckdb

        with duckdb.connect(path) as conn:
            for delete in deletes:
                conn.execute(delete)
    else:
        import psycopg

        with psycopg.connect(p.url, autocommit=True) as conn:
            for delete in deletes:
                conn.execute(delete)
    received: list[bytes] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = p.materialize(p.day(), streams=["conversations"], raise_on_error=False)
        assert not result.success
        evaluations = {
            e.check_name: e for e in result.get_asset_check_evaluations() if not e.passed
        }
        assert evaluations["live_count"].severity == dg.AssetCheckSeverity.ERROR
        webhook = AlertWebhookResource(url=f"http://127.0.0.1:{server.server_address[1]}/h")
        context = dg.build_run_status_sensor_context(
            sensor_name=RUN_FAILURE_SENSOR,
            dagster_event=result.get_run_failure_event(),
            dagster_instance=p.instance,
            dagster_run=result.dagster_run,
            resources={"alert_webhook": webhook},
        ).for_run_failure()
        build_run_failure_sensor(retry_delay_seconds=0)(context)
    finally:
        server.shutdown()
        server.server_close()
    assert len(received) == 1
    assert b"live_count" in received[0] and b"conversations" in received[0]


def test_part_cap_sits_on_each_parts_asset_and_names_the_capped_parents(
    pipeline: Pipeline,
) -> None:
    """`part_cap` is a check of `intercom/conversation_parts` and `intercom/ticket_parts`
    (not of their loads tables), and names the conversations and tickets past the cap."""
    p = pipeline
    streams = ["conversations", "conversation_parts", "tickets", "ticket_parts"]
    result = p.materialize(START_DATE, p.day(), streams=streams)
    assert result.success
    truth = p.sb.truth()
    found = {
        e.asset_key.to_user_string(): e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "part_cap"
    }
    assert set(found) == {"intercom/conversation_parts", "intercom/ticket_parts"}
    for table, parents in (("conversation", "conversations"), ("ticket", "tickets")):
        capped = sorted(i for i, n in truth[f"{table}_part_counts"].items() if n > 500)
        assert capped, f"the tiny workspace should hold {parents} past the cap"
        evaluation = found[f"intercom/{table}_parts"]
        assert not evaluation.passed
        assert evaluation.severity == dg.AssetCheckSeverity.WARN
        values = {k: v.value for k, v in evaluation.metadata.items()}
        assert values[f"{table}_ids"] == capped
        assert values[f"{parents}_over_cap"] == len(capped)
        assert values["parts_beyond_window"] == 0  # a first load sees only the window
        never = sum(truth[f"{table}_part_counts"][i] - 500 for i in capped)
        assert values["parts_never_loaded"] == never
        assert evaluation.description is not None
        assert all(i in evaluation.description for i in capped), evaluation.description
