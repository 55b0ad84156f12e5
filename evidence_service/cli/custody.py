"""``evidence custody``, ``approve``, ``export`` and ``transfer …``: custody and sharing.

Every command talks to the server with the caller's token; nothing here reads the database.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table

from evidence_service.cli.items import ServerOpt, TokenOpt, resolve_case
from evidence_service.cli.session import ApiSession, CliError

console = Console()
transfer_app = typer.Typer(help="Send evidence to another department; accept or reject it",
                           no_args_is_help=True)


def custody(target: str = typer.Argument(..., help="Item id, or case id/number with --case"),
            case: bool = typer.Option(False, "--case", help="Show a whole case's timeline"),
            as_json: bool = typer.Option(False, "--json",
                                         help="Print every event with its inclusion proof"),
            server: str | None = ServerOpt, token: str | None = TokenOpt) -> None:
    """Show the custody timeline: every event, its log position, anchoring and proof."""
    session = ApiSession.open(server, token)
    path = (f"/cases/{resolve_case(session, target)}/custody" if case
            else f"/items/{target}/custody")
    events = session.get(path)
    if as_json:
        typer.echo(json.dumps(events, ensure_ascii=False, indent=2))
        return
    table = Table("time (UTC)", "event", "item", "department", "by", "leaf", "anchored",
                  "proof")
    for e in events:
        anchored = (f"tree {e['tree_size']}, block {e['anchor']['block_number']}"
                    if e["anchored"] else "pending")
        proof = f"{len(e['inclusion_proof'])} hashes" if e["anchored"] else "-"
        table.add_row(e["at"][:19], e["kind"], (e["item_id"] or "-")[:8],
                      e["department_id"][:8], e["actor_name"], str(e["log_index"]), anchored,
                      proof)
    console.print(table)


def approve(item_id: str = typer.Argument(..., help="Evidence item id"),
            purpose: str = typer.Option("transfer", help="transfer | export"),
            note: str | None = typer.Option(None, help="Why it may leave the department"),
            server: str | None = ServerOpt, token: str | None = TokenOpt) -> None:
    """Approve a restricted item to leave the department (department admins)."""
    session = ApiSession.open(server, token)
    body = session.post(f"/items/{item_id}/approvals", {"purpose": purpose, "note": note})
    console.print(f"approved for {body['purpose']} (log entry {body['log_index']})")


def export(case: str = typer.Argument(..., help="Case id or case number"),
           out: Path = typer.Option(..., "--out", "-o", help="Where to write the ZIP"),
           server: str | None = ServerOpt, token: str | None = TokenOpt) -> None:
    """Export a court-ready case package (check it with 'evidence verify-package')."""
    session = ApiSession.open(server, token)
    response = session.stream(f"/cases/{resolve_case(session, case)}/package")
    total = int(response.headers.get("Content-Length") or 0) or None
    partial = out.with_name(out.name + ".part")
    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), console=console) as progress, partial.open("wb") as fh:
        task = progress.add_task(out.name, total=total)
        for chunk in response.iter_content(1 << 20):
            fh.write(chunk)
            progress.advance(task, len(chunk))
    partial.replace(out)
    console.print(f"wrote {out} (sha256 {response.headers.get('X-Package-SHA256', '?')})")


@transfer_app.command("send")
def send(case: str = typer.Argument(..., help="Case id or case number"),
         to: str = typer.Option(..., "--to", help="Receiving department code or id"),
         item: list[str] = typer.Option(None, "--item", help="Only these items (repeatable)"),
         server: str | None = ServerOpt, token: str | None = TokenOpt) -> None:
    """Send a case's evidence (all items unless --item is given) to another department."""
    session = ApiSession.open(server, token)
    body = session.post(f"/cases/{resolve_case(session, case)}/transfers",
                        {"to_department": to, "items": item or None})
    console.print(f"transfer {body['id']} opened: {len(body['item_ids'])} item(s), "
                  f"manifest {body['manifest_root'][:16]}…, tx {body['opened']['tx_hash']}")


@transfer_app.command("list")
def list_transfers(outgoing: bool = typer.Option(False, "--outgoing", help="Sent, not received"),
                   server: str | None = ServerOpt, token: str | None = TokenOpt) -> None:
    """The transfer inbox (or, with --outgoing, what your department sent)."""
    session = ApiSession.open(server, token)
    found = session.get("/transfers", direction="outgoing" if outgoing else "incoming")
    table = Table("id", "status", "items", "from", "to", "opened tx", "decision tx")
    for t in found:
        decided = t["decided"]["tx_hash"][:18] + "…" if t["decided"] else "-"
        table.add_row(t["id"], t["status"], str(len(t["item_ids"])),
                      t["from_department_id"][:8], t["to_department_id"][:8],
                      t["opened"]["tx_hash"][:18] + "…", decided)
    console.print(table)


@transfer_app.command("accept")
def accept(transfer_id: str = typer.Argument(...), server: str | None = ServerOpt,
           token: str | None = TokenOpt) -> None:
    """Verify every item of an incoming transfer, then accept it on-chain."""
    session = ApiSession.open(server, token)
    with console.status("re-hashing and checking every item against the chain…"):
        body = session.post(f"/transfers/{transfer_id}/accept", timeout=3600)
    for check in body["checks"]:
        console.print(f"  [green]✓[/green] {check['item_id']} (tree {check['tree_size']})")
    console.print(f"accepted: case {body['received_case_id']}, tx {body['decided']['tx_hash']}")


@transfer_app.command("reject")
def reject(transfer_id: str = typer.Argument(...),
           reason: str = typer.Option(..., "--reason", help="Why (its hash goes on-chain)"),
           server: str | None = ServerOpt, token: str | None = TokenOpt) -> None:
    """Reject an incoming transfer with a reason."""
    session = ApiSession.open(server, token)
    if not reason.strip():
        raise CliError("a rejection needs a reason")
    body = session.post(f"/transfers/{transfer_id}/reject", {"reason": reason})
    console.print(f"rejected, tx {body['decided']['tx_hash']}")
