"""The object store goes away during an upload, then comes back.

``evidence serve`` stores objects in a real S3 endpoint (moto_server) reached through a TCP
proxy that the test cuts (connections reset, new ones refused: the server is gone) and
stalls (connections accepted, never answered: a hung server). moto keeps its buckets only in
memory, so the proxy, not moto, is what goes down.

The client must get a clean 503 with ``Retry-After`` and a JSON reason, nothing may be half
registered (the item stays ``receiving`` with no hash and no log entry), and the same upload
completes once the store is back, without sending its bytes again.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterator

import pytest
from minio import Minio

from evidence_service.domain.rules import content_key
from tests.faults.common import Client, assert_unavailable, registrations
from tests.faults.conftest import FaultReport
from tests.support.live import LiveServer
from tests.support.moto import S3Endpoint
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.minio, pytest.mark.slow, pytest.mark.faults]
MIB = 1 << 20
#: what a stalled store may cost one request (the adapter's read timeout is set to 2 s here)
STALL_BUDGET_SECONDS = 20.0


@pytest.fixture(scope="module")
def proxy(s3_endpoint: S3Endpoint) -> Iterator[TcpProxy]:
    proxy = TcpProxy(s3_endpoint.endpoint)
    yield proxy
    proxy.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, proxy: TcpProxy,
           s3_endpoint: S3Endpoint) -> Iterator[LiveServer]:
    live = LiveServer(var_dir=tmp_path_factory.mktemp("s3") / "var", env={
        "EVIDENCE_STORAGE_BACKEND": "s3", "EVIDENCE_S3__ENDPOINT": proxy.endpoint,
        "EVIDENCE_S3__ACCESS_KEY": s3_endpoint.access_key,
        "EVIDENCE_S3__SECRET_KEY": s3_endpoint.secret_key,
        "EVIDENCE_S3__BUCKET": f"faults-{uuid.uuid4().hex[:10]}",
        "EVIDENCE_S3__READ_TIMEOUT_SECONDS": "2",
        "EVIDENCE_LEDGER__MODE": "off", "EVIDENCE_ANALYSIS__ENABLED": "false"})
    live.start()
    yield live
    live.stop()


@pytest.fixture(autouse=True)
def store_back(proxy: TcpProxy) -> Iterator[None]:
    """Each scenario starts, and leaves, with the store reachable."""
    proxy.restore()
    yield
    proxy.restore()


def _registered(server: LiveServer, case_items: list[dict[str, object]]) -> list[tuple[str, str]]:
    """(item id, sha256) of the log registrations of these items."""
    ids = {i["id"] for i in case_items}
    return [(i, s) for _, i, s in registrations(server) if i in ids]


def _stored_sha256(s3: S3Endpoint, bucket: str, sha256: str) -> str:
    client = Minio(s3.endpoint, access_key=s3.access_key, secret_key=s3.secret_key,
                   secure=s3.secure)
    response = client.get_object(bucket, content_key(sha256))
    try:
        return hashlib.sha256(response.read()).hexdigest()
    finally:
        response.close()
        response.release_conn()


def test_store_cut_mid_upload_gives_503_then_the_same_upload_completes(
        server: LiveServer, proxy: TcpProxy, s3_endpoint: S3Endpoint,
        fault_report: FaultReport) -> None:
    client = Client(server)
    case_id = client.case("ENF-2026-S3")
    data = os.urandom(6 * MIB)
    sha256 = hashlib.sha256(data).hexdigest()
    r = client.create(case_id, len(data), sha256=sha256)
    assert r.status_code == 201, r.text
    location = r.headers["Location"]

    assert client.patch(location, 0, data[:4 * MIB]).status_code == 204
    proxy.cut()  # the store dies while the upload is under way
    started = time.monotonic()
    r = client.patch(location, 4 * MIB, data[4 * MIB:])
    answered_in = time.monotonic() - started
    assert_unavailable(r, "storage_unavailable")
    # The offset of a finishing request is committed only with its registration, so the
    # upload still reports the last committed checkpoint and the client resends from there.
    r = client.head(location)
    assert r.status_code == 200, r.text
    committed = int(r.headers["Upload-Offset"])
    assert 0 < committed < len(data)
    assert r.headers["Evidence-Upload-Status"] != "completed"

    [item] = client.items(case_id)  # nothing half registered
    assert item["status"] == "receiving"
    assert (item["sha256"], item["sm3"], item["size"], item["stored_at"]) == (None,) * 4
    assert _registered(server, [item]) == []

    # while the store is still away, resending the rest meets the same clean outage
    assert_unavailable(client.patch(location, committed, data[committed:]), "storage_unavailable")

    proxy.restore()
    restored = time.monotonic()
    offset = int(client.head(location).headers["Upload-Offset"])  # the tus client's resume step
    r = client.patch(location, offset, data[offset:])
    recovered_in = time.monotonic() - restored
    assert r.status_code == 204, r.text
    assert r.headers["Upload-Offset"] == str(len(data))
    [item] = client.items(case_id)
    assert item["status"] == "stored" and item["sha256"] == sha256
    assert _registered(server, [item]) == [(item["id"], sha256)]
    bucket = server.env["EVIDENCE_S3__BUCKET"]
    assert _stored_sha256(s3_endpoint, bucket, sha256) == sha256
    assert not list((server.var_dir / "uploads").glob("*.part"))
    fault_report.record(error_answered_in_s=answered_in, recovered_in_s=recovered_in,
                        items=1, log_entries_added=1)


def test_a_hung_store_fails_fast_and_nothing_is_registered(
        server: LiveServer, proxy: TcpProxy, fault_report: FaultReport) -> None:
    client = Client(server, timeout=120)
    case_id = client.case("ENF-2026-S3H")
    data = os.urandom(2 * MIB)
    proxy.stall()
    started = time.monotonic()
    r = client.create(case_id, len(data), sha256=hashlib.sha256(data).hexdigest())
    assert r.status_code == 201, r.text
    r = client.patch(r.headers["Location"], 0, data)
    answered_in = time.monotonic() - started
    assert_unavailable(r, "storage_unavailable")
    assert answered_in < STALL_BUDGET_SECONDS, f"a hung store held the request {answered_in:.0f}s"
    [item] = client.items(case_id)
    assert item["status"] == "receiving" and item["sha256"] is None
    assert _registered(server, [item]) == []

    proxy.restore()
    restored = time.monotonic()
    second = client.upload(case_id, os.urandom(MIB), name="after.bin")
    fault_report.record(error_answered_in_s=answered_in,
                        recovered_in_s=time.monotonic() - restored)
    assert any(i["id"] == second and i["status"] == "stored" for i in client.items(case_id))
