from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.unit.video_pipeline.detectors.scenes import FPS, run
from video_pipeline import synthetic
from video_pipeline.detector import FrameSample
from video_pipeline.detectors import SmokeDetector
from video_pipeline.events import run_detectors


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
    with pytest.raises(ValueError, match="hold must be positive"):
        SmokeDetector(hold=0.0)


def _ghost_scene(*, stand: float, plume_at: float | None = None, fps: float = 15.0,
                 seed: int = 0) -> list[FrameSample]:
    """A red figure walks up to a grey wall, stands ``stand`` s, then walks off slowly.

    The camera jitters by a pixel or two. When the figure leaves, the wall it covered is
    greyer and flatter than the figure: exactly what smoke does to a scene, so a reference
    that had absorbed the figure would report the wall as smoke. With ``plume_at``, a grey,
    growing plume appears over the coloured blocks left of the wall at that time.
    """
    rng = np.random.default_rng(seed)
    width, height, margin = 320, 180, 8
    world = np.zeros((height + 2 * margin, width + 2 * margin, 3), np.uint8)
    world[:] = (60, 140, 90)
    for _ in range(160):
        x, y = int(rng.integers(0, world.shape[1])), int(rng.integers(0, world.shape[0]))
        colour = tuple(int(v) for v in rng.integers(30, 230, 3))
        cv2.rectangle(world, (x, y), (x + 6, y + 6), colour, -1)
    cv2.rectangle(world, (130, 48), (230, 168), (120, 120, 125), -1)  # the grey wall
    leave = 1.0 + stand
    total = leave + 6.0 if plume_at is None else max(leave, plume_at) + 5.0
    samples = []
    for i in range(round(total * fps)):
        t = i / fps
        scene = world.copy()
        x = -20 + 190 * min(t, 1.0) + 30 * max(t - leave, 0.0)  # in, stand, out at 30 px/s
        cv2.rectangle(scene, (round(x), 88), (round(x) + 16, 158), (40, 20, 150), -1)
        if plume_at is not None and t > plume_at:
            radius = 45.0 * min(1.0, (t - plume_at) / 4.0) ** 0.5
            ys, xs = np.mgrid[0:scene.shape[0], 0:scene.shape[1]].astype(np.float32)
            inside = np.clip(1.0 - np.hypot(xs - 70, ys - 80) / max(radius, 1e-3), 0, 1)
            alpha = (0.85 * inside ** 0.4)[..., None]
            scene = (scene * (1 - alpha) + 170.0 * alpha).astype(np.uint8)
        dx, dy = rng.normal(0.0, 1.0, 2)
        shift = np.array([[1.0, 0.0, -margin + dx], [0.0, 1.0, -margin + dy]])
        frame = cv2.warpAffine(scene, shift, (width, height), borderMode=cv2.BORDER_REFLECT)
        noisy = np.clip(frame + rng.normal(0.0, 2.0, frame.shape), 0, 255).astype(np.uint8)
        samples.append(FrameSample(i, t, noisy, cv2.cvtColor(noisy, cv2.COLOR_BGR2GRAY)))
    return samples


@pytest.mark.parametrize("stand", [0.5, 5.0, 20.0])
def test_where_a_figure_stood_is_not_smoke(stand: float) -> None:
    assert run_detectors(_ghost_scene(stand=stand), [SmokeDetector()]) == []


def test_a_plume_after_a_figure_left_is_still_found() -> None:
    events = run_detectors(_ghost_scene(stand=8.0, plume_at=12.0), [SmokeDetector()])
    assert len(events) == 1
    assert 0 <= events[0].start - 12.0 <= 0.5
    assert events[0].region is not None
    assert events[0].region.x < 0.35  # the plume, not the wall the figure left
