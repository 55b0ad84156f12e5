"""A database restored from a backup older than the last anchor, then grown, must never get
its diverged head anchored (nor sealed): the anchorer finds the chain's newer head first."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from web3.contract import Contract

from evidence_service.adapters.chain import ChainAnchor
from evidence_service.adapters.db import SqlUnitOfWork, make_engine, make_session_factory, upgrade
from evidence_service.adapters.storage import FilesystemObjectStore
from evidence_service.domain import merkle_log
from evidence_service.domain.canonical import registration_entry
from evidence_service.domain.errors import Conflict
from evidence_service.domain.log_segment import SEGMENT_PREFIX
from evidence_service.services.anchoring import AnchoringService
from evidence_service.services.clock import SystemClock
from evidence_service.services.log_archive import LogArchive
from ledger_node import AnvilNode, dev_account
from tests.support.anvil import MNEMONIC

pytestmark = pytest.mark.ledger


def _entries(count: int) -> list[bytes]:
    return [registration_entry(sha256="ab" * 32, sm3="cd" * 32, size=1, item_id=str(uuid.uuid4()),
                               case_id=str(uuid.uuid4()), department_id=str(uuid.uuid4()),
                               at=datetime.now(UTC)) for _ in range(count)]


def _append(uow: SqlUnitOfWork, entries: list[bytes]) -> None:
    with uow() as repo:
        for entry in entries:
            repo.append_log_leaf(entry=entry, leaf_hash=merkle_log.leaf_hash(entry),
                                 kind="evidence.registered", item_id=None, at=datetime.now(UTC))


def _service(tmp: Path, name: str, chain: ChainAnchor, entries: list[bytes]
             ) -> tuple[AnchoringService, SqlUnitOfWork, FilesystemObjectStore]:
    engine = make_engine(f"sqlite:///{tmp}/{name}.db")
    upgrade(engine)
    uow = SqlUnitOfWork(make_session_factory(engine))
    _append(uow, entries)
    store = FilesystemObjectStore(tmp / "objects")  # one bucket, as in production
    archive = LogArchive(uow=uow, store=store, clock=SystemClock(), work_dir=tmp / name)
    service = AnchoringService(uow=uow, ledger=chain, clock=SystemClock(), archive=archive)
    return service, uow, store


def test_a_grown_old_backup_is_refused_before_anything_is_sealed_or_anchored(
        tmp_path: Path, anvil_node: AnvilNode, registry: Contract) -> None:
    chain = ChainAnchor(rpc_url=anvil_node.rpc_url, contract_address=registry.address,
                        signer=dev_account(MNEMONIC, index=1))
    log = _entries(5)
    live, live_uow, store = _service(tmp_path, "live", chain, log[:3])
    assert live.anchor_once() is not None
    backup, backup_uow, _ = _service(tmp_path, "backup", chain, log[:3])  # backed up at 3
    _append(live_uow, log[3:])  # the live log grows and is anchored at 5
    assert live.anchor_once() is not None
    sealed = store.list_keys(SEGMENT_PREFIX)
    _append(backup_uow, _entries(3))  # the restored backup takes new entries at 3, 4, 5

    with pytest.raises(Conflict, match="head of size 5 that this log does not produce"):
        backup.anchor_once()

    assert chain.latest_tree_size() == 5
    assert store.list_keys(SEGMENT_PREFIX) == sealed
