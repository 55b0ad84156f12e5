"""The ``evidence`` command: serve the API, upload evidence, look at cases and items."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from evidence_service.cli import (
    analysis,
    custody,
    items,
    offload,
    recovery,
    server,
    upload,
    verify,
    worker,
)
from evidence_service.domain.errors import EvidenceError
from evidence_service.logging_setup import configure

app = typer.Typer(help="Evidence custody service", no_args_is_help=True,
                  pretty_exceptions_enable=False)
app.command()(server.serve)
app.command()(server.init)
app.command()(worker.worker)
app.command()(items.login)
app.command()(items.cases)
app.command()(items.items)
app.command()(items.status)
app.command()(upload.upload)
app.command()(offload.offload)
app.command()(verify.verify)
app.command("verify-bundle")(verify.verify_bundle_command)
app.command("verify-package")(verify.verify_package_command)
app.command()(analysis.analysis)
app.command()(analysis.analyze)
app.command()(custody.custody)
app.command()(custody.approve)
app.command()(custody.export)
app.add_typer(custody.transfer_app, name="transfer")
app.add_typer(verify.log_app, name="log")
app.command("recover-log")(recovery.recover_log)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True,
                               "help_option_names": []})
def node(ctx: typer.Context) -> None:
    """The local chain node: start, status, deploy (see 'evidence node --help')."""
    from ledger_node.cli import app as node_app  # loads web3 only when asked for

    node_app(args=ctx.args, prog_name="evidence node")


def main() -> None:
    """Entry point: runs the command, printing any evidence error plainly (exit code 1)."""
    configure("WARNING")
    try:
        app()
    except EvidenceError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}")
        sys.exit(1)


__all__ = ["app", "main"]
