"""DuckDB behaves like a file: `duckdb:///name` is relative to the working directory, and
after a run's warehouse is closed the `.duckdb` file alone holds the data."""

import os
import shutil
from pathlib import Path

import duckdb
import pytest

from intercom_assets.resources import WarehouseResource
from intercom_assets.settings import SettingError
from intercom_assets.warehouse import connect, duckdb_path
from intercom_assets_tests.streams.conftest import make_harness


def test_the_default_url_is_a_file_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    default = WarehouseResource().url
    assert duckdb_path(default) == Path("intercom.duckdb")
    with connect(default, schema="intercom") as wh:
        wh.query("SELECT 1")
    assert (tmp_path / "intercom.duckdb").exists()
    assert duckdb_path(f"duckdb:///{tmp_path / 'a.duckdb'}") == tmp_path / "a.duckdb"
    assert duckdb_path("duckdb:///data/a.duckdb") == Path("data/a.duckdb")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("mysql://x", "unknown scheme 'mysql'"),
        ("sqlite:///a.db", "unknown scheme 'sqlite'"),
        ("intercom.duckdb", "not a URL"),
        ("postgresql://u:pw-s3cret@h:5432/", "no database name"),
        ("postgresql://u:pw-s3cret@h:5432", "no database name"),
        ("duckdb:///", "no file after duckdb:///"),
        ("duckdb://", "no file after duckdb:///"),
        ("duckdb:///folder/", "no file after duckdb:///"),
    ],
)
def test_database_urls_are_checked_when_read(url: str, reason: str) -> None:
    with pytest.raises(SettingError) as wrong:
        WarehouseResource(url=url)
    message = str(wrong.value)
    assert message.startswith("INTERCOM_ASSETS_DATABASE_URL must be postgresql://")
    assert reason in message and "\n" not in message
    assert "s3cret" not in message and "mysql://x" not in message


@pytest.mark.parametrize(
    "url",
    ["postgresql://u@h:5432/db", "postgres:///db", "duckdb:///intercom.duckdb", "duckdb:////a/b"],
)
def test_good_database_urls_pass(url: str) -> None:
    assert WarehouseResource(url=url).url == url


def test_after_a_run_and_close_the_file_alone_holds_the_rows(tmp_path: Path) -> None:
    path = tmp_path / "run" / "intercom.duckdb"
    wh = connect(f"duckdb:///{path}", schema="intercom")
    h = make_harness(wh, size="tiny", seed=2)
    try:
        for name in ("admins", "teams", "tags", "segments", "companies", "contacts"):
            h.run(name)
    finally:
        h.client.close()
        wh.close()
    truth = h.sb.truth()
    copy = tmp_path / "copy" / "intercom.duckdb"
    copy.parent.mkdir()
    shutil.copyfile(path, copy)  # only the .duckdb file, not a .wal beside it
    assert not (copy.parent / "intercom.duckdb.wal").exists()
    wal = path.with_name("intercom.duckdb.wal")
    assert not wal.exists() or os.path.getsize(wal) == 0
    with duckdb.connect(str(copy), read_only=True) as conn:
        for table in ("contacts", "tags", "companies"):
            stored = conn.execute(f"SELECT count(*) FROM intercom.intercom.{table}").fetchone()
            assert stored is not None and stored[0] == len(truth[table]), table
