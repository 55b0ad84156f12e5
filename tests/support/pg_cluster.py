"""A throwaway PostgreSQL cluster (``initdb`` + ``pg_ctl``) that a test may stop and restart.

The machine's own PostgreSQL is left alone: the cluster lives in a temporary directory owned
by the ``postgres`` OS user (``initdb`` refuses to run as root, so when the tests run as root
every binary is run through ``runuser -u postgres --``), listens on a free port on 127.0.0.1
with trust authentication, and is stopped with ``-m immediate`` when the test ends.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from tests.support.anvil import unavailable
from tests.support.live import free_port

_SEARCH = (Path("/usr/lib/postgresql"),)


def find_pg_bin() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl`` (newest version first), or None."""
    candidates = [version / "bin" for root in _SEARCH if root.is_dir()
                  for version in sorted(root.iterdir(), reverse=True)]
    if found := shutil.which("initdb"):
        candidates.append(Path(found).parent)
    for bin_dir in candidates:
        if all((bin_dir / tool).is_file() for tool in ("initdb", "pg_ctl", "createdb")):
            return bin_dir
    return None


@dataclass
class PgCluster:
    """One PostgreSQL server process over a data directory of its own."""

    bin_dir: Path
    data_dir: Path
    port: int
    run_as: str | None  # OS user to run the binaries as (None: the current user)

    @property
    def url(self) -> str:
        """URL of the ``evidence`` database (created by :meth:`init`)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/evidence"

    def _run(self, tool: str, *args: str, timeout: float = 60) -> str:
        command = [str(self.bin_dir / tool), *args]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              cwd=self.data_dir.parent, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)} failed ({done.returncode}): "
                               f"{(done.stdout + done.stderr)[-2000:]}")
        return done.stdout

    def init(self) -> None:
        """``initdb`` (trust auth, fsync off: a test cluster), start, create ``evidence``."""
        self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust",
                  "--no-sync", "-E", "UTF8", "--locale=C.UTF-8")
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.data_dir}'\n"
                       "fsync = off\nmax_connections = 200\n")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                  "evidence")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.data_dir / "server.log"),
                  "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: roll back open transactions, close sessions)."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "30", "stop")

    def running(self) -> bool:
        """Whether the server process is up (``pg_ctl status``)."""
        command = [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "status"]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        return subprocess.run(command, capture_output=True, check=False).returncode == 0

    def log_tail(self, n: int = 3000) -> str:
        path = self.data_dir / "server.log"
        return path.read_text(errors="replace")[-n:] if path.exists() else ""


@contextmanager
def pg_cluster() -> Iterator[PgCluster]:
    """A running throwaway cluster; stopped and deleted afterwards.

    Skips the test when PostgreSQL's binaries are missing or the cluster cannot start (fails
    under ``CI=true``, where a missing service is a failure).
    """
    bin_dir = find_pg_bin()
    if bin_dir is None:
        unavailable("fault test needs PostgreSQL's initdb/pg_ctl (e.g. /usr/lib/postgresql/*/bin)")
    assert bin_dir is not None
    run_as = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            unavailable("running as root, and there is no 'postgres' OS user to run initdb as")
        run_as = "postgres"
    root = Path(tempfile.mkdtemp(prefix="evidence-pg-"))
    if run_as:
        entry = pwd.getpwnam(run_as)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    cluster = PgCluster(bin_dir=bin_dir, data_dir=root / "data", port=free_port(),
                        run_as=run_as)
    try:
        try:
            cluster.init()
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            unavailable(f"could not start a throwaway PostgreSQL cluster: {exc}")
        yield cluster
    finally:
        if cluster.running():
            with suppress(RuntimeError):
                cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
