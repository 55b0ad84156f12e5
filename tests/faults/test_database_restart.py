"""The database restarts while the service keeps uploading and reading.

A throwaway PostgreSQL cluster (``initdb``/``pg_ctl``, its own port and directory: the
machine's own database is left alone) serves one ``evidence serve`` with its embedded chain.
Clients upload and read without pause while the cluster is stopped (``-m fast``: open
sessions are cut), kept down for a few seconds and started again.

During the outage every answer must be a 503 with ``Retry-After`` and a JSON reason (never a
500, never a dropped connection), the service must come back without a restart, nothing
committed may be lost, and anchoring must catch up with the log.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
import requests
from sqlalchemy.exc import OperationalError

from evidence_service.adapters.db import (
    SqlUnitOfWork,
    make_engine,
    make_session_factory,
    upgrade,
)
from evidence_service.adapters.locks import PgAdvisoryLock
from evidence_service.adapters.storage import FilesystemObjectStore
from evidence_service.domain.models import EvidenceKind, NewUpload, Principal, Role
from evidence_service.services.clock import SystemClock
from evidence_service.services.ingest import IngestService
from tests.faults.common import (
    Client,
    assert_unavailable,
    query,
    registrations,
    wait_until,
)
from tests.faults.conftest import FaultReport
from tests.support.live import LiveServer
from tests.support.pg_cluster import PgCluster, pg_cluster

pytestmark = [pytest.mark.ledger, pytest.mark.slow, pytest.mark.faults]
OUTAGE_SECONDS = 4.0


@pytest.fixture(scope="module")
def cluster() -> Iterator[PgCluster]:
    with pg_cluster() as running:
        yield running


@pytest.fixture
def server(tmp_path: Path, cluster: PgCluster) -> Iterator[LiveServer]:
    live = LiveServer(var_dir=tmp_path / "var", env={
        "EVIDENCE_DATABASE_URL": cluster.url, "EVIDENCE_ANCHOR_INTERVAL": "0.5",
        "EVIDENCE_LEDGER__KEYSTORE_SCRYPT_N": str(2**10),
        "EVIDENCE_ANALYSIS__ENABLED": "false"})
    live.start()
    yield live
    live.stop()


@dataclass
class Traffic:
    """Uploads and reads in a loop; every answer is kept with the time it came."""

    client: Client
    case_id: str
    stored: dict[str, str] = field(default_factory=dict)  # item id -> sha256 (204 seen)
    answers: list[tuple[float, str, int, requests.Response | None]] = field(
        default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def _keep(self, what: str, call: Callable[[], requests.Response]
              ) -> requests.Response | None:
        try:
            r = call()
        except requests.RequestException:
            self.answers.append((time.monotonic(), what, 0, None))
            return None
        self.answers.append((time.monotonic(), what, r.status_code, r))
        return r

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            data = os.urandom(64 * 1024) + n.to_bytes(4, "big")
            sha = hashlib.sha256(data).hexdigest()
            created = self._keep("create", partial(self.client.create, self.case_id,
                                                   len(data), sha256=sha))
            if created is not None and created.status_code == 201:
                item_id = created.json()["upload"]["item_id"]
                done = self._keep("patch", partial(self.client.patch,
                                                   created.headers["Location"], 0, data))
                if done is not None and done.status_code == 204:
                    self.stored[item_id] = sha
            self._keep("read", partial(requests.get, self.client.url(
                f"/cases/{self.case_id}/items"), headers=self.client.auth, timeout=10))
            time.sleep(0.05)


def test_database_restart_mid_run(server: LiveServer, cluster: PgCluster,
                                  fault_report: FaultReport) -> None:
    client = Client(server, timeout=10)
    case_id = client.case("ENF-2026-PG")
    before = {client.upload(case_id, os.urandom(100_000), name=f"pre-{i}.bin")
              for i in range(3)}
    traffic = Traffic(client=client, case_id=case_id)
    runner = threading.Thread(target=traffic.run, daemon=True)
    runner.start()
    try:
        time.sleep(1.0)
        down_at = time.monotonic()
        cluster.stop("fast")
        time.sleep(OUTAGE_SECONDS)
        cluster.start()
        up_at = time.monotonic()
        recovered_in = wait_until(
            lambda: any(t > up_at and code in (200, 201, 204) for t, _, code, _ in
                        list(traffic.answers)), timeout=30, what="a successful request")
        time.sleep(1.5)
    finally:
        traffic.stop.set()
        runner.join(30)
    assert server.process is not None and server.process.poll() is None, server.log_tail()

    codes = [code for _, _, code, _ in traffic.answers]
    assert 0 not in codes, "a request was dropped without an answer"
    assert 500 not in codes, server.log_tail()
    outage = [r for t, _, code, r in traffic.answers if down_at < t and code not in (200, 201,
                                                                                     204)]
    assert outage, "no request met the outage"
    for r in outage:
        assert r is not None
        assert_unavailable(r, "database_unavailable")
    assert any(code == 204 for t, what, code, _ in traffic.answers if t > up_at)

    # nothing committed is lost; every stored item is registered exactly once
    items = {i["id"]: i for i in client.items(case_id)}
    stored = {**{i: items[i]["sha256"] for i in before}, **traffic.stored}
    assert {i: items[i]["sha256"] for i in stored} == stored
    registered = registrations(server)
    assert sorted(i for _, i, _ in registered) == sorted(
        i for i, item in items.items() if item["sha256"])
    assert set(stored) <= {i for _, i, _ in registered}

    # no spool file without a receiving upload (a create that failed must leave nothing)
    receiving = {u for (u,) in query(server, "SELECT id FROM uploads WHERE status = 'receiving'")}
    spooled = {p.stem for p in (server.var_dir / "uploads").glob("*.part")}
    assert spooled <= receiving, f"orphan spool files: {sorted(spooled - receiving)}"

    size = client.log_head()["log_size"]
    anchored_in = wait_until(lambda: (client.log_head()["anchored"] or {}).get(
        "tree_size", 0) >= size, timeout=60, poll=0.2, what="anchoring the whole log")
    fault_report.record(outage_s=OUTAGE_SECONDS, first_success_after_start_s=recovered_in,
                        answers_503=len(outage), items_stored=len(stored),
                        anchored_whole_log_in_s=anchored_in + 1.5)


def test_a_leader_lock_lost_in_a_restart_is_not_still_claimed(cluster: PgCluster) -> None:
    """The advisory lock dies with its session: after a restart the old holder must notice,
    or two replicas would both anchor."""
    first_engine, second_engine = make_engine(cluster.url), make_engine(cluster.url)
    first, second = PgAdvisoryLock(first_engine, 0x7E57), PgAdvisoryLock(second_engine, 0x7E57)
    other = PgAdvisoryLock(second_engine, 0x7E58)
    try:
        assert first.try_acquire() and not second.try_acquire() and other.try_acquire()
        cluster.stop("fast")
        other.release()  # shutting down while the database is away must not raise
        cluster.start()
        assert second.try_acquire()
        assert not first.try_acquire(), "both processes think they lead"
    finally:
        second.release()
        first.release()
        first_engine.dispose()
        second_engine.dispose()


def test_an_upload_created_while_the_database_is_down_leaves_no_spool_file(
        cluster: PgCluster, tmp_path: Path) -> None:
    engine = make_engine(cluster.url)
    upgrade(engine)
    spool = tmp_path / "uploads"
    ingest = IngestService(uow=SqlUnitOfWork(make_session_factory(engine)),
                           store=FilesystemObjectStore(tmp_path / "objects"), spool_dir=spool,
                           clock=SystemClock(), max_upload_bytes=1 << 30,
                           expiry=timedelta(hours=1))
    officer = Principal(kind="user", id=str(uuid.uuid4()), department_id=str(uuid.uuid4()),
                        roles=frozenset({Role.OFFICER}), name="officer")
    new = NewUpload(case_id=str(uuid.uuid4()), filename="a.bin", kind=EvidenceKind.DOCUMENTARY,
                    media_type="application/octet-stream", length=10)
    cluster.stop("fast")
    try:
        with pytest.raises(OperationalError):
            ingest.create_upload(officer, new)
        assert list(spool.iterdir()) == []
    finally:
        cluster.start()
        engine.dispose()
