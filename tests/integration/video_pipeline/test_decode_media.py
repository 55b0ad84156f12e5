"""Decoding real files: exact frame lookup and draft decoding that keeps I-frames exact."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support import video_media as vm
from video_pipeline.decode import frame_at, iter_frames, iter_window
from video_pipeline.probe import probe

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
