"""Probing real files: facts, recorder metadata, rotation, VFR, and every bad-input error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import video_media as vm
from video_pipeline import ffmpeg as ff
from video_pipeline.decode import frame_at
from video_pipeline.errors import (
    CorruptMedia,
    EmptyMedia,
    MediaLimitExceeded,
    NotMedia,
    NoVideoStream,
)
from video_pipeline.probe import ProbeLimits, probe

pytestmark = pytest.mark.ffmpeg


def test_recorder_clip_facts_and_metadata(recorder_clip: vm.RecorderClip) -> None:
    info = probe(recorder_clip.path)
    v = info.video
    assert (v.codec, v.profile, v.width, v.height, v.rotation) == ("h264", "High", 640, 360, 0)
    assert v.fps == 30.0 and v.vfr is False and v.frame_count == 300
    assert info.duration == pytest.approx(10.0, abs=0.05)
    assert info.creation_time is not None and info.creation_time.isoformat().startswith(
        "2026-03-01T09:30:00")
    assert info.recorder == {"device_serial": "BWC-0042", "officer_id": "7731",
                             "location": "+48.8577+002.2950/"}
    assert [s.kind for s in info.streams] == ["video"]


def test_rotated_phone_footage_is_upright(rotated_clip: Path) -> None:
    info = probe(rotated_clip)
    assert (info.video.rotation, info.video.width, info.video.height) == (90, 180, 320)
    grey = frame_at(rotated_clip, info, time=0.5).grey
    assert grey.shape == (320, 180)
    # ffmpeg's display matrix says 90° counter-clockwise: the top-left block ends bottom-left
    assert grey[-40:, :22].mean() > 200 and grey[:40, :22].mean() < 100


def test_variable_frame_rate_is_reported(media: Path) -> None:
    clip = media / "vfr.mp4"
    vm.vfr_clip(clip)
    video = probe(clip).video
    assert video.vfr is True
    assert video.frame_interval_min is not None and video.frame_interval_max is not None
    assert video.frame_interval_max > 1.5 * video.frame_interval_min
    assert "intervals differ" in video.vfr_basis


def test_without_ffprobe_the_banner_gives_the_same_facts(
        recorder_clip: vm.RecorderClip, rotated_clip: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = ff.find_tools()
    monkeypatch.setattr(ff, "find_tools", lambda: ff.Tools(real.ffmpeg, None, "test"))
    info = probe(recorder_clip.path)
    assert info.probed_with == "ffmpeg-banner"
    assert (info.video.width, info.video.height, info.video.fps) == (640, 360, 30.0)
    assert info.video.vfr is False and info.recorder["device_serial"] == "BWC-0042"
    assert probe(rotated_clip).video.rotation == 90


def test_zero_length_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(EmptyMedia, match="empty"):
        probe(empty)


def test_not_media(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("officer notes, not a video\n" * 50)
    with pytest.raises(NotMedia, match="not a media file"):
        probe(text)


def test_audio_only(media: Path) -> None:
    audio = media / "audio.m4a"
    vm.lavfi(audio, "sine=frequency=440", seconds=2.0)
    with pytest.raises(NoVideoStream, match="#0 audio aac"):
        probe(audio)


def test_truncated_without_index(recorder_clip: vm.RecorderClip, tmp_path: Path) -> None:
    """moov at the end (no faststart) and the end cut off: no index at all."""
    plain = tmp_path / "plain.mp4"
    vm.remux(recorder_clip.path, plain, movflags="-faststart")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(plain.read_bytes()[: plain.stat().st_size // 2])
    with pytest.raises(CorruptMedia, match="truncated"):
        probe(cut)


def test_truncated_with_index_in_front(recorder_clip: vm.RecorderClip, tmp_path: Path) -> None:
    cut = tmp_path / "cut_faststart.mp4"
    cut.write_bytes(recorder_clip.path.read_bytes()[: recorder_clip.path.stat().st_size * 6 // 10])
    with pytest.raises(CorruptMedia, match="truncated"):
        probe(cut)


def test_absurd_dimensions_and_duration(recorder_clip: vm.RecorderClip) -> None:
    with pytest.raises(MediaLimitExceeded, match="frame size 640x360"):
        probe(recorder_clip.path, limits=ProbeLimits(max_side=320))
    with pytest.raises(MediaLimitExceeded, match="duration"):
        probe(recorder_clip.path, limits=ProbeLimits(max_duration=5.0))
    with pytest.raises(MediaLimitExceeded, match="frame rate"):
        probe(recorder_clip.path, limits=ProbeLimits(max_fps=25.0))


def test_damaged_in_the_middle(recorder_clip: vm.RecorderClip, tmp_path: Path) -> None:
    """The index is intact but a third of the data is zeros: decoding must refuse it."""
    from video_pipeline.analyze import analyze

    data = bytearray(recorder_clip.path.read_bytes())
    third = len(data) // 3
    data[third: 2 * third] = bytes(third)
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    with pytest.raises(CorruptMedia, match="damaged"):
        analyze(damaged, tmp_path / "out")
    assert not (tmp_path / "out" / "timeline.json").exists()
