"""How many cut windows share one ffmpeg process: fewer as frames grow, so memory stays bounded."""

from __future__ import annotations

import pytest

from video_pipeline.probe import MediaInfo, StreamInfo, VideoInfo
from video_pipeline.scan import batch_size


def _info(width: int, height: int) -> MediaInfo:
    video = VideoInfo(index=0, codec="h264", profile="High", coded_width=width,
                      coded_height=height, width=width, height=height, rotation=0, fps=30.0,
                      r_frame_rate="30/1", avg_frame_rate="30/1", time_base="1/15360",
                      start_time=0.0, frame_count=300, vfr=False, vfr_basis="test")
    return MediaInfo(path="/x/clip.mp4", size=1234, container="mov,mp4", duration=10.0,
                     creation_time=None, video=video,
                     streams=(StreamInfo(0, "video", "h264", True),))


@pytest.mark.parametrize(("width", "height", "windows"), [
    (640, 360, 4), (1280, 720, 4), (1920, 1080, 4), (2560, 1440, 3), (3840, 2160, 2),
    (7680, 4320, 1)])
def test_windows_per_process_shrink_with_the_frame(width: int, height: int,
                                                   windows: int) -> None:
    assert batch_size(_info(width, height)) == windows
