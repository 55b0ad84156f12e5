"""``python -m ledger_node start|status|deploy|besu-network|add-department``: run the dev node,
deploy the registry, generate a Besu QBFT network and add departments to a running one.

Reads ``LEDGER_*`` settings (``LedgerSettings``). Every command prints a ``LedgerError`` (or a
contract artifact error) plainly and exits 1.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from web3 import Web3

from contracts import ContractsError
from ledger_node.besu import write_network
from ledger_node.config import LedgerSettings, get_settings
from ledger_node.departments import add_department
from ledger_node.deploy import (
    DeploymentRecord,
    Sender,
    check_deployment,
    load_or_deploy,
    registry_contract,
)
from ledger_node.errors import LedgerError, NodeUnavailable
from ledger_node.keys import SCRYPT_N, create_keystore, dev_account, keystore_address, load_account
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


def _deploy(settings: LedgerSettings, w3: Web3, keystore: Path | None,
            anchorer_keystore: Path | None = None) -> DeploymentRecord:
    mnemonic = settings.mnemonic.get_secret_value()
    deployer: Sender
    if keystore is not None:
        password = os.environ.get("LEDGER_ADMIN_KEYSTORE_PASSWORD") or typer.prompt(
            f"password for {keystore}", hide_input=True)
        deployer = load_account(keystore, password=password)
    else:
        deployer = dev_account(mnemonic, index=settings.deployer_index)
    anchorer = (keystore_address(anchorer_keystore) if anchorer_keystore is not None
                else dev_account(mnemonic, index=settings.anchor_index).address)
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
        Path | None, typer.Option(help="Deployer keystore (default: the dev mnemonic account); "
                                  "password LEDGER_ADMIN_KEYSTORE_PASSWORD or prompted.")
    ] = None,
    anchorer_keystore: Annotated[
        Path | None, typer.Option(help="Keystore of the account granted ANCHOR_ROLE "
                                  "(default: the dev mnemonic's anchoring account).")
    ] = None,
) -> None:
    """Deploy the registry to the configured node, or check the recorded deployment."""
    settings = get_settings()
    url = settings.effective_rpc_url
    if rpc_chain_id(url) is None:
        raise NodeUnavailable(f"no node answers at {url}")
    record = _deploy(settings, Web3(Web3.HTTPProvider(url)), keystore, anchorer_keystore)
    typer.echo(f"registry at {record.address} (chain {record.chain_id}, block "
               f"{record.block_number}); recorded in {settings.deployment_file}")


def main() -> None:
    """Entry point of ``python -m ledger_node``."""
    app()


@app.command("besu-network")
@_plain_errors
def besu_network(
    out: Annotated[Path, typer.Option(help="Directory to write the network files to.")],
    validators: Annotated[int, typer.Option(min=4, help="Number of validator nodes.")] = 4,
    chain_id: Annotated[int, typer.Option(help="Chain id of the network.")] = 1337,
    subnet: Annotated[str, typer.Option(
        help="Validator N listens on SUBNET.(10+N) (the compose network's addresses).")
    ] = "172.16.239",
    account: Annotated[list[str] | None, typer.Option(
        help="An account to allowlist (repeatable), in addition to --keystore-dir's.")] = None,
    keystore_dir: Annotated[Path | None, typer.Option(
        help="Create the admin and anchoring keystores here (password: "
             "LEDGER_KEYSTORE_PASSWORD) and allowlist them and every keystore already in it."
    )] = None,
    block_period: Annotated[int, typer.Option(min=1, help="Seconds between blocks.")] = 2,
    scrypt_n: Annotated[int, typer.Option(hidden=True)] = SCRYPT_N,
) -> None:
    """Generate a Besu QBFT network: validator keys, genesis, permissioning, node configs."""
    accounts = list(account or [])
    if keystore_dir is not None:
        password = _keystore_password()
        for name in ("admin", "anchorer"):
            path = keystore_dir / f"{name}.json"
            if not path.exists():
                create_keystore(path, password=password, scrypt_n=scrypt_n)
        accounts += [keystore_address(p) for p in sorted(keystore_dir.glob("*.json"))]
    hosts = [f"{subnet}.{10 + n}" for n in range(1, validators + 1)]
    network = write_network(out, chain_id=chain_id, hosts=hosts, accounts=accounts,
                            block_period=block_period)
    for v in network["validators"]:
        typer.echo(f"{v['name']}: {v['address']} {v['enode']}")
    typer.echo(f"allowlisted accounts: {', '.join(network['accounts']) or 'none'}")


def _keystore_password() -> str:
    password = os.environ.get("LEDGER_KEYSTORE_PASSWORD")
    return password or str(typer.prompt("keystore password", hide_input=True))


@app.command("add-department")
@_plain_errors
def add_department_command(
    department_id: Annotated[str, typer.Option("--id", help="The department's id.")],
    registry: Annotated[str, typer.Option(help="Address of the EvidenceRegistry.")],
    admin_keystore: Annotated[Path, typer.Option(help="Keystore of the registry's admin.")],
    keystore_dir: Annotated[Path, typer.Option(
        help="Where department keystores live (the service's var/keystores/departments).")],
    network_dir: Annotated[Path | None, typer.Option(
        help="Network directory whose permissions_config.toml files get the account.")
    ] = None,
    besu_rpc: Annotated[list[str] | None, typer.Option(
        help="A running Besu node to allowlist the account on (repeatable).")] = None,
    scrypt_n: Annotated[int, typer.Option(hidden=True)] = SCRYPT_N,
) -> None:
    """Add a department: a new encrypted account, allowlisted and granted its role.

    Passwords: LEDGER_ADMIN_KEYSTORE_PASSWORD and LEDGER_KEYSTORE_PASSWORD (the department
    keystores'), prompted for when unset. The chain is LEDGER_RPC_URL.
    """
    settings = get_settings()
    url = settings.effective_rpc_url
    if rpc_chain_id(url) is None:
        raise NodeUnavailable(f"no node answers at {url}")
    admin_password = os.environ.get("LEDGER_ADMIN_KEYSTORE_PASSWORD") or str(
        typer.prompt(f"password for {admin_keystore}", hide_input=True))
    admin = load_account(admin_keystore, password=admin_password)
    done = add_department(Web3(Web3.HTTPProvider(url)), department_id=department_id,
                          registry=registry, admin=admin, keystore_dir=keystore_dir,
                          password=_keystore_password(), network_dir=network_dir,
                          besu_rpc_urls=besu_rpc or (), scrypt_n=scrypt_n)
    typer.echo(f"department {department_id} signs as {done.address} ({done.keystore}); "
               f"allowlists updated: {len(done.allowlists_updated)}; "
               f"{'registered now' if done.registered else 'already registered'}")
