"""``write_case_package``: streams, refuses altered bytes, writes an escaped Chinese report."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from evidence_service.domain.errors import DigestMismatch, InvalidInput
from evidence_service.services.packages import PackageContentMismatch, write_case_package
from evidence_verify import safe_name, verify_package
from tests.support.case_packages import CASE, EXPORTED_AT, EXPORTER, PackageLog, item_id

CLIP = b"bodycam clip\n" * 500


def make_log() -> PackageLog:
    log = PackageLog()
    log.add_item("<script>alert(1)</script>.mp4", CLIP)
    log.add_item("现场照片.jpg", b"photo")
    log.add_event("custody.viewed", 0, "查看 <b>原件</b>")
    return log


class _PipeOnly:
    """An output with ``write`` and ``flush`` only: no tell, no seek (like a socket)."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def write(self, data: bytes) -> int:
        self.buffer += data
        return len(data)

    def flush(self) -> None:
        pass


def test_altered_bytes_are_refused_and_the_zip_is_unusable() -> None:
    log = make_log()
    out = io.BytesIO()
    altered = {0: CLIP[:-1] + b"X"}
    with pytest.raises(PackageContentMismatch,
                       match=f"the stored bytes of item {item_id(0)} no longer match its "
                             f"recorded digests") as info:
        write_case_package(out, case=CASE, items=log.package_items(altered),
                           events=log.package_events(), chain=None, exported_by=EXPORTER,
                           exported_at=EXPORTED_AT)
    assert isinstance(info.value, DigestMismatch)
    assert info.value.subject == item_id(0)
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(out.getvalue()))


def test_longer_bytes_are_refused() -> None:
    log = make_log()
    with pytest.raises(PackageContentMismatch, match="more than the recorded 6500 bytes"):
        write_case_package(io.BytesIO(), case=CASE, items=log.package_items({0: CLIP + b"!"}),
                           events=[], chain=None, exported_by=EXPORTER,
                           exported_at=EXPORTED_AT)


def test_a_proof_for_other_bytes_is_refused() -> None:
    log = make_log()
    items = log.package_items()
    items[0] = replace(items[0], proof=items[1].proof)
    with pytest.raises(InvalidInput, match=f"the proof bundle of {item_id(0)} is for other "
                                           f"bytes"):
        write_case_package(io.BytesIO(), case=CASE, items=items, events=[], chain=None,
                           exported_by=EXPORTER, exported_at=EXPORTED_AT)


def test_no_items_is_refused() -> None:
    with pytest.raises(InvalidInput, match="at least one item"):
        write_case_package(io.BytesIO(), case=CASE, items=[], events=[], chain=None,
                           exported_by=EXPORTER, exported_at=EXPORTED_AT)


def test_writes_to_a_non_seekable_stream(tmp_path: Path) -> None:
    log = make_log()
    out = _PipeOnly()
    summary = write_case_package(out, case=CASE, items=log.package_items(),  # type: ignore[arg-type]
                                 events=log.package_events(), chain=None, exported_by=EXPORTER,
                                 exported_at=EXPORTED_AT)
    path = tmp_path / "case.zip"
    path.write_bytes(bytes(out.buffer))
    assert summary.bytes_written == len(out.buffer)
    assert verify_package(path).verdict == "pending"
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert archive.namelist()[-1] == "manifest.json"
    assert manifest["files"] == summary.files


def test_reads_in_bounded_blocks() -> None:
    """The builder never asks for a whole file: each read is at most 1 MiB."""
    sizes: list[int] = []

    class Recording(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            sizes.append(-1 if size is None else size)
            return super().read(size)

    log = PackageLog()
    content = bytes(range(256)) * 10_000  # 2.5 MB
    log.add_item("big.bin", content)
    items = log.package_items()

    @contextmanager
    def open_bytes() -> Iterator[BinaryIO]:
        yield Recording(content)

    items[0] = replace(items[0], open_bytes=open_bytes)
    write_case_package(io.BytesIO(), case=CASE, items=items, events=[], chain=None,
                       exported_by=EXPORTER, exported_at=EXPORTED_AT)
    assert sizes and all(0 < size <= 1 << 20 for size in sizes)


def _report(tmp_path: Path) -> tuple[str, dict[str, Any]]:
    path = tmp_path / "case.zip"
    make_log().write(path)
    with zipfile.ZipFile(path) as archive:
        return (archive.read("report.html").decode("utf-8"),
                json.loads(archive.read("manifest.json")))


def test_report_html_is_chinese_and_escaped(tmp_path: Path) -> None:
    html, manifest = _report(tmp_path)
    for heading in ("<h1>案件证据包核验报告</h1>", "<h2>案件信息</h2>", "<h2>证物清单</h2>",
                    "<h2>保管记录</h2>", "<h2>独立核验方法</h2>"):
        assert heading in html
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.mp4" in html
    assert "查看 &lt;b&gt;原件&lt;/b&gt;" in html
    assert "evidence verify-package case.zip" in html
    assert CASE.case_number in html and manifest["items"][0]["sha256"] in html
    assert "待锚定" in html  # no anchors in this log
    assert "http://" not in html.replace("http://节点地址", "")  # no external assets


def test_member_names_are_safe(tmp_path: Path) -> None:
    _, manifest = _report(tmp_path)
    assert manifest["items"][0]["file"] == f"files/{item_id(0)}/script>.mp4"
    assert manifest["items"][0]["original_filename"] == "<script>alert(1)</script>.mp4"
    assert manifest["items"][1]["file"] == f"files/{item_id(1)}/现场照片.jpg"


@pytest.mark.parametrize(("original", "expected"), [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\x\\clip.mp4", "clip.mp4"),
    ("clip\x00\x1b.mp4", "clip.mp4"),
    ("evil\u202egnp.exe", "evilgnp.exe"),
    ("..", "ITEM"),
    ("/", "ITEM"),
    ("  . ", "ITEM"),
    ("a" * 300, "a" * 200),
])
def test_safe_name(original: str, expected: str) -> None:
    assert safe_name(original, "ITEM") == expected
