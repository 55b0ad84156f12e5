"""``evidence recover-log``: rebuild the evidence log from object storage, prove it on-chain.

The recovery drill after the database is lost (docs/operations.md): point the service's
settings at a fresh database, the object store that holds the sealed log segments and the
chain, then run this command. It refuses a database that already holds a log.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from evidence_service.adapters.db import SqlUnitOfWork, make_engine, make_session_factory, upgrade
from evidence_service.api.app import build_ledger
from evidence_service.api.stores import build_store
from evidence_service.cli.session import CliError
from evidence_service.config import Settings, get_settings
from evidence_service.domain.errors import InvalidInput
from evidence_service.ports import AnchorHistory
from evidence_service.services.clock import SystemClock
from evidence_service.services.log_archive import LogArchive
from evidence_service.services.log_recovery import LogRecovery, RecoveryReport, SegmentSummary

_status = Console(stderr=True)  # progress only; the report itself goes to stdout


@contextmanager
def _chain(settings: Settings, rpc: str | None, contract: str | None
           ) -> Iterator[AnchorHistory]:
    """A read-only binding to the registry (``--rpc``/``--contract``, the external ledger's
    settings), or the embedded node started from its state in ``var/ledger``."""
    from evidence_service.adapters.chain import ChainAnchor

    ledger = settings.ledger
    rpc = rpc or (ledger.rpc_url if ledger.mode == "external" else None)
    contract = contract or (ledger.contract_address if ledger.mode == "external" else None)
    if contract is None and rpc is not None and ledger.deployment_file is not None:
        from ledger_node import DeploymentRecord, LedgerError

        try:
            contract = DeploymentRecord.load(ledger.deployment_file).address
        except LedgerError as exc:
            raise InvalidInput(str(exc)) from exc
    if rpc is not None:
        if contract is None:
            raise CliError("give the registry address: --contract or "
                           "EVIDENCE_LEDGER__CONTRACT_ADDRESS")
        yield ChainAnchor(rpc_url=rpc, contract_address=contract, signer=None,
                          expected_chain_id=ledger.chain_id)
        return
    runtime = build_ledger(settings)
    if runtime is None:
        raise CliError("recovery compares the log with the chain: configure the ledger "
                       "(EVIDENCE_LEDGER__MODE) or give --rpc and --contract")
    try:
        yield runtime.anchor
    finally:
        runtime.close()


def recover_log(
    rpc: str | None = typer.Option(None, "--rpc", help="JSON-RPC URL of the chain "
                                   "(default: the configured ledger)"),
    contract: str | None = typer.Option(None, "--contract", help="Registry address"),
    from_block: int = typer.Option(0, "--from-block", min=0,
                                   help="Read Anchored events from this block on "
                                   "(the registry's deployment block)"),
) -> None:
    """Rebuild the evidence log from its segments in object storage into an EMPTY database,
    then check every anchored tree head against the root on-chain (exit 1 on any difference,
    gap or corrupt segment; nothing is written then)."""
    settings = get_settings()
    engine = make_engine(settings.resolved_database_url)
    database = engine.url.render_as_string(hide_password=True)
    try:
        upgrade(engine)
        uow = SqlUnitOfWork(make_session_factory(engine))
        clock = SystemClock()
        store = build_store(settings, setup=False)
        archive = LogArchive(uow=uow, store=store, clock=clock,
                             work_dir=settings.resolved_spool_dir / "segments")
        recovery = LogRecovery(uow=uow, archive=archive, clock=clock)
        recovery.ensure_empty()
        typer.echo(f"database: {database} (migrated, no log yet)")
        with _status.status("checking the segments in the object store…"):
            checked = recovery.check_segments()
        _print_segments(checked, store.name)
        with _chain(settings, rpc, contract) as history, \
                _status.status("restoring the log and comparing every anchored head…"):
            report = recovery.restore(checked, history, from_block=from_block)
    finally:
        engine.dispose()
    _print_report(report, database)
    if not report.ok:
        raise typer.Exit(1)


def _print_segments(checked: list[SegmentSummary], store: str) -> None:
    entries = checked[-1].end_index if checked else 0
    typer.echo(f"segments: {len(checked)} in the {store} store, entries 0..{entries - 1} "
               f"({entries}), contiguous; every SHA-256 and entry count checked")
    for s in checked:
        typer.echo(f"  {s.key}  entries {s.first_index}..{s.end_index - 1}  sha256 {s.sha256}")


def _print_report(report: RecoveryReport, database: str) -> None:
    typer.echo(f"anchored heads on chain {report.chain_id}, registry "
               f"{report.contract_address}: {len(report.heads)}")
    for head in report.heads:
        if head.local_root is None:
            verdict = "MISSING (the segments end before this size)"
        elif head.equal:
            verdict = "equal"
        else:
            verdict = "DIFFERENT"
        typer.echo(f"  size {head.tree_size:>8}  block {head.block_number:>8}  "
                   f"rebuilt {head.local_root or '-' * 64}  on-chain {head.chain_root}  "
                   f"{verdict}")
        if head.chain_root != head.event_root:
            typer.echo(f"    the Anchored event of tx {head.tx_hash} recorded root "
                       f"{head.event_root}")
    if report.ok:
        typer.echo(f"restored {report.entries} log entries, {len(report.segments)} segment "
                   f"records and {len(report.heads)} anchored heads into {database}")
        if report.unanchored:
            typer.echo(f"note: the last {report.unanchored} entries are sealed but not yet "
                       "anchored; the service anchors them when it runs")
        typer.echo("RECOVERED: every anchored head equals the root on-chain. Cases, items "
                   "and users are not in the log: restore them from the database backup.")
        return
    bad = sum(1 for head in report.heads if not head.equal)
    reason = (f"{bad} of {len(report.heads)} anchored heads differ from the chain"
              if report.heads else f"{report.entries} entries but no head anchored on-chain")
    typer.echo(f"FAILED: {reason}; nothing was written to {database}")
