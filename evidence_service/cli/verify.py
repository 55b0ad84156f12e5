"""``evidence verify``, ``verify-bundle``, ``verify-package`` and ``log``: check evidence with
or without our server.

``verify-bundle``, ``verify-package`` and ``log consistency`` run the standalone
``evidence_verify`` package, the
same code a court installs on its own: no server, no database, only hashing and (with
``--rpc``) any JSON-RPC endpoint of the chain.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import requests
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from evidence_service.cli.session import DEFAULT_SERVER, CliError, checked_json
from evidence_verify import (
    PackageCheck,
    PackageFormatError,
    PackageReport,
    VerificationError,
    verify_bundle,
    verify_consistency_response,
    verify_package,
)

console = Console()
log_app = typer.Typer(help="The evidence log: head and consistency", no_args_is_help=True)
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
ServerOpt = typer.Option(None, "--server", help="Service URL (EVIDENCE_SERVER)")


def _server(server: str | None) -> str:
    return (server or os.environ.get("EVIDENCE_SERVER") or DEFAULT_SERVER).rstrip("/")


def _request(method: str, url: str, **kwargs: object) -> object:
    try:
        return checked_json(requests.request(method, url, timeout=600, **kwargs))  # type: ignore[arg-type]
    except requests.RequestException as exc:
        raise CliError(f"cannot reach {url}: {exc}") from exc


def verify(target: str = typer.Argument(..., help="A file, or its SHA-256 / SM3 in hex"),
           server: str | None = ServerOpt) -> None:
    """Ask the service whether a file (hashed locally, streamed) or a hash is registered."""
    base = _server(server)
    path = Path(target)
    if path.is_file():
        with path.open("rb") as fh:
            result = _request("POST", f"{base}/verify", data=fh,
                              headers={"Content-Type": "application/octet-stream"})
    elif _HEX64.match(target):
        result = _request("GET", f"{base}/verify/{target.lower()}")
    else:
        raise CliError(f"{target!r} is neither a file nor a 64-hex-digit hash")
    assert isinstance(result, dict)
    colour = {"verified": "green", "pending": "yellow"}.get(result["verdict"], "red")
    console.print(f"[{colour}]{result['verdict']}[/{colour}]  {'; '.join(result['reasons'])}")
    if result.get("anchor"):
        a = result["anchor"]
        console.print(f"registered {result['registered_at']}  leaf {result['leaf_index']} "
                      f"of {a['tree_size']}  tx {a['tx_hash']}  block {a['block_number']} "
                      f"({a['block_time']})  chain {a['chain_id']}")
    if result["verdict"] not in ("verified", "pending"):
        raise typer.Exit(1)


def verify_bundle_command(
    bundle: Path = typer.Argument(..., exists=True, dir_okay=False, help="Proof bundle JSON"),
    file: Path | None = typer.Option(None, "--file", exists=True, dir_okay=False,
                                     help="The evidence file the bundle is about"),
    rpc: str | None = typer.Option(None, "--rpc", help="JSON-RPC URL of the chain"),
) -> None:
    """Verify a proof bundle offline, and on-chain with --rpc (no server needed)."""
    try:
        report = verify_bundle(json.loads(bundle.read_text()), file=file, rpc_url=rpc)
    except json.JSONDecodeError as exc:
        raise CliError(f"{bundle} is not JSON: {exc}") from exc
    except VerificationError as exc:
        failed = getattr(exc, "report", None)
        console.print(failed.render_text() if failed is not None else str(exc), markup=False)
        raise typer.Exit(1) from exc
    console.print(report.render_text(), markup=False)


_OUTCOME_STYLE = {"pass": ("green", "通过 OK"), "fail": ("red", "失败 FAILED"),
                  "pending": ("yellow", "待锚定 PENDING"),
                  "unavailable": ("magenta", "链不可达 UNAVAILABLE"),
                  "not_checked": ("dim", "未检查 NOT CHECKED")}
_VERDICT_STYLE = {"verified": ("green", "验证通过 VERIFIED"), "failed": ("red", "验证失败 FAILED"),
                  "pending": ("yellow", "待锚定 PENDING"),
                  "unavailable": ("magenta", "未完成(链不可达)INCOMPLETE")}


def verify_package_command(
    package: Path = typer.Argument(..., exists=True, dir_okay=False, help="Case package ZIP"),
    rpc: str | None = typer.Option(None, "--rpc", help="JSON-RPC URL of the chain"),
) -> None:
    """Verify a case package: files, proofs, custody history (no server needed).

    Exit status as ``python -m evidence_verify package``: 0 verified, 1 failed, 2 malformed
    package, 3 chain unreachable, 4 pending.
    """
    try:
        with console.status("verifying…") as status:
            def progress(check: PackageCheck) -> None:
                status.update(Text(f"verifying: {check.name} {check.subject}"))

            report = verify_package(package, rpc_url=rpc, on_check=progress)
    except PackageFormatError as exc:
        console.print(f"[red]malformed package:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    except OSError as exc:
        raise CliError(f"cannot read {package}: {exc}") from exc
    _print_package_report(report)
    raise typer.Exit(report.exit_code)


def _print_package_report(report: PackageReport) -> None:
    table = Table(title="案件证据包验证 Case package verification", show_lines=False)
    for column in ("检查 Check", "对象 Subject", "结果 Outcome", "说明 Detail"):
        table.add_column(column, overflow="fold")
    for check in report.checks:
        style, text = _OUTCOME_STYLE[check.outcome]
        table.add_row(f"{check.name_zh} {check.name}", Text(check.subject),
                      Text(text, style=style), Text(check.detail))  # Text: never markup
    console.print(table)
    for key, value in report.facts.items():
        console.print(f"{key}: {value}", markup=False, highlight=False)
    style, text = _VERDICT_STYLE[report.verdict]
    console.print(f"[bold {style}]{text}[/bold {style}]")
    if report.culprits:
        console.print("问题对象 culprits: " + ", ".join(report.culprits), markup=False)


@log_app.command("head")
def log_head(server: str | None = ServerOpt) -> None:
    """The log size and the latest anchored head."""
    console.print_json(data=_request("GET", f"{_server(server)}/log/head"))


@log_app.command("consistency")
def log_consistency(old: int = typer.Option(..., "--from"), new: int = typer.Option(..., "--to"),
                    server: str | None = ServerOpt) -> None:
    """Fetch a consistency proof between two anchored heads and verify it locally."""
    proof = _request("GET", f"{_server(server)}/log/consistency",
                     params={"from": old, "to": new})
    try:
        report = verify_consistency_response(proof)
    except VerificationError as exc:
        console.print(f"inconsistent: {exc}", markup=False)
        raise typer.Exit(1) from exc
    console.print(report.render_text(), markup=False)
