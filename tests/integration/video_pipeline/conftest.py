"""Test media for the ffmpeg-backed tests, generated once per session (a few seconds each)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import video_media as vm
from video_pipeline.analyze import AnalysisResult, analyze
from video_pipeline.options import AnalyzeOptions, Mark

CREATED = "2026-03-01T09:30:00Z"
RECORDER_TAGS = {"creation_time": CREATED, "device_serial": "BWC-0042",
                 "officer_id": "7731", "location": "+48.8577+002.2950/"}


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("video-media")


@pytest.fixture(scope="session")
def recorder_clip(media: Path) -> vm.RecorderClip:
    """640x360, 10 s at 30 fps, GOP 30 (1 s), B-frames, cuts mid-GOP and one on a key frame."""
    out = media / "recorder.mp4"
    frames = vm.recorder_frames(width=640, height=360, fps=30, frame_count=300,
                                cut_frames=(75, 150, 219), seed=5)
    options = vm.x264_options(gop=30)
    options["movflags"] = "+faststart+use_metadata_tags"
    vm.encode(frames, out, width=640, height=360, fps=30, options=options,
              metadata=RECORDER_TAGS)
    return vm.RecorderClip(path=out, width=640, height=360, fps=30, frame_count=300,
                           cut_frames=(75, 150, 219))


@pytest.fixture(scope="session")
def analysed(recorder_clip: vm.RecorderClip,
             tmp_path_factory: pytest.TempPathFactory) -> AnalysisResult:
    """The recorder clip analysed in fast mode with two officer marks."""
    out = tmp_path_factory.mktemp("analysis-fast")
    options = AnalyzeOptions(marks=(Mark(4.0, "stop"), Mark(8.5, "")))
    return analyze(recorder_clip.path, out, options=options)


@pytest.fixture(scope="session")
def rotated_clip(media: Path) -> Path:
    """A landscape marker clip (white block top-left) tagged to display rotated by 90°."""
    plain, rotated = media / "marker.mp4", media / "marker_rotated.mp4"
    vm.encode(vm.marker_frames(width=320, height=180, fps=30, seconds=2), plain, width=320,
              height=180, fps=30, options=vm.x264_options(gop=30))
    vm.remux(plain, rotated, **{"metadata:s:v:0": "rotate=90"})
    return rotated
