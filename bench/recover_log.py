"""Log sealing and recovery: what sealing adds to each anchor, and how fast a log is rebuilt.

Prints, from one run on this machine (SQLite and the filesystem store in a temporary
directory, a throwaway anvil with the dev settings, the registry deployed as the service
deploys it):
  * anchoring ``--heads`` heads of ``--batch`` new entries each, once with the segment archive
    (each head sealed into a segment before it is published) and once without it on a second
    registry: milliseconds per head, and the ratio of the two;
  * recovery of that log (``--heads`` x ``--batch`` entries) into an empty database: segment
    check, restore and the comparison of every anchored head with ``anchorOf`` on-chain,
    as entries per second and anchored heads per second.

Usage: .venv/bin/python bench/recover_log.py [--heads 50] [--batch 200]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from web3 import Web3

from evidence_service.adapters.chain import ChainAnchor
from evidence_service.adapters.db import SqlUnitOfWork, make_engine, make_session_factory, upgrade
from evidence_service.adapters.storage import FilesystemObjectStore
from evidence_service.domain import merkle_log
from evidence_service.domain.canonical import registration_entry
from evidence_service.services.anchoring import AnchoringService
from evidence_service.services.clock import SystemClock
from evidence_service.services.log_archive import LogArchive
from evidence_service.services.log_recovery import LogRecovery
from ledger_node import DEV_MNEMONIC, AnvilNode, NodeConfig, deploy_registry, dev_account


def _database(path: Path) -> SqlUnitOfWork:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return SqlUnitOfWork(make_session_factory(engine))


def _append(uow: SqlUnitOfWork, count: int) -> None:
    with uow() as repo:
        for _ in range(count):
            now = datetime.now(UTC)
            entry = registration_entry(sha256=uuid.uuid4().hex * 2, sm3=uuid.uuid4().hex * 2,
                                       size=1000, item_id=str(uuid.uuid4()),
                                       case_id=str(uuid.uuid4()),
                                       department_id=str(uuid.uuid4()), at=now)
            repo.append_log_leaf(entry=entry, leaf_hash=merkle_log.leaf_hash(entry),
                                 kind="evidence.registered", item_id=None, at=now)


def _anchor_all(service: AnchoringService, uow: SqlUnitOfWork, *, heads: int,
                batch: int) -> float:
    """Seconds spent in ``anchor_once`` over ``heads`` heads of ``batch`` entries."""
    spent = 0.0
    for _ in range(heads):
        _append(uow, batch)
        started = time.perf_counter()
        assert service.anchor_once() is not None
        spent += time.perf_counter() - started
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--heads", type=int, default=50)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    deployer, anchorer = dev_account(DEV_MNEMONIC, index=0), dev_account(DEV_MNEMONIC, index=1)
    clock = SystemClock()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        node = AnvilNode(NodeConfig.throwaway())
        node.start()
        try:
            w3 = Web3(Web3.HTTPProvider(node.rpc_url))
            chains = [ChainAnchor(rpc_url=node.rpc_url, signer=anchorer,
                                  contract_address=deploy_registry(
                                      w3, deployer=deployer, anchorer=anchorer.address).address)
                      for _ in range(2)]
            sealed_uow, plain_uow = _database(tmp / "sealed.db"), _database(tmp / "plain.db")
            store = FilesystemObjectStore(tmp / "objects")
            archive = LogArchive(uow=sealed_uow, store=store, clock=clock, work_dir=tmp / "spool")
            sealed = _anchor_all(AnchoringService(uow=sealed_uow, ledger=chains[0], clock=clock,
                                                  archive=archive),
                                 sealed_uow, heads=args.heads, batch=args.batch)
            plain = _anchor_all(AnchoringService(uow=plain_uow, ledger=chains[1], clock=clock),
                                plain_uow, heads=args.heads, batch=args.batch)
            per_head = (sealed / args.heads * 1000, plain / args.heads * 1000)
            print(f"anchoring {args.heads} heads of {args.batch} entries: "
                  f"{per_head[0]:.1f} ms/head with sealing, {per_head[1]:.1f} ms/head without "
                  f"(ratio {sealed / plain:.2f})")

            fresh = _database(tmp / "rebuilt.db")
            recovery = LogRecovery(uow=fresh, archive=LogArchive(
                uow=fresh, store=store, clock=clock, work_dir=tmp / "spool"), clock=clock)
            started = time.perf_counter()
            checked = recovery.check_segments()
            checked_at = time.perf_counter()
            report = recovery.restore(checked, chains[0])
            done = time.perf_counter()
        finally:
            node.stop()
    assert report.ok and report.restored, report
    entries = args.heads * args.batch
    print(f"recovery of {entries} entries in {len(checked)} segments with "
          f"{len(report.heads)} anchored heads: check {checked_at - started:.2f} s, restore and "
          f"compare {done - checked_at:.2f} s = {entries / (done - started):.0f} entries/s")


if __name__ == "__main__":
    main()
