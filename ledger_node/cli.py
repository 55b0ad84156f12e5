"""``python -m ledger_node start|status|deploy``: run the dev node and deploy the registry.

Reads ``LEDGER_*`` settings (``LedgerSettings``). Every command prints a ``LedgerError`` (or a
contract artifact error) plainly and exits 1.
"""

from __future__ import annotations

import functools
import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from web3 import Web3

from contracts import ContractsError
from ledger_node.config import LedgerSettings, get_settings
from ledger_node.deploy import (
    DeploymentRecord,
    Sender,
    check_deployment,
    load_or_deploy,
    registry_contract,
)
from ledger_node.errors import LedgerError, NodeUnavailable
from ledger_node.keys import dev_account, load_account
from ledger_node.node import AnvilNode, rpc_chain_id

_logger = logging.getLogger(__name__)

app = typer.Typer(help="Local chain node and EvidenceRegistry deployment.", no_args_is_help=True)

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _plain_errors(command: Callable[_P, _R]) -> Callable[_P, _R]:
    @functools.wraps(command)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return command(*args, **kwargs)
        except (LedgerError, ContractsError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc

    return wrapper


def _deploy(settings: LedgerSettings, w3: Web3, keystore: Path | None) -> DeploymentRecord:
    mnemonic = settings.mnemonic.get_secret_value()
    deployer: Sender
    if keystore is not None:
        password = typer.prompt(f"password for {keystore}", hide_input=True)
        deployer = load_account(keystore, password=password)
    else:
        deployer = dev_account(mnemonic, index=settings.deployer_index)
    anchorer = dev_account(mnemonic, index=settings.anchor_index).address
    return load_or_deploy(
        w3, record_path=settings.deployment_file, deployer=deployer, anchorer=anchorer
    )


@app.callback()
def _configure_logging(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@app.command()
@_plain_errors
def start(
    deploy: Annotated[bool, typer.Option(help="Deploy the registry if not yet deployed.")] = True,
) -> None:
    """Run the local anvil node in the foreground until Ctrl-C or SIGTERM (state is kept)."""
    settings = get_settings()
    stop_requested = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.set())
    with AnvilNode(settings.node_config()) as node:
        typer.echo(f"anvil listening on {node.rpc_url} (chain {settings.chain_id})")
        if deploy:
            record = _deploy(settings, Web3(Web3.HTTPProvider(node.rpc_url)), None)
            typer.echo(f"registry at {record.address}")
        try:
            while not stop_requested.wait(1.0):
                node.ensure_running()
        except KeyboardInterrupt:
            pass
        typer.echo("stopping (writing state)")


@app.command()
@_plain_errors
def status() -> None:
    """Show whether the node answers and whether the recorded registry matches it."""
    settings = get_settings()
    url = settings.effective_rpc_url
    if rpc_chain_id(url) is None:
        raise NodeUnavailable(f"no node answers at {url}")
    w3 = Web3(Web3.HTTPProvider(url))
    typer.echo(f"node {url}: chain {w3.eth.chain_id}, block {w3.eth.block_number}")
    if not settings.deployment_file.exists():
        typer.echo("registry: not deployed")
        return
    record = DeploymentRecord.load(settings.deployment_file)
    check_deployment(w3, record)
    size = registry_contract(w3, record.address).functions.latestTreeSize().call()
    typer.echo(f"registry {record.address}: code matches, latest tree size {size}")


@app.command()
@_plain_errors
def deploy(
    keystore: Annotated[
        Path | None, typer.Option(help="Deployer keystore (default: the dev mnemonic account).")
    ] = None,
) -> None:
    """Deploy the registry to the configured node, or check the recorded deployment."""
    settings = get_settings()
    url = settings.effective_rpc_url
    if rpc_chain_id(url) is None:
        raise NodeUnavailable(f"no node answers at {url}")
    record = _deploy(settings, Web3(Web3.HTTPProvider(url)), keystore)
    typer.echo(f"registry at {record.address} (chain {record.chain_id}, block "
               f"{record.block_number}); recorded in {settings.deployment_file}")


def main() -> None:
    """Entry point of ``python -m ledger_node``."""
    app()
