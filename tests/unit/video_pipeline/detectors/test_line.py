from __future__ import annotations

import pytest

from tests.unit.video_pipeline.detectors.scenes import FPS, run
from video_pipeline import synthetic
from video_pipeline.detectors import InvalidGeometry, LineDetector


def _line() -> tuple[tuple[float, float], tuple[float, float]]:
    line = synthetic.truth("line_crossing", fps=FPS, duration=8.0, seed=3).line
    assert line is not None
    return line


def test_line_crossing_is_placed_on_the_first_frame_past_the_line() -> None:
    truth = synthetic.truth("line_crossing", fps=FPS, duration=8.0, seed=3)
    events = run("line_crossing", LineDetector(_line(), name="kerb"))
    assert len(events) == 1
    (event,), (expected,) = events, truth.events
    assert abs(event.start_frame - expected.start_frame) <= 2
    assert event.detail == {"name": "kerb", "direction": expected.detail["direction"]}
    assert event.region is not None


def test_reversing_the_line_reverses_the_direction() -> None:
    a, b = _line()
    (event,) = run("line_crossing", LineDetector((b, a)))
    assert event.detail["direction"] == "right_to_left"


def test_a_line_the_vehicle_never_reaches_is_not_crossed() -> None:
    assert run("line_crossing", LineDetector(((0.97, 0.1), (0.99, 0.3)))) == []


def test_a_shaky_walk_crosses_no_line() -> None:
    for seed in (3, 4):
        assert run("shaky_walk", LineDetector(_line()), seed=seed) == []


@pytest.mark.parametrize(("line", "message"), [
    ([(0.5, 0.5), (0.5, 0.5)], "zero length"),
    ([(0.5, 0.5)], "exactly 2 end points, got 1"),
    ([(-0.1, 0.5), (0.5, 0.5)], "outside the normalised frame"),
    ([(0.2, 0.5), (0.5, float("nan"))], "outside the normalised frame"),
])
def test_invalid_lines_are_rejected(line: list[tuple[float, float]], message: str) -> None:
    with pytest.raises(InvalidGeometry, match=message):
        LineDetector(line)
