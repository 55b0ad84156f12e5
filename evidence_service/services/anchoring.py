"""Anchoring: publish the evidence log's head on-chain, exactly once per head, never losing one.

``AnchoringService.anchor_once`` publishes ``(size, root)`` when the log has grown past the
last anchored head. State lives in the database (the ``anchors`` table) and on-chain; after a
crash between sending a transaction and recording it, ``reconcile`` records what the chain
already holds instead of sending again (the contract refuses a size that does not grow).

``AnchoringWorker`` runs it every ``interval`` seconds on a thread, only while it holds the
leader lock, and backs off exponentially while the node is down.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from evidence_service.domain import merkle_log
from evidence_service.domain.errors import ChainUnavailable, Conflict, StorageUnavailable
from evidence_service.domain.models import Anchor
from evidence_service.ports import (
    AnchorReceipt,
    Clock,
    LeaderLock,
    LedgerAnchor,
    Repository,
    UnitOfWork,
)
from evidence_service.services.log_archive import LogArchive

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _RepoNodes:
    repo: Repository

    def node(self, level: int, index: int) -> bytes:
        return self.repo.log_node(level, index)


class AnchoringService:
    """Publishes tree heads and records them."""

    def __init__(self, *, uow: UnitOfWork, ledger: LedgerAnchor, clock: Clock,
                 archive: LogArchive | None = None) -> None:
        self._uow = uow
        self.ledger = ledger
        self._clock = clock
        self._archive = archive  # seals the entries into object storage before each head

    def reconcile(self) -> Anchor | None:
        """Record a head the chain holds but the database does not (a crash after sending)."""
        on_chain = self.ledger.latest_tree_size()
        with self._uow() as repo:
            latest = repo.latest_anchor()
        if on_chain == 0 or (latest is not None and latest.tree_size >= on_chain):
            return None
        found = self.ledger.anchored(on_chain)
        if found is None:
            return None
        root, receipt = found
        with self._uow() as repo:
            if repo.log_size() < on_chain or merkle_log.root(_RepoNodes(repo), on_chain) != root:
                raise Conflict(f"the chain holds a head of size {on_chain} that this log does "
                               "not produce: wrong contract or database")
            anchor = self._record(repo, on_chain, root, receipt)
        _logger.warning("recorded head %d found on-chain but missing here (tx %s)", on_chain,
                        anchor.tx_hash)
        return anchor

    def anchor_once(self) -> Anchor | None:
        """Anchor the current head if it grew; None when there is nothing new.

        Raises ChainUnavailable while the node is down (nothing is lost: retry later).
        """
        with self._uow() as repo:
            size = repo.log_size()
            latest = repo.latest_anchor()
            if size == 0 or (latest is not None and latest.tree_size >= size):
                return None
            root = merkle_log.root(_RepoNodes(repo), size)
        on_chain = self.ledger.latest_tree_size()
        if on_chain >= size:
            return self.reconcile()
        if on_chain > (latest.tree_size if latest is not None else 0):
            self.reconcile()  # a head not recorded here: Conflict unless this log produces it
        if self._archive is not None:
            self._archive.seal(size)  # a head goes on-chain only once storage holds its entries
        receipt = self.ledger.publish(size, root)
        with self._uow() as repo:
            return self._record(repo, size, root, receipt)

    def _record(self, repo: Repository, size: int, root: bytes,
                receipt: AnchorReceipt) -> Anchor:
        anchor = Anchor(
            tree_size=size, root=root.hex(), tx_hash=receipt.tx_hash,
            block_number=receipt.block_number, block_time=receipt.block_time,
            chain_id=self.ledger.chain_id, contract_address=self.ledger.contract_address,
            created_at=self._clock.now())
        repo.add_anchor(anchor)
        marked = repo.mark_items_anchored(size)
        _logger.info("head %d anchored in block %d (tx %s); %d items now anchored", size,
                     anchor.block_number, anchor.tx_hash, marked)
        return anchor


class AnchoringWorker:
    """A thread that anchors every ``interval`` seconds while it holds the leader lock.

    While the node (or the database) is away it retries with exponential backoff, capped at
    ``max_backoff`` seconds: a probe of a dead node is cheap, and the cap bounds how long
    anchoring lags once the node is back (the fault suite measures it).
    """

    def __init__(self, service: AnchoringService, lock: LeaderLock, *, interval: float,
                 max_backoff: float = 5.0) -> None:
        self._service = service
        self._lock = lock
        self._interval = interval
        self._max_backoff = max_backoff
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="anchoring", daemon=True)
        self.leading = False

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        self._lock.release()

    def _run(self) -> None:
        delay = self._interval
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.leading = self._lock.try_acquire()
                if self.leading:
                    if delay > self._interval:  # first pass after an outage or a takeover
                        self._service.reconcile()
                    self._service.anchor_once()
                delay = self._interval
            except (ChainUnavailable, StorageUnavailable) as exc:
                delay = min(max(delay * 2, 1.0), self._max_backoff)
                _logger.warning("anchoring paused, node or store unavailable (retry in %.0fs): "
                                "%s", delay, exc)
            except Exception:  # keep the worker alive; the error is logged with its cause
                delay = min(max(delay * 2, 1.0), self._max_backoff)
                _logger.exception("anchoring failed; retrying in %.0fs", delay)
            wait = delay
            if delay == self._interval:  # a period from start to start: a pass slowed by a
                wait -= time.monotonic() - started  # busy machine does not stretch it
            self._stop.wait(max(wait, 0.0))
