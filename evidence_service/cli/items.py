"""``evidence login``, ``cases``, ``items`` and ``status``: look at what the server holds."""

from __future__ import annotations

import os

import requests
import typer
from rich.console import Console
from rich.table import Table

from evidence_service.cli.session import (
    DEFAULT_SERVER,
    ApiSession,
    CliError,
    checked_json,
    save_token,
)

console = Console()
ServerOpt = typer.Option(None, "--server", help="Service URL (EVIDENCE_SERVER)")
TokenOpt = typer.Option(None, "--token", help="Bearer token (EVIDENCE_TOKEN)", show_default=False)


def login(
    username: str = typer.Option(..., "--username", "-u"),
    password: str = typer.Option(..., prompt=True, hide_input=True, envvar="EVIDENCE_PASSWORD"),
    server: str | None = ServerOpt,
) -> None:
    """Log in and remember the token for this server."""
    url = (server or os.environ.get("EVIDENCE_SERVER") or DEFAULT_SERVER).rstrip("/")
    try:
        r = requests.post(f"{url}/auth/login", json={"username": username, "password": password},
                          timeout=30)
    except requests.RequestException as exc:
        raise CliError(f"cannot reach {url}: {exc}") from exc
    body = checked_json(r)
    save_token(url, body["access_token"])
    console.print(f"logged in as {username} (roles: {', '.join(body['roles'])})")


def cases(server: str | None = ServerOpt, token: str | None = TokenOpt) -> None:
    """List your department's cases."""
    session = ApiSession.open(server, token)
    table = Table("id", "case number", "title", "status")
    for c in session.get("/cases"):
        table.add_row(c["id"], c["case_number"], c["title"], c["status"])
    console.print(table)


def items(case: str = typer.Argument(..., help="Case id or case number"),
          server: str | None = ServerOpt, token: str | None = TokenOpt) -> None:
    """List a case's evidence items with status and hashes."""
    session = ApiSession.open(server, token)
    case_id = resolve_case(session, case)
    table = Table("id", "file", "kind", "size", "status", "sha256")
    for i in session.get(f"/cases/{case_id}/items"):
        table.add_row(i["id"], i["original_filename"], i["kind"], str(i["size"] or "-"),
                      i["status"], (i["sha256"] or "-")[:16] + "…")
    console.print(table)


def status(item_id: str = typer.Argument(..., help="Evidence item id"),
           server: str | None = ServerOpt, token: str | None = TokenOpt) -> None:
    """Show one item's status, hashes and capture metadata."""
    session = ApiSession.open(server, token)
    item = session.get(f"/items/{item_id}")
    for key in ("id", "original_filename", "kind", "status", "size", "sha256", "sm3",
                "stored_at"):
        console.print(f"[bold]{key:>18}[/bold]  {item[key]}")
    if item["flags"]:
        console.print(f"[bold]{'flags':>18}[/bold]  {', '.join(item['flags'])}")


def resolve_case(session: ApiSession, case: str) -> str:
    """Accept a case id or a case number of the caller's department; raises CliError."""
    for c in session.get("/cases"):
        if case in (c["id"], c["case_number"]):
            return str(c["id"])
    raise CliError(f"no case {case!r} in your department")
