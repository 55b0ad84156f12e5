from __future__ import annotations

import logging

import numpy as np
import pytest

from video_pipeline.detector import CameraMotion, FrameSample
from video_pipeline.detectors import MarksDetector
from video_pipeline.errors import InvalidOption


def _feed(detector: MarksDetector, times: list[float]) -> None:
    grey = np.zeros((4, 4), np.uint8)
    for i, t in enumerate(times):
        detector.process(FrameSample(i, t, np.zeros((4, 4, 3), np.uint8), grey),
                         CameraMotion.identity())


def test_marks_land_on_the_nearest_frame() -> None:
    detector = MarksDetector([1.04, 0.0, 2.31])
    _feed(detector, [i / 10 for i in range(30)])
    events = detector.finish()
    assert [(e.start_frame, e.confidence) for e in events] == [(0, 1.0), (10, 1.0), (23, 1.0)]
    assert events[1].start == pytest.approx(1.0)
    assert events[1].detail["mark"] == 1.04
    assert all(e.start == e.end == e.peak for e in events)


def test_a_mark_after_the_end_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    detector = MarksDetector([9.0])
    with caplog.at_level(logging.WARNING):
        _feed(detector, [0.0, 0.1, 0.2])
        assert detector.finish() == []
    assert "beyond the end" in caplog.text


@pytest.mark.parametrize("mark", [-1.0, float("nan"), float("inf")])
def test_invalid_marks_are_rejected(mark: float) -> None:
    with pytest.raises(InvalidOption, match="a mark must be a time >= 0 s"):
        MarksDetector([mark])
