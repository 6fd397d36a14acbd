"""Awkward keys and values are stored exactly; DuckDB writers in several processes take turns."""

import subprocess
import sys
from pathlib import Path

import orjson

from intercom_assets.warehouse import Warehouse

from .conftest import Target, contacts_frame

ROOT = Path(__file__).resolve().parents[2]
AWKWARD = [
    'it\'s "quoted"',
    "ünïcødé ✓ 日本語 🚀",
    "dots.in.key",
    "SELECT * FROM contacts; DROP TABLE contacts; --",
    "line\nbreak\ttab\\backslash,comma",
    "cr\rlf\r\n \\N is text, not NULL",
    "",
    "%s %(name)s ? $1",
    "x" * 100_000,
]


def test_awkward_keys_and_values_round_trip(wh: Warehouse) -> None:
    attributes = {key: value for key, value in zip(AWKWARD, reversed(AWKWARD), strict=True)}
    attributes["nested"] = {"list": [1, 2.5, None, True, "é"], "big": 2**62}
    rows = [
        {"id": key or "empty-id-not-allowed", "email": key, "custom_attributes": None}
        for key in AWKWARD
    ]
    rows[0]["custom_attributes"] = orjson.dumps(attributes).decode()
    rows[1]["lifetime_value"] = -0.0
    rows[2]["lifetime_value"] = 1e-300
    rows[3]["lifetime_value"] = float("nan")
    frame = contacts_frame(rows)

    wh.write({"contacts": frame})

    stored = wh.table("contacts")
    by_id = {row["id"]: row for row in stored.iter_rows(named=True)}
    for row in rows:
        got = by_id[row["id"]]
        assert got["email"] == row["email"]
        assert orjson.loads(got["_raw"]) == orjson.loads(orjson.dumps(row, default=str))
    assert orjson.loads(by_id[AWKWARD[0]]["custom_attributes"]) == attributes
    assert str(by_id[AWKWARD[1]]["lifetime_value"]) == "-0.0"
    assert by_id[AWKWARD[2]]["lifetime_value"] == 1e-300
    assert by_id[AWKWARD[3]]["lifetime_value"] != by_id[AWKWARD[3]]["lifetime_value"]  # NaN
    # what was stored hashes the same as what was sent: a re-write changes nothing
    again = wh.write({"contacts": frame})
    assert again.tables["contacts"].unchanged == len(rows)
    assert set(wh.stored_hashes("contacts", frame["id"]).get_column("_hash")) == set(
        stored.get_column("_hash")
    )


def test_duckdb_writers_in_several_processes_take_turns(tmp_path: Path) -> None:
    target = Target("duckdb", f"duckdb:///{tmp_path / 'shared.duckdb'}", "intercom")
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, target.url, str(number)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for number in range(3)
    ]
    for writer in writers:
        _, errors = writer.communicate(timeout=120)
        assert writer.returncode == 0, errors
    with target.connect() as wh:
        ids = wh.query('SELECT "id" FROM "intercom"."contacts"').get_column("id")
    assert sorted(ids) == sorted(
        f"w{w}-{b}-{i}" for w in range(3) for b in range(5) for i in range(20)
    )


WRITER = """
import sys
from intercom_assets.warehouse import StateUpdate, connect
from intercom_assets_tests.warehouse.conftest import CONTACTS, contacts_frame
url, number = sys.argv[1], int(sys.argv[2])
with connect(url) as wh:
    wh.migrate([CONTACTS])
    for batch in range(5):
        rows = [{"id": f"w{number}-{batch}-{i}"} for i in range(20)]
        state = StateUpdate(f"w{number}", {"batch": batch})
        wh.write({"contacts": contacts_frame(rows)}, state=state)
"""
