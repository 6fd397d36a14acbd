"""The same sandbox over a real loopback port: API, `/_sandbox/*` controls, a reset, the CLI."""

import signal
import subprocess
import sys
import time

import httpx
import pytest

from intercom_assets.sandbox import FaultConfig, Sandbox
from intercom_assets_tests.processes import stop


def test_over_a_port_with_controls_and_a_connection_reset():
    sb = Sandbox(size="tiny", seed=1)
    with sb.serve(port=0) as url, httpx.Client(base_url=url, timeout=10) as http:
        auth = {"Authorization": "Bearer sandbox"}
        contacts = http.get("/contacts", headers=auth)
        assert contacts.status_code == 200
        assert contacts.headers["X-RateLimit-Limit"] == "1667"
        heavy = next(c for c in sb.truth()["contacts"] if c["companies"]["has_more"])
        sub = http.get(f"/contacts/{heavy['id']}/companies?per_page=5", headers=auth).json()
        assert sub["pages"]["next"].startswith(url)  # link URLs point at the served host
        assert http.get("/contacts").status_code == 401

        assert http.get("/_sandbox/clock").json() == {"now": sb.now, "timezone": "UTC"}
        assert http.get("/_sandbox/requests").json() == {
            "GET /contacts": 2,
            "GET /contacts/{id}/companies": 1,
        }
        assert http.post("/_sandbox/requests/reset").status_code == 200
        assert http.get("/_sandbox/requests").json() == {}
        before = sb.now
        log = http.post("/_sandbox/advance", json={"days": 1}).json()
        assert log["end"] == before + 86_400 == sb.now
        assert http.get("/_sandbox/truth").json()["now"] == sb.now

        put = http.put("/_sandbox/faults", json={"reset_rate": 1.0})
        assert put.status_code == 200
        assert sb.faults == FaultConfig(reset_rate=1.0)
        with pytest.raises(httpx.TransportError):
            http.get("/tags", headers=auth)
        http.put("/_sandbox/faults", json={"error_rate": 1.0, "latency_seconds": 0.01})
        assert http.get("/tags", headers=auth).status_code in {500, 502, 503, 504}
        http.put("/_sandbox/faults", json={})
        assert http.get("/tags", headers=auth).status_code == 200


def test_cli_serves_and_prints_the_base_url():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from intercom_assets.cli import main; main()",
            "sandbox",
            "--size",
            "tiny",
            "--port",
            "0",
            "--token",
            "t0k",
            "--timezone",
            "Europe/Dublin",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        for _ in range(50):
            try:
                me = httpx.get(f"{url}/me", headers={"Authorization": "Bearer t0k"}, timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert me.json()["app"]["timezone"] == "Europe/Dublin"
    finally:
        stop(proc)


SANDBOX_CLI = (sys.executable, "-c", "from intercom_assets.cli import main; main()", "sandbox")


def test_cli_stops_on_sigterm_even_when_its_parent_ignored_it():
    """A child inherits ignored signals: started with SIGTERM ignored (as some process
    managers and test runners leave it), the sandbox still stops on `terminate()`."""
    proc = subprocess.Popen(
        [*SANDBOX_CLI, "--size", "tiny", "--port", "0", "--token", "t0k"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_IGN),
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("http://127.0.0.1:")
        proc.terminate()
        assert proc.wait(timeout=30) == 0  # stopped cleanly ("stopping"), not killed
    finally:
        stop(proc)
