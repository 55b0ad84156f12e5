from __future__ import annotations

import pytest

from tests.unit.video_pipeline.detectors.scenes import FPS, run
from video_pipeline import synthetic
from video_pipeline.detectors import ActivityDetector


def test_shake_and_pans_of_a_walking_officer_are_not_activity() -> None:
    for seed in (3, 4):
        assert run("shaky_walk", ActivityDetector(), seed=seed) == []


def test_a_change_in_the_scene_starts_activity_within_a_few_frames() -> None:
    truth = synthetic.truth("smoke_plume", fps=FPS, duration=8.0, seed=3)
    events = run("smoke_plume", ActivityDetector())
    assert len(events) == 1
    assert 0 <= events[0].start_frame - truth.events[0].start_frame <= 4


def test_a_moving_vehicle_is_activity_around_it() -> None:
    (event,) = run("line_crossing", ActivityDetector())
    assert event.start < 4.0 < event.end
    assert event.region is not None and event.region.w > 0.05


def test_thresholds_are_checked() -> None:
    with pytest.raises(ValueError, match="need 0 < low <= high < 1"):
        ActivityDetector(low=0.1, high=0.01)
    with pytest.raises(ValueError, match="min_samples must be >= 1"):
        ActivityDetector(min_samples=0)
