"""``evidence serve`` and ``evidence init``: run the service on this machine."""

from __future__ import annotations

import logging
from pathlib import Path

import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from evidence_service.api import create_app
from evidence_service.config import get_settings
from evidence_service.services.bootstrap import Credential, bootstrap_demo

_logger = logging.getLogger(__name__)
console = Console(stderr=True)


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


def init() -> None:
    """Create the database schema and, on first run, the demo departments and accounts."""
    settings = get_settings()
    app = create_app(settings)
    _show_credentials(bootstrap_demo(app.state.services.identity), settings.var_dir)
    console.print(f"[green]ready[/green]: database {settings.resolved_database_url}")


def serve(
    host: str | None = typer.Option(None, help="Bind address (default EVIDENCE_HOST)"),
    port: int | None = typer.Option(None, help="Port (default EVIDENCE_PORT)"),
    demo: bool = typer.Option(True, help="Create demo departments and accounts on first start"),
) -> None:
    """Start the HTTP service (migrates the database first)."""
    settings = get_settings()
    app = create_app(settings)
    if demo:
        _show_credentials(bootstrap_demo(app.state.services.identity), settings.var_dir)
    bind_host, bind_port = host or settings.host, port or settings.port
    console.print(f"Evidence service on http://{bind_host}:{bind_port}  "
                  f"(storage: {settings.storage_backend}, database: "
                  f"{settings.resolved_database_url.split('://')[0]})")
    uvicorn.run(app, host=bind_host, port=bind_port, log_level=settings.log_level.lower(),
                timeout_keep_alive=30)
