"""A PostgreSQL server of a test's own, which the test may stop and start.

The binaries come from `/usr/lib/postgresql/<version>/bin/` (the newest version found). The
cluster is created in a temporary directory on a free loopback port; PostgreSQL refuses to
run as root, so under root every command runs as the `postgres` OS user (`runuser`). Without
the binaries the test fails when INTERCOM_ASSETS_REQUIRE_POSTGRES=1 (CI) and is skipped with a
reason otherwise. The shared server on 5432 is never touched.
"""

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from intercom_assets_tests.conftest import REQUIRE_POSTGRES_ENV

BINARIES = "/usr/lib/postgresql/*/bin"
OS_USER = "postgres"


def find_binaries() -> Path | None:
    """The newest PostgreSQL `bin` directory that has initdb and pg_ctl, or None."""
    found = [Path(d) for d in glob.glob(BINARIES) if (Path(d) / "pg_ctl").exists()]
    found = [d for d in found if (d / "initdb").exists()]
    return max(found, key=lambda d: int(d.parent.name)) if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ThrowawayPostgres:
    """A running cluster: `url` to connect, `stop()` and `start()` to interrupt it."""

    bin: Path
    root: Path
    port: int
    as_user: list[str]

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [*self.as_user, *args], capture_output=True, text=True, timeout=120, cwd=self.root
        )
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {done.stdout}{done.stderr}{tail}")

    def init(self) -> None:
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "--no-sync", "-E", "UTF8",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off"
        )
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stops the server; `fast` ends every session (clients see their connection drop)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")


@pytest.fixture
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    binaries = find_binaries()
    as_user: list[str] = []
    reason = None
    if binaries is None:
        reason = f"no PostgreSQL binaries in {BINARIES}"
    elif os.geteuid() == 0:
        runuser = shutil.which("runuser")
        try:
            pwd.getpwnam(OS_USER)
        except KeyError:
            reason = f"running as root and there is no {OS_USER!r} OS user to run PostgreSQL"
        if runuser is None:
            reason = "running as root and runuser is missing (PostgreSQL refuses root)"
        else:
            as_user = [runuser, "-u", OS_USER, "--"]
    if reason is not None or binaries is None:
        message = f"the throwaway PostgreSQL server needs its binaries: {reason}"
        if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
            pytest.fail(f"{REQUIRE_POSTGRES_ENV}=1 but {message}", pytrace=False)
        pytest.skip(message)
    root = Path(tempfile.mkdtemp(prefix="ia-throwaway-pg-"))
    if as_user:
        user = pwd.getpwnam(OS_USER)
        os.chown(root, user.pw_uid, user.pw_gid)
    server = ThrowawayPostgres(binaries, root, free_port(), as_user)
    try:
        server.init()
        server.start()
        yield server
    finally:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
