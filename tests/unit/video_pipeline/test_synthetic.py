from __future__ import annotations

import numpy as np
import pytest

from video_pipeline import synthetic


def test_render_is_deterministic_for_a_seed() -> None:
    a = list(synthetic.render("zone_entry", fps=10, duration=2, seed=7))
    b = list(synthetic.render("zone_entry", fps=10, duration=2, seed=7))
    c = list(synthetic.render("zone_entry", fps=10, duration=2, seed=8))
    assert len(a) == 20
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[5], c[5])


def test_frames_have_the_requested_shape() -> None:
    frame = next(synthetic.render("smoke_plume", width=160, height=90, fps=10, duration=2))
    assert frame.shape == (90, 160, 3)
    assert frame.dtype == np.uint8


def test_truth_places_events_at_event_at() -> None:
    t = synthetic.truth("line_crossing", fps=25, duration=6, event_at=2.03)
    (event,) = t.events
    assert event.kind == "line"
    assert event.start_frame == 51  # first frame at or after 2.03 s
    assert event.start == pytest.approx(51 / 25)
    assert t.line is not None
    assert all(0 <= v <= 1 for point in t.line for v in point)


def test_shaky_walk_has_no_event() -> None:
    t = synthetic.truth("shaky_walk")
    assert t.events == ()
    assert t.zone is None and t.line is None


def test_zone_truth_is_a_polygon_inside_the_reference_frame() -> None:
    t = synthetic.truth("zone_entry")
    assert t.zone is not None and len(t.zone) >= 3
    assert all(0 <= v <= 1 for point in t.zone for v in point)


def test_the_scene_moves_between_frames() -> None:
    frames = list(synthetic.render("shaky_walk", fps=10, duration=2))
    assert float(np.mean(np.abs(frames[0].astype(int) - frames[5].astype(int)))) > 5


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"scenario": "riot"}, "unknown scenario 'riot'"),
    ({"scenario": "zone_entry", "width": 32}, "too small"),
    ({"scenario": "zone_entry", "fps": 0}, "must be positive"),
    ({"scenario": "zone_entry", "event_at": 0.1}, "at least 0.5 s inside"),
])
def test_invalid_arguments_are_rejected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        synthetic.truth(**kwargs)  # type: ignore[arg-type]
