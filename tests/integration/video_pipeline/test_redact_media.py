"""Redaction on a generated clip with a face: blurred, re-encoded, hash-linked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import video_media as vm
from video_pipeline import ffmpeg as ff
from video_pipeline.analyze import sha256_file
from video_pipeline.cli import main
from video_pipeline.decode import iter_frames
from video_pipeline.probe import probe
from video_pipeline.redact import FaceFinder, redact

pytestmark = pytest.mark.ffmpeg


@pytest.fixture(scope="module")
def face_clip(media: Path) -> Path:
    out = media / "face.mp4"
    vm.encode(vm.face_frames(width=640, height=360, fps=15, seconds=2.0), out, width=640,
              height=360, fps=15, options=vm.x264_options(gop=15))
    return out


def _faces_per_frame(path: Path) -> list[int]:
    info, finder = probe(path), FaceFinder()
    return [len(finder.find(s.grey)) for s in iter_frames(path, info, width=640)]


def test_faces_are_blurred_and_the_copy_names_its_source(face_clip: Path,
                                                         tmp_path: Path) -> None:
    assert min(_faces_per_frame(face_clip)) >= 1  # the test face is findable before
    out = tmp_path / "disclosure.mp4"
    result = redact(face_clip, out)
    source_sha = sha256_file(face_clip)
    assert result.source_sha256 == source_sha and result.output_sha256 == sha256_file(out)
    assert result.frames == 30 and result.frames_with_faces == 30
    assert sum(_faces_per_frame(out)) == 0
    report = json.loads(result.report.read_text())
    assert report["source"]["sha256"] == source_sha
    assert report["output"]["sha256"] == result.output_sha256
    assert report["review_required"] is True
    info = probe(out)
    assert info.tags.get("comment") == f"redacted copy of sha256:{source_sha}"
    ff.run_null_decode(out)


def test_cli_redact_uses_the_given_source_hash(face_clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "copy.mp4"
    assert main(["redact", str(face_clip), "--out", str(out), "--source-sha256",
                 "ab" * 32]) == 0
    report = json.loads((tmp_path / "copy.mp4.json").read_text())
    assert report["source"]["sha256"] == "ab" * 32
