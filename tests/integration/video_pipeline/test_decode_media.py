"""Decoding real files: exact frame lookup and draft decoding that keeps I-frames exact."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import psutil
import pytest

from tests.support import video_media as vm
from video_pipeline.decode import (
    frame_at,
    iter_frames,
    iter_window,
    iter_windows,
    window_bounds,
)
from video_pipeline.detector import FrameSample
from video_pipeline.errors import ToolError
from video_pipeline.probe import probe
from video_pipeline.scenes import StreamingCutDetector

pytestmark = pytest.mark.ffmpeg


@pytest.mark.parametrize("frame", [30, 41, 75, 299])
def test_frame_at_a_frames_own_time_is_that_frame(recorder_clip: vm.RecorderClip,
                                                   frame: int) -> None:
    """A key frame (30), a mid-GOP frame (41), a cut's first frame (75), the last frame:
    the exact-seek path gives the same picture as decoding the whole window around it."""
    info = probe(recorder_clip.path)
    time = frame / recorder_clip.fps
    got = frame_at(recorder_clip.path, info, time=time)
    window = list(iter_window(recorder_clip.path, info, t0=time - 0.1, t1=time + 0.1,
                              width=None))
    wanted = next(s for s in window if s.index == frame)
    assert (got.index, got.bgr.shape) == (frame, (360, 640, 3))
    # both full quality; only the YUV→BGR conversion differs (OpenCV's against swscale's)
    diff = np.abs(got.bgr.astype(np.int16) - wanted.bgr.astype(np.int16))
    assert float(diff.mean()) < 2.0


def test_frame_at_between_frames_is_the_nearest(recorder_clip: vm.RecorderClip) -> None:
    info = probe(recorder_clip.path)
    assert frame_at(recorder_clip.path, info, time=41.2 / 30).index == 41
    assert frame_at(recorder_clip.path, info, time=41.8 / 30).index == 42


def test_draft_frames_keep_i_frames_exact(recorder_clip: vm.RecorderClip) -> None:
    """``full`` mode's draft decode skips the loop filter on all but I-frames: those come out
    identical to a normal decode and are flagged, one per GOP (no scene-cut I-frames)."""
    info = probe(recorder_clip.path)
    normal = list(iter_frames(recorder_clip.path, info))
    draft = list(iter_frames(recorder_clip.path, info, draft=True))
    assert [s.index for s in draft] == [s.index for s in normal] == list(range(300))
    intra = [s.index for s in draft if s.intra]
    assert intra == list(range(0, 300, 30))
    for k in intra:
        assert np.array_equal(draft[k].bgr, normal[k].bgr)
    assert any(not np.array_equal(d.bgr, n.bgr) for d, n in zip(draft, normal, strict=True))


def test_windows_decoded_by_one_process_are_those_decoded_one_by_one(
        recorder_clip: vm.RecorderClip) -> None:
    """Three windows from key frames (one up to a cut's first frame, 75), decoded by one
    ffmpeg process: per window, the same frames, times, flags and pixels as its own draft
    decode, in window order, and no ffmpeg left behind."""
    info = probe(recorder_clip.path)
    spans = [(1.0, 1.5), (2.0, 2.5), (7.0, 7.4)]
    together = list(iter_windows(recorder_clip.path, info, spans=spans))
    assert [k for k, _ in together] == sorted(k for k, _ in together)
    for k, (t0, end) in enumerate(spans):
        got = [s for j, s in together if j == k]
        alone = list(iter_window(recorder_clip.path, info, t0=t0, t1=end, draft=True))
        assert [(s.index, s.time) for s in got] == [(s.index, s.time) for s in alone]
        assert [s.index for s in got] == list(range(round(t0 * 30), round(end * 30) + 1))
        for a, b in zip(got, alone, strict=True):
            assert np.array_equal(a.bgr, b.bgr)
    assert _ffmpeg_children() == []


def test_window_bounds_point_at_mid_gop_cuts_only(recorder_clip: vm.RecorderClip) -> None:
    """Packet sizes alone point at the mid-GOP cuts (frames 75 and 219: the first reference
    frame after each is coded afresh); the GOP that ends on the cut at a key frame (150)
    gives no guess, nor does the first (never sought to)."""
    info = probe(recorder_clip.path)
    bounds = window_bounds(recorder_clip.path, info,
                           [(float(k), float(k + 1)) for k in range(10)])
    assert (bounds[2], bounds[7]) == (2.5, 7.3)
    assert bounds[0] is None and bounds[4] is None


@pytest.fixture(scope="module")
def boundary_clip(media: Path) -> vm.RecorderClip:
    """320x180, 4 s at 30 fps, GOP 30: a cut on the key frame at 2 s and one a frame after
    the key frame at 3 s, where one-second chunks of a split decode begin."""
    out = media / "boundary.mp4"
    frames = vm.recorder_frames(width=320, height=180, fps=30, frame_count=120,
                                cut_frames=(60, 91), seed=3)
    vm.encode(frames, out, width=320, height=180, fps=30, options=vm.x264_options(gop=30))
    return vm.RecorderClip(path=out, width=320, height=180, fps=30, frame_count=120,
                           cut_frames=(60, 91))


def _cut_frames(samples: list[FrameSample]) -> list[int]:
    cutter = StreamingCutDetector(anchor_every=30)
    for sample in samples:
        cutter.push(sample)
    return [round(c.time * 30) for c in cutter.finish()]


@pytest.mark.parametrize("chunk_s", [1.0, 0.7, 0.5])
def test_split_decode_gives_the_frames_of_one_process(boundary_clip: vm.RecorderClip,
                                                      chunk_s: float) -> None:
    """Chunks of 1 s start on key frames (one at the cut on frame 60, one just before the cut
    on frame 91); 0.7 s and 0.5 s chunks (six, eight) start mid-GOP. Either way the frames are
    exactly those of one process: same count, times, flags and pixels; so are the cuts."""
    info = probe(boundary_clip.path)
    assert info.duration == 4.0  # so 1 s chunks start at 1, 2 and 3 s
    one = list(iter_frames(boundary_clip.path, info, draft=True))
    split = list(iter_frames(boundary_clip.path, info, draft=True, workers=2,
                             chunk_s=chunk_s))
    assert [s.index for s in one] == list(range(120))
    assert [(s.index, s.time, s.intra) for s in split] == [(s.index, s.time, s.intra)
                                                           for s in one]
    for a, b in zip(split, one, strict=True):
        assert np.array_equal(a.bgr, b.bgr) and np.array_equal(a.grey, b.grey)
    assert _cut_frames(split) == _cut_frames(one) == [60, 91]


def _ffmpeg_children() -> list[str]:
    """ffmpeg processes this test process started (the suite's own servers, such as the
    session's S3 server and chain node, are children too and do not count)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "ffmpeg" in child.name() or "ffmpeg" in " ".join(child.cmdline()[:1]):
                found.append(child.name())
        except psutil.NoSuchProcess:
            continue
    return found


def test_split_decode_stopped_early_leaves_no_ffmpeg(boundary_clip: vm.RecorderClip) -> None:
    """A consumer that stops after a few frames stops every ffmpeg process of the split."""
    info = probe(boundary_clip.path)
    frames = iter_frames(boundary_clip.path, info, workers=2, chunk_s=1.0)
    assert [next(frames).index for _ in range(5)] == [0, 1, 2, 3, 4]
    frames.close()  # type: ignore[attr-defined]
    assert _ffmpeg_children() == []


def test_split_decode_raises_what_ffmpeg_reports(boundary_clip: vm.RecorderClip,
                                                 tmp_path: Path) -> None:
    """A chunk whose ffmpeg fails (here: the file vanished after probing) raises in the
    consumer, as a single process would, and leaves no ffmpeg behind."""
    gone = tmp_path / "gone.mp4"
    shutil.copyfile(boundary_clip.path, gone)
    info = probe(gone)
    gone.unlink()
    for kwargs in ({}, {"workers": 2, "chunk_s": 1.0}):
        with pytest.raises(ToolError):
            list(iter_frames(gone, info, **kwargs))  # type: ignore[arg-type]
    assert _ffmpeg_children() == []
