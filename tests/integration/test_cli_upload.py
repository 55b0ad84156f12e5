"""``evidence upload`` against a real ``evidence serve``: kill the client, kill the server.

The bytes the service stored are checked against ``hashlib`` of the local file.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from evidence_service.adapters.storage import FilesystemObjectStore
from evidence_service.domain.rules import content_key
from tests.support.cli_upload import (
    cli_upload,
    create_case,
    digests,
    list_items,
    wait_for_spool,
)
from tests.support.live import LiveServer

pytestmark = pytest.mark.slow
MIB = 1 << 20


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(var_dir=tmp_path / "var")
    live.start()
    yield live
    live.stop()


def _make_file(path: Path, size: int) -> Path:
    with path.open("wb") as fh:
        for _ in range(size // MIB):
            fh.write(os.urandom(MIB))
        fh.write(os.urandom(size % MIB))
    return path


def _stored_sha256(server: LiveServer, sha256: str) -> str:
    path = FilesystemObjectStore(server.var_dir / "objects").object_path(content_key(sha256))
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(4 * MIB):
            digest.update(block)
    return digest.hexdigest()


def test_client_killed_mid_upload_resumes_to_identical_bytes(server: LiveServer,
                                                             tmp_path: Path) -> None:
    token = server.token("enf-officer")
    case_id = create_case(server, token, "ENF-2026-050")
    source = _make_file(tmp_path / "recorder-shift.mp4", 50 * MIB)
    sha256, sm3 = digests(source)
    state = tmp_path / "cli-state"

    first = cli_upload(server, token, state, str(source), "--case", "ENF-2026-050",
                 "--chunk-mb", "1", "--limit-rate", "8M", "--recorder-id", "DSJ-7")
    wait_for_spool(server, 12 * MIB)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    receiving = list_items(server, token, case_id)
    assert [i["status"] for i in receiving] == ["receiving"]

    second = cli_upload(server, token, state, str(source), "--case", case_id, "--chunk-mb", "4")
    out, _ = second.communicate(timeout=120)
    assert second.returncode == 0, out.decode(errors="replace")
    items = list_items(server, token, case_id)
    assert len(items) == 1, "the resumed upload must not create a second item"
    item = items[0]
    assert item["status"] in ("stored", "anchored")
    assert (item["sha256"], item["sm3"], item["size"]) == (sha256, sm3, 50 * MIB)
    assert item["capture"] == {"recorder_id": "DSJ-7", "badge_number": None,  # type: ignore[comparison-overlap]
                               "captured_at": None, "location": None}
    assert _stored_sha256(server, sha256) == sha256
    assert not list((server.var_dir / "uploads").glob("*.part"))


def test_server_killed_mid_upload_client_retries_and_completes(server: LiveServer,
                                                               tmp_path: Path) -> None:
    token = server.token("enf-officer")
    case_id = create_case(server, token, "ENF-2026-051")
    files = [_make_file(tmp_path / f"cam{i}.mp4", (10 + i) * MIB) for i in range(2)]
    client = cli_upload(server, token, tmp_path / "state", *map(str, files), "--case", case_id,
                  "--chunk-mb", "1", "--limit-rate", "4M", "--parallel", "2")
    wait_for_spool(server, 3 * MIB)
    server.kill()
    time.sleep(1)
    server.start()
    out, _ = client.communicate(timeout=180)
    assert client.returncode == 0, out.decode(errors="replace") + server.log_tail()
    stored = {i["original_filename"]: i for i in list_items(server, token, case_id)}
    assert set(stored) == {"cam0.mp4", "cam1.mp4"}
    for path in files:
        sha256, sm3 = digests(path)
        assert stored[path.name]["sha256"] == sha256
        assert stored[path.name]["sm3"] == sm3
        assert stored[path.name]["status"] in ("stored", "anchored")
