"""timeline.json and chapters.vtt formatting."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from video_pipeline.detector import Event, Region
from video_pipeline.options import Mark
from video_pipeline.probe import MediaInfo, StreamInfo, VideoInfo
from video_pipeline.scenes import Cut
from video_pipeline.timeline import (
    SCHEMA,
    SCHEMA_VERSION,
    build,
    chapters_vtt,
    dumps,
    segments_from_cuts,
    violation_start,
    vtt_time,
)

CUE_TIMING = re.compile(r"^(\d{2}):(\d{2}):(\d{2})\.(\d{3}) --> (\d{2}):(\d{2}):(\d{2})\.(\d{3})$")


def _info(created: datetime | None = None) -> MediaInfo:
    video = VideoInfo(index=0, codec="h264", profile="High", coded_width=640, coded_height=360,
                      width=640, height=360, rotation=0, fps=30.0, r_frame_rate="30/1",
                      avg_frame_rate="30/1", time_base="1/15360", start_time=0.0,
                      frame_count=300, vfr=False, vfr_basis="test")
    return MediaInfo(path="/x/clip.mp4", size=1234, container="mov,mp4", duration=10.0,
                     creation_time=created, video=video,
                     streams=(StreamInfo(0, "video", "h264", True),))


def _event(kind: str, start: float, frame: int) -> Event:
    return Event(kind, start, start + 1, start + 0.5, frame, 0.8, Region(0.1, 0.1, 0.2, 0.2),
                 {"name": "door"})


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "00:00:00.000"), (3.4, "00:00:03.400"), (59.9996, "00:01:00.000"),
    (3723.25, "01:02:03.250"), (-1, "00:00:00.000")])
def test_vtt_time(seconds: float, text: str) -> None:
    assert vtt_time(seconds) == text


def test_segments_cover_the_recording_without_gaps() -> None:
    cuts = [Cut(102, 3.4, 1.0), Cut(201, 6.7, 1.0)]
    segments = segments_from_cuts(cuts, duration=10.0, fps=30.0)
    assert [(s.start, s.end, s.start_frame, s.end_frame) for s in segments] == [
        (0.0, 3.4, 0, 101), (3.4, 6.7, 102, 200), (6.7, 10.0, 201, 299)]


def test_violation_start_is_the_earliest_non_mark_event() -> None:
    events = [_event("mark", 1.0, 30), _event("zone", 4.0, 120), _event("line", 2.5, 75)]
    found = violation_start(events)
    assert found is not None and (found.kind, found.start_frame) == ("line", 75)
    assert violation_start([_event("mark", 1.0, 30)]) is None


def test_chapters_vtt_is_valid_webvtt() -> None:
    segments = segments_from_cuts([Cut(102, 3.4, 1.0)], duration=10.0, fps=30.0)
    text = chapters_vtt(segments=segments, events=[_event("zone", 4.0, 120)],
                        marks=[Mark(5.0, "stop --> go")])
    assert text.startswith("WEBVTT\n\n")
    blocks = text.strip().split("\n\n")[1:]
    assert len(blocks) == 4
    starts = []
    for block in blocks:
        ident, timing, payload = block.split("\n")
        match = CUE_TIMING.match(timing)
        assert match, timing
        values = [int(v) for v in match.groups()]
        start = values[0] * 3600 + values[1] * 60 + values[2] + values[3] / 1000
        end = values[4] * 3600 + values[5] * 60 + values[6] + values[7] / 1000
        assert end > start and "-->" not in payload and ident
        starts.append(start)
    assert starts == sorted(starts)
    assert "event-1" in text and "zone door" in text and "Officer mark: stop → go" in text


def test_timeline_document_carries_schema_and_facts() -> None:
    created = datetime(2026, 5, 1, 10, 0, 0, tzinfo=UTC)
    doc = build(source_name="clip.mp4", source_sha256="ab" * 32, info=_info(created),
                mode="fast", cuts=[Cut(102, 3.4, 1.5)], events=[_event("zone", 4.0, 120)],
                keyframes=[], marks=[Mark(5.0, "stop")], summary={"file": None},
                created=created, generator="test")
    assert (doc["schema"], doc["schema_version"]) == (SCHEMA, SCHEMA_VERSION)
    assert doc["source"] == {"name": "clip.mp4", "sha256": "ab" * 32, "size": 1234}
    assert doc["violation_start"] == {"time": 4.0, "frame": 120, "kind": "zone",
                                      "wall_clock": "2026-05-01T10:00:04.000+00:00"}
    assert doc["events"][0]["region"] == {"x": 0.1, "y": 0.1, "w": 0.2, "h": 0.2}
    assert len(doc["segments"]) == 2
    text = dumps(doc)
    assert json.loads(text) == json.loads(dumps(json.loads(text)))
    assert text.endswith("\n")
