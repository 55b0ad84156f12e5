from __future__ import annotations

import pytest

from tests.unit.video_pipeline.detectors.scenes import FPS, run
from video_pipeline import synthetic
from video_pipeline.detectors import SmokeDetector


def test_a_growing_plume_is_found_within_half_a_second() -> None:
    truth = synthetic.truth("smoke_plume", fps=FPS, duration=8.0, seed=3)
    events = run("smoke_plume", SmokeDetector())
    assert len(events) == 1
    (event,), (expected,) = events, truth.events
    assert 0 <= event.start - expected.start <= 0.5
    assert event.peak > event.start + 1.0  # the plume keeps growing
    assert event.region is not None
    assert 0.15 < event.region.x + event.region.w / 2 < 0.55  # where the plume is drawn


def test_no_smoke_in_a_shaky_walk_with_exposure_drift() -> None:
    for seed in (3, 4):
        assert run("shaky_walk", SmokeDetector(), seed=seed) == []


def test_an_area_that_does_not_grow_enough_is_not_smoke() -> None:
    assert run("smoke_plume", SmokeDetector(growth=1000.0)) == []


def test_parameters_are_checked() -> None:
    with pytest.raises(ValueError, match="growth must be >= 1"):
        SmokeDetector(growth=0.5)
    with pytest.raises(ValueError, match="0 < low <= min_area < 1"):
        SmokeDetector(low=0.5, min_area=0.1)
