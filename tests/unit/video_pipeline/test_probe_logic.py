"""Probe logic that needs no ffmpeg: the ``ffmpeg -i`` banner parser and VFR judgement."""

from __future__ import annotations

from video_pipeline.probe import judge_vfr
from video_pipeline.probe_banner import parse_banner

# ffmpeg prints these long lines as they are
# ruff: noqa: E501

BANNER = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'phone.mp4':
  Metadata:
    major_brand     : isom
    creation_time   : 2024-05-01T10:20:30.000000Z
    com.apple.quicktime.location.ISO6709: +48.8577+002.2950+030.000/
  Duration: 00:01:02.50, start: 0.000000, bitrate: 372 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 1920x1080 [SAR 1:1 DAR 16:9], 8000 kb/s, 29.97 fps, 29.97 tbr, 90k tbn (default)
    Metadata:
      handler_name    : VideoHandler
    Side data:
      displaymatrix: rotation of -90.00 degrees
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, stereo, fltp, 128 kb/s (default)
  Stream #0:2[0x3](und): Data: none (tmcd / 0x64636D74)
Stream mapping:
  Stream #0:0 -> #0:0 (h264 (native) -> wrapped_avframe (native))
"""


def test_banner_gives_ffprobe_shaped_facts() -> None:
    raw = parse_banner(BANNER)
    assert raw["format"]["format_name"] == "mov,mp4,m4a,3gp,3g2,mj2"
    assert float(raw["format"]["duration"]) == 62.5
    assert raw["format"]["tags"]["creation_time"].startswith("2024-05-01T10:20:30")
    video, audio, data = raw["streams"]
    assert (video["width"], video["height"], video["codec_name"]) == (1920, 1080, "h264")
    assert video["time_base"] == "1/90000"
    assert video["side_data_list"] == [{"rotation": -90.0}]
    assert abs(eval(video["avg_frame_rate"]) - 29.97) < 0.01
    assert (audio["codec_type"], data["codec_type"], data["codec_name"]) == (
        "audio", "data", "none")


def test_constant_rate_is_not_vfr() -> None:
    vfr, basis, low, high = judge_vfr([k * 512 for k in range(300)], "1/15360")
    assert vfr is False and low == high and "0 of 299" in basis


def test_alternating_intervals_are_vfr() -> None:
    pts, t = [], 0
    for k in range(200):
        pts.append(t)
        t += 45 if k % 2 else 22
    vfr, _, low, high = judge_vfr(pts, "1/1000")
    assert vfr is True and (low, high) == (0.022, 0.045)


def test_too_few_packets_says_so() -> None:
    assert judge_vfr([0, 512], "1/15360")[0] is None
