"""`intercom-assets demo --ui`: the Dagster UI on the demo's runs, sandbox and warehouse.

One module-wide `intercom-assets demo --ui --size tiny` (the real command, a subprocess) with
its sandbox, `dagster-webserver` and `dagster-daemon`. What the UI must show is read twice:
through the webserver's GraphQL API (cheap, every asset and check) and in a headless Chromium
(Debian's `/usr/bin/chromium`, driven by Playwright), which saves a screenshot of each page
under `test-artifacts/ui/`. The expected assets, checks, sensors and schedules come from the
code location's own `Definitions`, built for the demo's partitions. The last test presses
Ctrl-C (SIGINT) and checks that every process stopped.
"""

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest

from intercom_assets.definitions import build_definitions
from intercom_assets.demo import DEMO_SCHEMA, instance_home
from intercom_assets.demo_ui import LOCATION, free_port
from intercom_assets.resources import IntercomResource, WarehouseResource
from intercom_assets.settings import CHANGE_SENSOR_INTERVAL, PartitionSettings

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_BROWSER_ENV = "INTERCOM_ASSETS_REQUIRE_BROWSER"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"
STARTUP_SECONDS = 600.0
"""The demo's two runs and the UI's start: about a minute on a quiet machine, many on a
busy one."""
SENSOR_RUN_SECONDS = 240.0
"""A tick, then a run in its own process: slow on a busy machine."""
SENSOR_INTERVAL_SECONDS = 5
"""The change sensor's interval in the test (the demo's own is 30 s)."""

DAEMON_SITE = Path(__file__).resolve().parent / "daemon_site"
"""On the demo's `PYTHONPATH`: shortens the backfill daemon's interval (see its module)."""
INSTANCE_CONFIG = """telemetry:
  enabled: false
run_queue:
  dequeue_interval_seconds: 1
auto_materialize:
  minimum_interval_seconds: 30
"""
"""The demo's instance (`dagster.yaml` in its `instance_home`, kept by the demo when it exists):
queued runs start within a second (Dagster's default: 5 s), the asset daemon keeps Dagster's
default interval."""

WEBSERVER_HASH_SEED = "1"
"""The demo's processes hash strings with this seed: the order in which the webserver walks
the asset graph when it checks a backfill follows it, and under this one it refused the
"Materialize all" dialog's backfill while a link table had two partitioned parents
(under some other seeds it happened to pass)."""

pytestmark = pytest.mark.slow


@dataclass
class DemoUi:
    """The running `intercom-assets demo --ui` and what it printed."""

    process: subprocess.Popen[str]
    home: Path
    ui_url: str
    sandbox_url: str
    lines: list[str] = field(default_factory=list)

    def graphql(self, query: str) -> dict[str, Any]:
        reply = httpx.post(f"{self.ui_url}/graphql", json={"query": query}, timeout=30.0)
        reply.raise_for_status()
        body: dict[str, Any] = reply.json()
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data


def _read_lines(stream: Any, into: "queue.Queue[str | None]") -> None:
    with stream:
        for line in stream:
            into.put(line.rstrip("\n"))
    into.put(None)


@pytest.fixture(scope="module")
def demo_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoUi]:
    """`intercom-assets demo --ui --size tiny` on a free port, once the UI is up."""
    home = tmp_path_factory.mktemp("demo-ui") / "home"
    instance_home(home, None).mkdir(parents=True)
    (instance_home(home, None) / "dagster.yaml").write_text(INSTANCE_CONFIG)
    port = free_port()
    command = [str(Path(sys.executable).with_name("intercom-assets")), "demo", "--ui"]
    command += ["--size", "tiny", "--home", str(home), "--port", str(port)]
    env = {
        **os.environ,
        CHANGE_SENSOR_INTERVAL.variable: str(SENSOR_INTERVAL_SECONDS),
        "PYTHONHASHSEED": WEBSERVER_HASH_SEED,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(DAEMON_SITE), os.getenv("PYTHONPATH")])),
    }
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=home.parent,
        env=env,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    assert process.stdout is not None
    threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True).start()
    seen: list[str] = []
    ui_url = sandbox_url = ""
    deadline = time.monotonic() + STARTUP_SECONDS
    try:
        while not (ui_url and sandbox_url):
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail("no UI within the startup time:\n" + "\n".join(seen[-30:]))
            if line is None:
                pytest.fail("the demo exited before its UI was up:\n" + "\n".join(seen[-30:]))
            seen.append(line)
            if line.startswith("Dagster UI: "):
                ui_url = line.removeprefix("Dagster UI: ").strip()
            if line.startswith("sandbox: http") and ui_url:
                sandbox_url = line.split()[1]
        threading.Thread(target=_drain, args=(lines, seen), daemon=True).start()
        yield DemoUi(process, home, ui_url, sandbox_url, seen)
    finally:
        if process.poll() is None:
            process.terminate()  # as Ctrl-C once the UI is up; before, it ends the demo
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _drain(lines: "queue.Queue[str | None]", into: list[str]) -> None:
    while (line := lines.get()) is not None:
        into.append(line)


@pytest.fixture(scope="module")
def definitions(demo_ui: DemoUi) -> dg.Definitions:
    """The code location's definitions for the demo's partitions (its first day is the
    partition start the UI was given)."""
    start = next(
        line.split("since ")[1].split()[0] for line in demo_ui.lines if "partition since" in line
    )
    return build_definitions(
        PartitionSettings(start, "UTC"),
        {
            "intercom": IntercomResource(access_token="sandbox", base_url=demo_ui.sandbox_url),
            "warehouse": WarehouseResource(
                url=f"duckdb:///{demo_ui.home / 'intercom.duckdb'}", schema_name=DEMO_SCHEMA
            ),
        },
    )


def _partitioned(defs: dg.Definitions) -> tuple[list[dg.AssetKey], list[dg.AssetKey]]:
    """The code location's asset keys, sorted: (partitioned, unpartitioned). Windowed streams
    are daily-partitioned; snapshot and child-stream tables are not."""
    graph = defs.resolve_asset_graph()
    keys = sorted(defs.resolve_all_asset_keys(), key=lambda k: k.to_user_string())
    partitioned = [k for k in keys if graph.get(k).partitions_def is not None]
    return partitioned, [k for k in keys if k not in partitioned]


def _partition_count(defs: dg.Definitions) -> int:
    """How many partitions each partitioned asset has (they share one definition): the demo's
    days, through today."""
    graph = defs.resolve_asset_graph()
    counts = {
        len(graph.get(key).partitions_def.get_partition_keys())  # type: ignore[union-attr]
        for key in _partitioned(defs)[0]
    }
    assert len(counts) == 1, counts
    return counts.pop()


def _automations(defs: dg.Definitions) -> list[tuple[str, str]]:
    """(kind, name) of every sensor and schedule, as the UI's links name them."""
    return [("sensors", s.name) for s in defs.sensors or []] + [
        ("schedules", s.name) for s in defs.schedules or []
    ]


# --- GraphQL ------------------------------------------------------------------------------

ASSETS_QUERY = """{ assetNodes { assetKey { path } isPartitioned
  partitionStats { numMaterialized numPartitions numFailed }
  assetChecksOrError { ... on AssetChecks { checks { name
    executionForLatestMaterialization { status evaluation { success severity } } } } } } }"""


def _passed_or_warned(execution: dict[str, Any] | None) -> bool:
    """An evaluated check that passed, or failed at WARN (the tiny workspace has a
    conversation and a ticket over the 500-part cap, which `part_cap` reports as a WARN)."""
    if execution is None:
        return False
    evaluation = execution["evaluation"] or {}
    if execution["status"] == "SUCCEEDED" and evaluation.get("success"):
        return True
    return execution["status"] == "FAILED" and evaluation.get("severity") == "WARN"


def test_graphql_reports_every_partition_materialized_and_every_check_evaluated(
    demo_ui: DemoUi, definitions: dg.Definitions
) -> None:
    nodes = {
        "/".join(n["assetKey"]["path"]): n for n in demo_ui.graphql(ASSETS_QUERY)["assetNodes"]
    }
    expected = {k.to_user_string() for k in definitions.resolve_all_asset_keys()}
    assert set(nodes) == expected
    partitioned, unpartitioned = _partitioned(definitions)
    assert partitioned and unpartitioned  # windowed streams, and snapshots/child streams
    partitions = _partition_count(definitions)
    assert partitions > 1  # the demo's history days, through today
    for key in partitioned:  # every partition of the demo's days, none failed
        node = nodes[key.to_user_string()]
        assert node["isPartitioned"], key
        assert node["partitionStats"] == {
            "numMaterialized": partitions,
            "numPartitions": partitions,
            "numFailed": 0,
        }, key
    latest = {
        "/".join(n["key"]["path"]): n
        for n in demo_ui.graphql(LATEST_QUERY)["assetsOrError"]["nodes"]
    }
    for key in unpartitioned:  # materialized, never failed
        node = nodes[key.to_user_string()]
        assert not node["isPartitioned"] and node["partitionStats"] is None, key
        assert latest[key.to_user_string()]["latestMaterializationTimestamp"], key
        assert latest[key.to_user_string()]["latestFailedToMaterializeTimestamp"] is None, key
    checks = {
        (name, c["name"]): c["executionForLatestMaterialization"]
        for name, node in nodes.items()
        for c in node["assetChecksOrError"]["checks"]
    }
    graph = definitions.resolve_asset_graph()
    assert set(checks) == {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert [key for key, execution in checks.items() if not _passed_or_warned(execution)] == []
    assert any(e["status"] == "SUCCEEDED" for e in checks.values())


STATES_QUERY = """{
  sensorsOrError(repositorySelector: {repositoryLocationName: "%(location)s",
      repositoryName: "__repository__"}) {
    ... on Sensors { results { name sensorState { status ticks(limit: 5) { status } } } } }
  schedulesOrError(repositorySelector: {repositoryLocationName: "%(location)s",
      repositoryName: "__repository__"}) {
    ... on Schedules { results { name scheduleState { status } } } } }"""

LATEST_QUERY = """{ assetsOrError { ... on AssetConnection { nodes { key { path }
  latestMaterializationTimestamp latestFailedToMaterializeTimestamp } } } }"""
"""When each asset was last materialized, and last failed to be (an unpartitioned asset
has no partition stats)."""

LATEST_RUN_QUERY = """{ assetNodeOrError(assetKey: {path: %(path)s}) {
  ... on AssetNode { assetMaterializations(limit: 1) { runId } } } }"""

SENSOR_RUNS_QUERY = """{ runsOrError(filter: {tags: [{key: "dagster/sensor_name",
  value: "intercom_change_sensor"}]}) { ... on Runs { results { runId status } } } }"""


def test_change_sensor_ticks_against_the_sandbox_and_launches_a_run_that_succeeds(
    demo_ui: DemoUi, definitions: dg.Definitions
) -> None:
    query = STATES_QUERY % {"location": LOCATION}
    deadline = time.monotonic() + SENSOR_RUN_SECONDS
    while True:  # the first tick records the sandbox's high-water marks
        data = demo_ui.graphql(query)
        sensors = {s["name"]: s["sensorState"] for s in data["sensorsOrError"]["results"]}
        change = sensors["intercom_change_sensor"]
        if change["ticks"]:
            break
        assert time.monotonic() < deadline, "the change sensor never ticked"
        time.sleep(1)
    schedules = {s["name"]: s["scheduleState"] for s in data["schedulesOrError"]["results"]}
    assert {("sensors", n) for n in sensors} | {("schedules", n) for n in schedules} == set(
        _automations(definitions)
    )
    assert all(s["status"] == "RUNNING" for s in [*sensors.values(), *schedules.values()])
    assert all(t["status"] != "FAILURE" for s in sensors.values() for t in s["ticks"])

    moved = httpx.post(f"{demo_ui.sandbox_url}/_sandbox/advance", json={"days": 1}, timeout=60)
    changed = {k: len(v) for k, v in moved.json()["ids"].items() if v}
    assert changed.get("contacts_updated") or changed.get("conversations_updated"), changed
    status = None
    while status != "SUCCESS":
        runs = demo_ui.graphql(SENSOR_RUNS_QUERY)["runsOrError"]["results"]
        status = runs[0]["status"] if runs else None
        assert status not in ("FAILURE", "CANCELED"), runs
        assert time.monotonic() < deadline, f"no successful change-sensor run; last {runs}"
        time.sleep(1)


# --- the browser --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright (its own browser download is not used)."""
    if not CHROMIUM.exists():
        reason = f"the browser test needs {CHROMIUM} (apt-get install chromium)"
        if os.environ.get(REQUIRE_BROWSER_ENV) == "1":
            pytest.fail(f"{REQUIRE_BROWSER_ENV}=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield chromium
        finally:
            chromium.close()


def test_browser_shows_assets_partitions_checks_and_automation(
    demo_ui: DemoUi, definitions: dg.Definitions, browser: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    demo_ui.graphql("mutation { setNuxSeen }")  # no "Join the Dagster community" dialog
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    shots: list[Path] = []

    def visit(route: str, ready: str) -> None:
        page.goto(f"{demo_ui.ui_url}{route}")
        page.get_by_text(ready, exact=True).first.wait_for(timeout=90_000)

    def shot(name: str) -> None:
        page.wait_for_load_state("networkidle")
        assert page.locator("[data-sonner-toast]").count() == 0, f"a toast on {page.url}"
        shots.append(ARTIFACTS / f"{name}.png")
        page.screenshot(path=shots[-1])

    keys = sorted(definitions.resolve_all_asset_keys(), key=lambda k: k.to_user_string())
    graph = definitions.resolve_asset_graph()

    # the asset graph lists every asset (on a screen large enough for the whole graph at a
    # zoom that still shows the names)
    page.set_viewport_size({"width": 2560, "height": 1600})
    visit("/asset-groups", "Global asset lineage")
    names = {key.path[-1] for key in keys}
    for name in names:
        page.get_by_text(name, exact=True).first.wait_for(timeout=90_000)
    shown = set(page.inner_text("body").splitlines())
    assert names <= shown, names - shown
    shot("1-asset-graph")
    page.set_viewport_size({"width": 1600, "height": 1000})

    # a partitioned asset's partitions show as materialized, none missing
    partitioned, unpartitioned = _partitioned(definitions)
    partitions = _partition_count(definitions)
    for key in (partitioned[0], partitioned[-1]):
        visit(f"/assets/{'/'.join(key.path)}?view=partitions", f"Materialized ({partitions})")
        page.get_by_text("Missing (0)", exact=True).wait_for(timeout=90_000)
        shot(f"2-{'_'.join(key.path)}-partitions")

    # an unpartitioned asset shows its latest materialization, with the run that made it
    key = unpartitioned[0]
    run_id = demo_ui.graphql(LATEST_RUN_QUERY % {"path": json.dumps(key.path)})["assetNodeOrError"][
        "assetMaterializations"
    ][0]["runId"]
    visit(f"/assets/{'/'.join(key.path)}", "Latest materialization")
    page.locator(f'a[href*="/runs/{run_id}"]').first.wait_for(timeout=90_000)
    shot(f"2-{'_'.join(key.path)}-overview")

    # the checks tab shows evaluated checks (the asset with the most checks, all passed)
    checks_of = {k: [c.name for c in graph.asset_check_keys if c.asset_key == k] for k in keys}
    nodes = demo_ui.graphql(ASSETS_QUERY)["assetNodes"]
    warned = {
        tuple(n["assetKey"]["path"])
        for n in nodes
        if any(
            c["executionForLatestMaterialization"]["status"] != "SUCCEEDED"
            for c in n["assetChecksOrError"]["checks"]
        )
    }
    key = max((k for k in keys if tuple(k.path) not in warned), key=lambda k: len(checks_of[k]))
    visit(f"/assets/{'/'.join(key.path)}?view=checks", f"Checks ({len(checks_of[key])})")
    for name in checks_of[key]:  # long names show truncated; the full one is in the page
        page.get_by_text(name, exact=True).first.wait_for(state="attached", timeout=90_000)
    expect(page.get_by_text("Succeeded", exact=True)).to_have_count(len(checks_of[key]))
    assert page.get_by_text("Not evaluated").count() == 0
    shot(f"3-{'_'.join(key.path)}-checks")

    # the Automation page shows every sensor and schedule, each switched on
    visit("/automation", "Automation")
    for kind, name in _automations(definitions):
        link = page.locator(f'a[href$="/{kind}/{name}"]')
        row = link.locator("xpath=ancestor::*[@data-index][1]")
        boxes = row.locator("input[type=checkbox]")  # the row's selection, then its switch
        expect(boxes).to_have_count(2, timeout=90_000)
        expect(boxes.last).to_be_checked()
    shot("4-automation")

    assert page_errors == []
    page.close()
    with capsys.disabled():
        print(f"\nUI screenshots: {', '.join(str(s) for s in shots)}")
    assert all(s.stat().st_size > 10_000 for s in shots)


# --- the first load from the "Materialize all" dialog ---------------------------------------

MATERIALIZE_SECONDS = 600.0
"""A backfill of the whole graph: a few runs, each in its own process, one after another."""

RUN_QUERY = """{ runOrError(runId: "%s") { ... on Run { runId status assetSelection { path }
  tags { key value } } } }"""

BACKFILL_QUERY = """{ partitionBackfillOrError(backfillId: "%s") { ... on PartitionBackfill {
  status partitionNames runs(limit: 100) { runId status assetSelection { path }
  tags { key value } } } } }"""

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def _launched(demo_ui: DemoUi, response: Any) -> list[dict[str, Any]]:
    """The runs the dialog's launch made, once all have ended: the run of a one-partition
    launch, or every run of the backfill (the daemon launches them group by group)."""
    assert response.status == 200, response.text()[:500]  # the dialog shows no error
    answer = response.json()["data"]
    deadline = time.monotonic() + MATERIALIZE_SECONDS
    while True:
        if "launchPipelineExecution" in answer:
            run_id = answer["launchPipelineExecution"]["run"]["id"]
            runs = [demo_ui.graphql(RUN_QUERY % run_id)["runOrError"]]
            done = runs[0]["status"] in ("SUCCESS", "FAILURE", "CANCELED")
        else:
            backfill_id = answer["launchPartitionBackfill"]["backfillId"]
            backfill = demo_ui.graphql(BACKFILL_QUERY % backfill_id)["partitionBackfillOrError"]
            runs = backfill["runs"]
            done = backfill["status"] not in ("REQUESTED", "CANCELING")
            done = done and all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in runs)
        if done:
            return runs
        assert time.monotonic() < deadline, f"the launch did not end: {runs}"
        time.sleep(2)


def test_materialize_all_loads_one_day_a_range_and_every_partition_from_the_dialog(
    demo_ui: DemoUi, definitions: dg.Definitions, browser: Any
) -> None:
    """Lineage, "Materialize all", a partition selection, launch: every asset is loaded
    for the selected days and every run succeeds. One day is one run; a range and "All"
    are one backfill, whose runs each cover the whole range (no run per day)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    demo_ui.graphql("mutation { setNuxSeen }")
    days = sorted(
        definitions.resolve_asset_graph()
        .get(_partitioned(definitions)[0][0])
        .partitions_def.get_partition_keys()
    )  # type: ignore[union-attr]
    everything = {key.to_user_string() for key in definitions.resolve_all_asset_keys()}
    partitioned = {key.to_user_string() for key in _partitioned(definitions)[0]}
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    selections: list[tuple[str, Any, list[str], str]] = [
        (
            "one-day",
            lambda d: d.get_by_role("button", name="Latest", exact=True).click(),
            days[-1:],
            "Launch 1 run",
        ),
        ("range", lambda d: _type_range(d, days[1], days[3]), days[1:4], "Launch backfill"),
        (
            "all",
            _all_time,
            days,
            "Launch backfill",
        ),
    ]
    for name, choose, chosen, button in selections:
        page.goto(f"{demo_ui.ui_url}/asset-groups")
        page.get_by_text("Global asset lineage", exact=True).first.wait_for(timeout=90_000)
        page.wait_for_load_state("networkidle")
        page.get_by_role("button", name="Materialize all").first.click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text(f"Launch runs to materialize {len(everything)} assets").wait_for(
            timeout=90_000
        )
        dialog.get_by_role("button", name="Last 90 days").wait_for(timeout=90_000)
        choose(dialog)
        plural = "partition" if len(chosen) == 1 else "partitions"
        dialog.get_by_text(f"{len(chosen)} {plural}", exact=True).wait_for(timeout=30_000)
        page.screenshot(path=ARTIFACTS / f"5-materialize-all-{name}.png")
        with page.expect_response(
            lambda r: (
                r.request.method == "POST"
                and '"operationName":"Launch' in (r.request.post_data or "")
                and (
                    "PartitionBackfill" in r.request.post_data
                    or "PipelineExecution" in r.request.post_data
                )
            ),
            timeout=120_000,  # the launch's answer: slow on a busy machine
        ) as launched:
            dialog.get_by_role("button", name=button).click()
        runs = _launched(demo_ui, launched.value)
        dialog.wait_for(state="hidden", timeout=60_000)  # it stays open on an error
        assert [r["runId"] for r in runs if r["status"] != "SUCCESS"] == [], (name, runs)
        loaded = {"/".join(a["path"]) for r in runs for a in r["assetSelection"]}
        assert loaded == everything, (name, everything - loaded)
        for run in runs:
            tags = {t["key"]: t["value"] for t in run["tags"]}
            if len(chosen) == 1:
                assert tags["dagster/partition"] == chosen[0], (name, tags)
                continue
            assert "dagster/partition" not in tags, (name, tags)  # not a run per day
            if {"/".join(a["path"]) for a in run["assetSelection"]} & partitioned:
                assert (tags[RANGE_START], tags[RANGE_END]) == (chosen[0], chosen[-1]), tags
    page.goto(f"{demo_ui.ui_url}/runs")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=ARTIFACTS / "6-runs.png")
    page.close()


def _all_time(dialog: Any) -> None:
    """Every partition, as docs/operations.md says: "All time" in the date menu (it opens on
    "Last 90 days"), then "All"."""
    dialog.get_by_role("button", name="Last 90 days").click()
    dialog.page.get_by_text("All time", exact=True).click()
    dialog.get_by_role("button", name="All", exact=True).click()


def _type_range(dialog: Any, first: str, last: str) -> None:
    """The dialog's "Custom" selection, typed as Dagster writes a range."""
    dialog.get_by_role("button", name="Custom", exact=True).click()
    box = dialog.locator("input").first
    box.fill(f"[{first}...{last}]")
    box.press("Enter")


# --- Ctrl-C -------------------------------------------------------------------------------


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    pending = [pid]
    while pending:
        parent = pending.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    pending.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_ctrl_c_stops_the_ui_the_daemon_and_the_sandbox(demo_ui: DemoUi) -> None:
    children = _descendants(demo_ui.process.pid)
    assert len(children) >= 2  # the webserver and the daemon (and their code servers)
    demo_ui.process.send_signal(signal.SIGINT)
    assert demo_ui.process.wait(120) == 0, "\n".join(demo_ui.lines[-20:])
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in children if _alive(pid)]
    for url in (demo_ui.ui_url, demo_ui.sandbox_url):
        with pytest.raises(httpx.ConnectError):
            httpx.get(url, timeout=5)
    while "stopped the Dagster UI and the daemon" not in demo_ui.lines[-1]:
        assert time.monotonic() < deadline, demo_ui.lines[-5:]
        time.sleep(0.2)
