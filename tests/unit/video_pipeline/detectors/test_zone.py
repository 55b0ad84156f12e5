from __future__ import annotations

import pytest

from tests.unit.video_pipeline.detectors.scenes import FPS, kinds, run, samples
from video_pipeline import synthetic
from video_pipeline.detectors import InvalidGeometry, ZoneDetector
from video_pipeline.errors import InvalidOption


def _truth() -> synthetic.SceneTruth:
    return synthetic.truth("zone_entry", fps=FPS, duration=8.0, seed=3)


def test_zone_entry_is_found_to_a_few_frames() -> None:
    truth = _truth()
    assert truth.zone is not None
    events = kinds(run("zone_entry", ZoneDetector(truth.zone, name="gate")), "zone")
    assert len(events) == 1
    (event,), (expected,) = events, truth.events
    assert 0 <= event.start_frame - expected.start_frame <= 3
    assert abs(event.start - expected.start) <= 0.5
    assert event.detail["name"] == "gate"
    assert 0 < event.confidence <= 1
    assert event.region is not None
    assert event.region.h > 0.1  # the whole figure, not only the part inside the zone


def test_a_shaky_walk_with_pans_never_enters_the_zone() -> None:
    zone = _truth().zone
    assert zone is not None
    for seed in (3, 4):
        assert run("shaky_walk", ZoneDetector(zone), seed=seed) == []


def test_the_zone_follows_the_camera_from_a_later_reference() -> None:
    truth = _truth()
    assert truth.zone is not None
    frames = samples("zone_entry", seed=3)
    detector = ZoneDetector(truth.zone)
    detector.seed_reference(frames[0])
    events = kinds(run_tail(frames, detector), "zone")
    assert len(events) == 1
    assert abs(events[0].start_frame - truth.events[0].start_frame) <= 3


def run_tail(frames: tuple[object, ...], detector: ZoneDetector) -> list:  # type: ignore[type-arg]
    from video_pipeline.events import run_detectors

    return run_detectors(frames[30:], [detector])  # type: ignore[arg-type]


@pytest.mark.parametrize(("polygon", "message"), [
    ([(0.1, 0.1), (0.5, 0.5)], "at least 3 points, got 2"),
    ([(0.1, 0.1), (1.2, 0.5), (0.3, 0.9)], r"\(1.2, 0.5\) is outside the normalised frame"),
    ([(0.1, 0.1), (0.2, 0.2), (0.3, 0.3)], "zero area"),
    ([(0.1, 0.1, 0.0), (0.2, 0.2), (0.3, 0.3)], "exactly two coordinates"),
])
def test_invalid_polygons_are_rejected(polygon: list[tuple[float, ...]], message: str) -> None:
    with pytest.raises(InvalidGeometry, match=message):
        ZoneDetector(polygon)


def test_invalid_geometry_is_an_invalid_option_and_a_value_error() -> None:
    with pytest.raises(InvalidOption):
        ZoneDetector([])
    with pytest.raises(ValueError, match="min_area must be in"):
        ZoneDetector([(0.1, 0.1), (0.9, 0.1), (0.5, 0.9)], min_area=0)
