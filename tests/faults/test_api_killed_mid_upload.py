"""``kill -9`` the API in the middle of a 1 GB upload, restart it, and let the real uploader
(``evidence upload``, tus with retries) resume.

The stored item must carry the SHA-256 and SM3 of the local file, exactly one item and one
registration must exist, and no upload record, spool file or temporary object may be left.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from evidence_service.adapters.storage import LAYOUT_FILE
from tests.faults.common import Client, query, registrations
from tests.faults.conftest import FaultReport
from tests.support.cli_upload import MIB, cli_upload, wait_for_spool, write_large_file
from tests.support.live import LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.faults]
SIZE = 1 << 30


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(var_dir=tmp_path / "var", env={
        "EVIDENCE_LEDGER__MODE": "off", "EVIDENCE_ANALYSIS__ENABLED": "false",
        "EVIDENCE_INTEGRITY__ENABLED": "false"})
    live.start()
    yield live
    live.stop()
    shutil.rmtree(tmp_path, ignore_errors=True)  # 2 GB: not kept with pytest's last runs


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(8 * MIB):
            digest.update(block)
    return digest.hexdigest()


class PeakRss:
    """Samples the server's resident memory while an upload runs (it must stay flat)."""

    def __init__(self, server: LiveServer) -> None:
        self.server, self.peak, self._stop = server, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            process = self.server.process
            try:
                if process is not None:
                    self.peak = max(self.peak, psutil.Process(process.pid).memory_info().rss)
            except psutil.Error:
                pass  # between the kill and the restart

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(5)
        return self.peak


def test_api_killed_mid_1gb_upload_resumes_to_identical_hashes(
        server: LiveServer, tmp_path: Path, fault_report: FaultReport) -> None:
    client = Client(server)
    case_id = client.case("ENF-2026-1G")
    source = tmp_path / "recorder-day.bin"
    sha256, sm3 = write_large_file(source, SIZE)
    token = client.auth["Authorization"].removeprefix("Bearer ")

    rss = PeakRss(server)
    uploader = cli_upload(server, token, tmp_path / "cli-state", str(source), "--case", case_id,
                          "--chunk-mb", "32")
    try:
        spooled = wait_for_spool(server, 400 * MIB, timeout=120)
        server.kill()  # SIGKILL: no shutdown hook runs
        killed = time.monotonic()
        [receiving] = query(server, "SELECT status, \"offset\" FROM uploads")
        server.start()
        restarted_in = time.monotonic() - killed
        out, _ = uploader.communicate(timeout=300)
    finally:
        if uploader.poll() is None:
            uploader.kill()
    completed_in = time.monotonic() - killed
    peak_rss = rss.stop()
    assert uploader.returncode == 0, out.decode(errors="replace")[-2000:] + server.log_tail()
    assert receiving[0] == "receiving" and 0 < receiving[1] < SIZE

    [item] = client.items(case_id)  # exactly one item
    assert (item["sha256"], item["sm3"], item["size"]) == (sha256, sm3, SIZE)
    assert item["status"] == "stored"
    assert [(i, s) for _, i, s in registrations(server)] == [(item["id"], sha256)]
    assert query(server, "SELECT status, \"offset\", length FROM uploads") == [
        ("completed", SIZE, SIZE)]
    assert list((server.var_dir / "uploads").iterdir()) == []  # no spool file left
    objects = [p for p in (server.var_dir / "objects").rglob("*")
               if p.is_file() and p.name != LAYOUT_FILE]
    assert [p.name for p in objects] == [sha256]  # and no temporary object
    assert _sha256_of(objects[0]) == sha256
    assert peak_rss < 512 * MIB, f"server memory grew to {peak_rss // MIB} MiB"
    fault_report.record(size_bytes=SIZE, killed_at_spool_bytes=spooled,
                        committed_offset_at_kill=receiving[1], api_back_in_s=restarted_in,
                        upload_completed_after_kill_s=completed_in,
                        server_peak_rss_mib=peak_rss // MIB)
