"""``evidence serve`` and ``evidence init``: run the service on this machine."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from evidence_service.api import create_app
from evidence_service.api.deps import Services
from evidence_service.cli.http_protocol import answering_protocol
from evidence_service.cli.session import CliError
from evidence_service.config import get_settings
from evidence_service.domain.errors import ChainUnavailable, Conflict
from evidence_service.services.bootstrap import Credential, bootstrap_demo

_logger = logging.getLogger(__name__)
console = Console(stderr=True)
_M_MMAP_THRESHOLD = -3
_PR_SET_PDEATHSIG = 1


def _show_credentials(credentials: list[Credential], var_dir: Path) -> None:
    if not credentials:
        return
    table = Table(title="Demo accounts (created once; also saved in var/demo-credentials.txt)")
    for column in ("username", "password", "department", "roles"):
        table.add_column(column)
    lines = []
    for c in credentials:
        roles = ",".join(r.value for r in c.roles)
        table.add_row(c.username, c.password, c.department, roles)
        lines.append(f"{c.username}\t{c.password}\t{c.department}\t{roles}")
    console.print(table)
    path = var_dir / "demo-credentials.txt"
    path.write_text("username\tpassword\tdepartment\troles\n" + "\n".join(lines) + "\n")
    path.chmod(0o600)


def init(
    demo: bool = typer.Option(True, help="Create demo departments and accounts on first run"),
) -> None:
    """Migrate the database, deploy the contract (embedded chain) and create the demo accounts."""
    settings = get_settings()
    services = create_app(settings).state.services
    try:
        if demo:
            _show_credentials(bootstrap_demo(services.identity), settings.var_dir)
        if services.ledger is not None:
            _provision_departments(services)
    finally:
        services.close()
    console.print(f"[green]ready[/green]: database {settings.resolved_database_url}")


def _provision_departments(services: Services) -> None:
    """Give every department without one its chain account (transfers need them)."""
    for department in services.identity.list_departments():
        if department.chain_address is not None:
            continue
        try:
            address = services.transfers.provision_department(department.id)
        except (Conflict, ChainUnavailable) as exc:
            console.print(f"[yellow]department {department.code} has no chain account yet: "
                          f"{exc}[/yellow]")
            continue
        console.print(f"department {department.code} signs as {address}")


def _prepare(*, demo: bool) -> None:
    """Run ``evidence init`` in a child process: the one-time work (migrations, contract
    deployment, argon2 hashing of demo passwords) then never weighs on the server's memory."""
    command = [sys.executable, "-m", "evidence_service.cli", "init"]
    done = subprocess.run([*command, "--demo" if demo else "--no-demo"], check=False)
    if done.returncode != 0:
        raise CliError(f"'evidence init' failed (exit {done.returncode}); see above")


def _tune_malloc() -> None:
    """Have glibc serve the 2 MiB upload buffers from mmap and unmap them when freed.

    By default glibc raises its mmap threshold after the first such buffer is freed and keeps
    later ones on per-thread heaps, so the resident size creeps up during long uploads.
    """
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to tune
        ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, 1 << 20)


def _freeze_startup_heap() -> None:
    """Move everything built at start-up (app, ORM mappers, web3, contract ABI: about 200 000
    objects) out of the garbage collector's reach. A full collection over them takes
    0.4-0.7 s on this machine and stalls every request in flight; requests themselves create
    few long-lived objects, so the later collections stay short."""
    gc.collect()
    gc.freeze()


def serve(
    host: str | None = typer.Option(None, help="Bind address (default EVIDENCE_HOST)"),
    port: int | None = typer.Option(None, help="Port (default EVIDENCE_PORT)"),
    demo: bool = typer.Option(True, help="Create demo departments and accounts on first start"),
    workers: int = typer.Option(
        1, min=1, max=64, envvar="EVIDENCE_WORKERS",
        help="API processes sharing the port (SO_REUSEPORT). The first one also runs the "
             "embedded chain node and the in-process analysis jobs; exactly one process "
             "anchors (leader lock)."),
    replica_of: str | None = typer.Option(None, hidden=True,
                                          help="internal: run as an extra API process"),
) -> None:
    """Start the HTTP service (runs 'evidence init' first)."""
    if replica_of is not None:
        _serve_replica(host, port, replica_of)
        return
    _prepare(demo=demo)
    _tune_malloc()
    settings = get_settings()
    app = create_app(settings, migrate=False)  # 'evidence init' just migrated
    bind_host, bind_port = host or settings.host, port or settings.port
    console.print(f"Evidence service on http://{bind_host}:{bind_port}  "
                  f"(storage: {settings.storage_backend}, database: "
                  f"{settings.resolved_database_url.split('://')[0]}, "
                  f"{workers} API process{'es' if workers > 1 else ''})")
    config = uvicorn.Config(app, host=bind_host, port=bind_port,
                            log_level=settings.log_level.lower(), timeout_keep_alive=30,
                            http=answering_protocol(app.state.verdict_cache))
    _freeze_startup_heap()
    if workers == 1:
        uvicorn.Server(config).run()
        return
    services: Services = app.state.services
    node = services.ledger.node if services.ledger is not None else None
    replicas = Replicas(host=bind_host, port=bind_port, count=workers - 1,
                        attach_rpc=node.rpc_url if node is not None else "")
    sock = shared_socket(bind_host, bind_port)
    replicas.start()
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        replicas.stop()


def _serve_replica(host: str | None, port: int | None, attach_rpc: str) -> None:
    """One extra API process: the first process already migrated and started the node."""
    _die_with_parent()
    _tune_malloc()
    settings = get_settings()
    app = create_app(settings, replica_of=attach_rpc)
    bind_host, bind_port = host or settings.host, port or settings.port
    sock = shared_socket(bind_host, bind_port)
    config = uvicorn.Config(app, host=bind_host, port=bind_port,
                            log_level=settings.log_level.lower(), timeout_keep_alive=30,
                            http=answering_protocol(app.state.verdict_cache))
    _freeze_startup_heap()
    uvicorn.Server(config).run(sockets=[sock])


def shared_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound with SO_REUSEPORT: the kernel spreads new connections over every
    process that listens on the port this way. Listening starts when uvicorn serves, after
    the application's start-up, so no connection reaches a process that is not ready."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _die_with_parent() -> None:
    """Have the kernel send SIGTERM when the first process dies, even by kill -9."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: rely on stop()
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() == 1:  # the parent died before prctl took effect
        raise SystemExit(1)


class Replicas:
    """The extra API processes of ``serve --workers``: started, restarted if one dies, and
    stopped with the first process."""

    def __init__(self, *, host: str, port: int, count: int, attach_rpc: str) -> None:
        self._command = [sys.executable, "-m", "evidence_service.cli", "serve", "--host", host,
                         "--port", str(port), "--replica-of", attach_rpc]
        self._count = count
        self._procs: list[subprocess.Popen[bytes]] = []
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="replicas", daemon=True)

    def start(self) -> None:
        self._procs = [subprocess.Popen(self._command) for _ in range(self._count)]
        self._watcher.start()

    def _watch(self) -> None:
        while not self._stopping.wait(1.0):
            for n, proc in enumerate(self._procs):
                if proc.poll() is not None and not self._stopping.is_set():
                    _logger.warning("API replica %d exited (%s); restarting it", proc.pid,
                                    proc.returncode)
                    self._procs[n] = subprocess.Popen(self._command)

    def stop(self) -> None:
        self._stopping.set()
        for proc in self._procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
