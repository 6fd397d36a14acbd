"""The `quarantine` check: a ticket Intercom sends malformed (through a proxy in front of the
served sandbox) is held in `_rejected`; the ERROR check names it and fails the run, the
run-failure alert posts it, every other ticket loads and the streams downstream run; once
Intercom sends it well-formed the daily sweep loads it and the check passes."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import dagster as dg
import httpx
import orjson

from intercom_assets.resources import AlertWebhookResource, IntercomResource
from intercom_assets.schedules import DAILY_JOB
from intercom_assets.sensors import RUN_FAILURE_SENSOR, build_run_failure_sensor
from intercom_assets.streams.tickets import STREAM as TICKETS
from intercom_assets_tests.conftest import Receiver
from intercom_assets_tests.dagster.conftest import Pipeline, make_pipeline

HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding"}


class Corrupting:
    """While `active`, the record with id `target` in any list of a JSON answer gets `field`
    set to `value` on its way through the proxy."""

    def __init__(self, target: str, field: str, value: Any) -> None:
        self.target, self.field, self.value = target, field, value
        self.active = True

    def rewrite(self, body: bytes) -> bytes:
        if not self.active:
            return body
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return body
        for value in data.values() if isinstance(data, dict) else ():
            for record in value if isinstance(value, list) else ():
                if isinstance(record, dict) and record.get("id") == self.target:
                    record[self.field] = self.value
        return orjson.dumps(data)


@contextmanager
def proxy(upstream: str, corrupting: Corrupting) -> Iterator[str]:
    """An HTTP proxy on a loopback port in front of `upstream`; yields its base URL."""
    client = httpx.Client(base_url=upstream, timeout=30)

    class Forward(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            content = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in {"host"}}
            answer = client.request(self.command, self.path, content=content, headers=headers)
            body = answer.content
            if answer.status_code == 200:
                body = corrupting.rewrite(body)
            self.send_response(answer.status_code)
            for k, v in answer.headers.items():
                if k.lower() not in HOP_HEADERS:
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _forward

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        client.close()


def test_a_quarantined_record_fails_its_run_by_name_and_clears_once_mended(
    pipeline: Pipeline, receiver: Receiver
) -> None:
    p = pipeline
    target = sorted(c["id"] for c in p.sb.truth()["tickets"])[2]
    corrupting = Corrupting(target, "open", "yes")
    intercom: IntercomResource = p.resources["intercom"]
    with proxy(intercom.base_url or "", corrupting) as proxied:
        p = make_pipeline(p.url, p.schema, proxied, p.sb, p.instance)
        chosen = ["contacts", "tickets", "ticket_parts"]
        result = p.materialize(p.day(), streams=chosen, raise_on_error=False)
        assert not result.success
        failed = {e.check_name: e for e in result.get_asset_check_evaluations() if not e.passed}
        check = failed["quarantine"]
        assert check.severity == dg.AssetCheckSeverity.ERROR
        assert check.description is not None and target in check.description
        assert "'open'" in check.description and "_rejected" in check.description
        # every other ticket loaded, with its materialization recorded
        assert result.asset_materializations_for_node("intercom__tickets")
        # the streams downstream are not held back: they ran and succeeded in the same run
        succeeded = {e.step_key for e in result.all_events if e.is_step_success}
        failed_steps = {e.step_key for e in result.all_events if e.is_step_failure}
        assert {"intercom__tickets", "intercom__ticket_parts"} <= succeeded
        assert failed_steps == {"intercom__quarantine"}
        with p.warehouse() as wh:
            wh.register(TICKETS.tables)
            stored = set(wh.live_ids("tickets").to_list())
        truth = {c["id"] for c in p.sb.truth()["tickets"]}
        assert stored == truth - {target}

        context = dg.build_run_status_sensor_context(
            sensor_name=RUN_FAILURE_SENSOR,
            dagster_event=result.get_run_failure_event(),
            dagster_instance=p.instance,
            dagster_run=result.dagster_run,
            resources={"alert_webhook": AlertWebhookResource(url=receiver.url)},
        ).for_run_failure()
        build_run_failure_sensor(retry_delay_seconds=0)(context)
        assert len(receiver.received) == 1
        posted = orjson.dumps(receiver.received[0]).decode()
        assert target in posted and "quarantined" in posted

        corrupting.active = False  # Intercom sends it well-formed again
        # a window run that does not reach back to it: the run succeeds, the record still
        # shows, at WARN (the run that quarantined it failed and alerted already)
        later = p.materialize(p.day(), streams=["tickets"])
        assert later.success
        checks = {e.check_name: e for e in later.get_asset_check_evaluations()}
        assert not checks["quarantine"].passed
        assert checks["quarantine"].severity == dg.AssetCheckSeverity.WARN
        assert target in (checks["quarantine"].description or "")
        # the daily job's sweep reads it again, well-formed: it loads and the check passes
        daily = p.defs.resolve_job_def(DAILY_JOB).run_tags  # the swept streams in full mode
        mended = p.materialize(p.day(), streams=["tickets"], tags=daily)
        assert mended.success
        checks = {e.check_name: e for e in mended.get_asset_check_evaluations()}
        assert checks["quarantine"].passed
        with p.warehouse() as wh:
            wh.register(TICKETS.tables)
            assert wh.rejected("tickets").height == 0
            assert set(wh.live_ids("tickets").to_list()) == truth
