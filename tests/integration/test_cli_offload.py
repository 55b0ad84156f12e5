"""``evidence offload`` against a real ``evidence serve``: a recorder card in tar batches.

Small files go in batches (``POST /cases/{id}/batches``), the one above ``--batch-max-mb``
through tus. What the service registered is checked through its API against ``hashlib`` of
the local files; a rerun must register nothing twice.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tarfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from evidence_service.cli.offload import BatchEntry, batch_id, collect, write_archive
from tests.support.cli_upload import create_case, list_items
from tests.support.live import EVIDENCE, LiveServer

pytestmark = pytest.mark.slow
MIB = 1 << 20


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One service for the tests that leave it running (each uses a case of its own)."""
    live = LiveServer(var_dir=tmp_path_factory.mktemp("offload") / "var")
    live.start()
    yield live
    live.stop()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(var_dir=tmp_path / "var")
    live.start()
    yield live
    live.stop()


def _offload(server: LiveServer, token: str, state: Path, *args: str,
             ) -> subprocess.Popen[bytes]:
    env = {**os.environ, "EVIDENCE_SERVER": server.url, "EVIDENCE_TOKEN": token,
           "EVIDENCE_CLI_STATE": str(state), "COLUMNS": "200"}
    return subprocess.Popen([EVIDENCE, "offload", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


def _run(server: LiveServer, token: str, state: Path, *args: str) -> tuple[int, str]:
    proc = _offload(server, token, state, *args)
    out, _ = proc.communicate(timeout=120)
    return proc.returncode, out.decode(errors="replace")


def _card(root: Path) -> dict[str, bytes]:
    """A recorder card: nested folders, photos, a clip above 1 MiB, a note, an empty file,
    a copy of a photo under another name, plus a hidden file and a symlink to skip."""
    files = {f"DCIM/100MEDIA/IMG_{n:04d}.JPG": os.urandom(1000 + n * 37) for n in range(7)}
    files |= {f"DCIM/101MEDIA/IMG_{n:04d}.JPG": os.urandom(2000 + n) for n in range(3)}
    files["DCIM/100MEDIA/MOV_0001.MP4"] = os.urandom(MIB + MIB // 2)
    files["DCIM/101MEDIA/COPY.JPG"] = files["DCIM/100MEDIA/IMG_0002.JPG"]
    files["MISC/notes.txt"] = "巡查记录 09:30".encode()
    files["MISC/empty.dat"] = b""
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    (root / ".Trashes").mkdir()
    (root / ".Trashes" / "old.JPG").write_bytes(b"deleted photo")
    (root / "DCIM" / ".thumb.db").write_bytes(b"thumbnails")
    (root / "MISC" / "latest.JPG").symlink_to(root / "DCIM/100MEDIA/IMG_0001.JPG")
    return files


def test_a_card_is_offloaded_once_with_its_hashes_even_when_run_twice(
        shared: LiveServer, tmp_path: Path) -> None:
    server = shared
    token = server.token("enf-officer")
    case_id = create_case(server, token, "ENF-2026-070")
    card = tmp_path / "card"
    files = _card(card)
    state = tmp_path / "cli-state"
    args = (str(card), "--case", "ENF-2026-070", "--batch-max-mb", "1", "--batch-files", "5",
            "--recorder-id", "DSJ-0042", "--badge", "310115", "--tag", "party=某餐饮店",
            "--captured-at", "2026-11-20T09:30:00+08:00")

    code, out = _run(server, token, state, *args)
    assert code == 0, out + server.log_tail()
    for skipped in (".Trashes", "DCIM/.thumb.db", "MISC/latest.JPG"):
        assert "warning: skipped" in out and skipped in out, out
    assert "(batches: 3, resumable: 1)" in out, out  # 13 small files in batches of at most 5
    assert "14 registered now, 0 already registered" in out, out

    items = list_items(server, token, case_id)
    registered = Counter((i["original_filename"], i["sha256"], i["size"]) for i in items)
    expected = Counter((name.rsplit("/", 1)[-1], hashlib.sha256(data).hexdigest(), len(data))
                       for name, data in files.items())
    assert registered == expected
    assert {i["status"] for i in items} <= {"stored", "anchored"}
    by_name = {str(i["original_filename"]): i for i in items}
    assert by_name["IMG_0003.JPG"]["kind"] == "audio_visual"
    assert by_name["MOV_0001.MP4"]["media_type"] == "video/mp4"
    assert by_name["notes.txt"]["kind"] == "documentary"
    assert by_name["empty.dat"]["flags"] == ["empty_file"]
    assert by_name["COPY.JPG"]["flags"] == ["duplicate_content"]
    for item in (by_name["IMG_0003.JPG"], by_name["MOV_0001.MP4"]):  # batch and tus alike
        assert item["capture"] == {"recorder_id": "DSJ-0042", "badge_number": "310115",
                                   "captured_at": "2026-11-20T09:30:00+08:00",
                                   "location": None}, item
        assert item["tags"]["party"] == "某餐饮店"  # type: ignore[index]

    code, again = _run(server, token, state, *args)
    assert code == 0, again
    assert again.count("already registered") == 4 + 1, again  # 3 batches + summary + 1 file
    assert "0 registered now, 14 already registered" in again, again
    assert len(list_items(server, token, case_id)) == len(items), "a rerun registered duplicates"
    batch_ids = [line.split("batch_id=")[1].split()[0] for line in out.splitlines()
                 if "batch_id=" in line]
    assert len(batch_ids) == 3 and all(b in again for b in batch_ids), again


def test_a_refused_batch_stops_with_the_servers_message(shared: LiveServer,
                                                        tmp_path: Path) -> None:
    server = shared
    token = server.token("enf-officer")
    case_id = create_case(server, token, "ENF-2026-071")
    card = tmp_path / "card"
    (card / "DCIM").mkdir(parents=True)
    for n in range(3):
        (card / "DCIM" / f"IMG_{n}.JPG").write_bytes(os.urandom(500))
    state = tmp_path / "state"

    code, out = _run(server, token, state, str(card), "--case", str(uuid.uuid4()))
    assert code == 1, out
    assert "server answered 404: case not found" in out, out
    assert "Traceback" not in out and "retrying" not in out, out  # a 4xx is not retried

    code, out = _run(server, token, state, str(card), "--case", case_id,
                     "--classification", "secret")
    assert code == 1, out
    assert "server answered 400" in out and "unknown classification 'secret'" in out, out
    assert list_items(server, token, case_id) == []


def test_a_server_that_is_down_or_answers_503_is_retried(server: LiveServer,
                                                          tmp_path: Path) -> None:
    token = server.token("enf-officer")
    case_id = create_case(server, token, "ENF-2026-072")
    card = tmp_path / "card"
    card.mkdir()
    for n in range(4):
        (card / f"IMG_{n}.JPG").write_bytes(os.urandom(800))
    server.kill()
    client = _offload(server, token, tmp_path / "state", str(card), "--case", case_id)
    time.sleep(2)  # the first attempts meet a closed port
    server.start()
    out, _ = client.communicate(timeout=120)
    text = out.decode(errors="replace")
    assert client.returncode == 0, text + server.log_tail()
    assert "retrying in 1.0s (Connection refused)" in text, text
    assert len(list_items(server, token, case_id)) == 4

    # the object store fails (a file where its directory should be): 503 with Retry-After
    objects = server.var_dir / "objects" / "sha256"
    aside = objects.with_name("sha256.aside")
    objects.mkdir(exist_ok=True)  # the first photos were small: packed, not files
    objects.rename(aside)
    objects.write_bytes(b"")
    (card / "IMG_9.JPG").write_bytes(os.urandom(100_000))  # stored as a file, not packed
    client = _offload(server, token, tmp_path / "state", str(card), "--case", case_id)
    assert client.stdout is not None
    seen = b""
    while b"retrying" not in seen and (line := client.stdout.readline()):
        seen += line
    objects.unlink()
    aside.rename(objects)
    out, _ = client.communicate(timeout=120)
    text = (seen + out).decode(errors="replace")
    assert client.returncode == 0, text + server.log_tail()
    assert "retrying in 5.0s (server answered 503: " in text, text  # the server's Retry-After
    assert "5 files" in text and "registered" in text, text
    # the card gained a file, so this is another batch: its four earlier photos are registered
    # again, flagged as copies of content the department already holds
    items = list_items(server, token, case_id)
    assert len(items) == 4 + 5
    assert sum(i["flags"] == ["duplicate_content"] for i in items) == 4


def test_the_archive_declares_each_members_hash_and_the_batch_id_is_stable(
        tmp_path: Path) -> None:
    root = tmp_path / "card"
    long_name = "现场照片_" * 12 + ".jpg"  # past ustar's 100 bytes: the path goes in pax too
    data = {f"a/{long_name}": os.urandom(3000), "a/b/clip.mp4": os.urandom(513), "z.txt": b""}
    for name, body in data.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(body)
    warnings: list[str] = []
    walk = collect([root], warnings.append)
    assert [f.name for f in walk.files] == sorted(data) and warnings == []
    archive = tmp_path / "batch.tar"
    with archive.open("w+b") as out:
        entries = write_archive(out, walk.files, kind=None, on_read=lambda n: None)
    with tarfile.open(archive, mode="r:") as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == sorted(data)
        for m in members:
            body = tar.extractfile(m).read()  # type: ignore[union-attr]
            assert body == data[m.name]
            assert m.pax_headers["EVIDENCE.sha256"] == hashlib.sha256(body).hexdigest()
    assert members[1].pax_headers["EVIDENCE.kind"] == "audio_visual"
    assert members[2].pax_headers["EVIDENCE.filetype"] == "text/plain"

    case = str(uuid.uuid4())
    same = batch_id(case, list(reversed(entries)))
    assert batch_id(case, entries) == same  # order does not matter
    assert batch_id(str(uuid.uuid4()), entries) != same  # another case is another batch
    touched = [BatchEntry(e.name, e.size, e.mtime_ns + 1, e.sha256) for e in entries]
    assert batch_id(case, touched) != same
