from __future__ import annotations

from collections.abc import Sequence

import pytest

from tests.unit.video_pipeline.detectors.scenes import FPS, samples
from video_pipeline import synthetic
from video_pipeline.detector import Event, EventDetector, FrameSample
from video_pipeline.detectors import LineDetector, MarksDetector, ZoneDetector
from video_pipeline.errors import InvalidOption
from video_pipeline.events import detect_events, merge_events, run_detectors


class _Reader:
    """read_window over the rendered frames, recording what was asked."""

    def __init__(self, frames: Sequence[FrameSample]) -> None:
        self.frames = frames
        self.calls: list[tuple[float, float]] = []

    def __call__(self, start: float, end: float) -> list[FrameSample]:
        self.calls.append((start, end))
        return [f for f in self.frames if start - 1e-9 <= f.time <= end + 1e-9]


@pytest.mark.parametrize(("scenario", "kind"), [("zone_entry", "zone"),
                                                ("line_crossing", "line")])
def test_coarse_to_fine_places_the_start_to_the_frame(scenario: str, kind: str) -> None:
    truth = synthetic.truth(scenario, fps=FPS, duration=8.0, seed=3)
    frames = samples(scenario, seed=3)
    reader = _Reader(frames)

    def make() -> list[EventDetector]:
        if truth.zone is not None:
            return [ZoneDetector(truth.zone), MarksDetector([1.23])]
        assert truth.line is not None
        return [LineDetector(truth.line), MarksDetector([1.23])]

    events = detect_events(frames[::15], make_detectors=make, read_window=reader)
    found = [e for e in events if e.kind == kind]
    assert len(found) == 1
    assert abs(found[0].start_frame - truth.events[0].start_frame) <= 2
    (mark,) = [e for e in events if e.kind == "mark"]
    assert mark.start_frame == 18  # 1.23 s at 15 fps, not the coarse sample at 1.0 s
    assert reader.calls, "pass 2 must read full-rate windows"
    assert sum(end - start for start, end in reader.calls) < 8.0  # not the whole clip


def test_full_mode_is_a_single_pass_over_every_frame() -> None:
    truth = synthetic.truth("zone_entry", fps=FPS, duration=8.0, seed=3)
    assert truth.zone is not None
    zone = truth.zone
    frames = samples("zone_entry", seed=3)
    events = detect_events(frames, make_detectors=lambda: [ZoneDetector(zone)])
    assert events == run_detectors(frames, [ZoneDetector(zone)])
    assert len(events) == 1


def test_no_detectors_is_an_error() -> None:
    with pytest.raises(InvalidOption, match="no detectors to run"):
        detect_events([], make_detectors=list)


def test_make_detectors_must_be_consistent() -> None:
    frames = samples("zone_entry", seed=3)
    calls: list[int] = []

    def make() -> list[EventDetector]:
        calls.append(1)
        return [MarksDetector([2.0])] * len(calls)

    with pytest.raises(InvalidOption, match="returned 2 detectors, not 1"):
        detect_events(frames[::15], make_detectors=make, read_window=_Reader(frames))


def _event(kind: str, start: float, end: float, confidence: float, name: str = "") -> Event:
    return Event(kind, start, end, start, round(start * 10), confidence, None,
                 {"name": name} if name else {})


def test_overlapping_events_of_a_kind_and_name_are_merged() -> None:
    merged = merge_events([
        _event("zone", 1.0, 3.0, 0.5, "a"), _event("zone", 2.5, 4.0, 0.9, "a"),
        _event("zone", 2.0, 2.5, 0.7, "b"), _event("line", 3.5, 3.5, 1.0),
        _event("zone", 4.5, 5.0, 0.6, "a"),
    ])
    assert [(e.kind, e.start, e.end, e.confidence) for e in merged] == [
        ("zone", 1.0, 4.0, 0.9), ("zone", 2.0, 2.5, 0.7), ("line", 3.5, 3.5, 1.0),
        ("zone", 4.5, 5.0, 0.6)]
    assert merged[0].start_frame == 10
    assert len(merge_events(merged, gap=1.0)) == 3
