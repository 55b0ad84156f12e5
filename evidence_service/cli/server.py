"""``evidence serve`` and ``evidence init``: run the service on this machine."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import subprocess
import sys
from pathlib import Path

import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from evidence_service.api import create_app
from evidence_service.api.deps import Services
from evidence_service.cli.session import CliError
from evidence_service.config import get_settings
from evidence_service.domain.errors import ChainUnavailable, Conflict
from evidence_service.services.bootstrap import Credential, bootstrap_demo

_logger = logging.getLogger(__name__)
console = Console(stderr=True)
_M_MMAP_THRESHOLD = -3


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


def serve(
    host: str | None = typer.Option(None, help="Bind address (default EVIDENCE_HOST)"),
    port: int | None = typer.Option(None, help="Port (default EVIDENCE_PORT)"),
    demo: bool = typer.Option(True, help="Create demo departments and accounts on first start"),
) -> None:
    """Start the HTTP service (runs 'evidence init' first)."""
    _prepare(demo=demo)
    _tune_malloc()
    settings = get_settings()
    app = create_app(settings)
    bind_host, bind_port = host or settings.host, port or settings.port
    console.print(f"Evidence service on http://{bind_host}:{bind_port}  "
                  f"(storage: {settings.storage_backend}, database: "
                  f"{settings.resolved_database_url.split('://')[0]})")
    uvicorn.run(app, host=bind_host, port=bind_port, log_level=settings.log_level.lower(),
                timeout_keep_alive=30)
