"""Synthetic scenes as FrameSample proxies, rendered once per test session."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import cv2

from video_pipeline.detector import Event, EventDetector, FrameSample
from video_pipeline.events import run_detectors

FPS = 15.0
DURATION = 8.0


@lru_cache(maxsize=16)
def samples(scenario: str, *, seed: int = 3, fps: float = FPS,
            duration: float = DURATION) -> tuple[FrameSample, ...]:
    from video_pipeline import synthetic

    frames = synthetic.render(scenario, fps=fps, duration=duration, seed=seed)
    return tuple(FrameSample(i, i / fps, f, cv2.cvtColor(f, cv2.COLOR_BGR2GRAY))
                 for i, f in enumerate(frames))


def run(scenario: str, detector: EventDetector, *, seed: int = 3, step: int = 1) -> list[Event]:
    """Events of one detector over the scene (every ``step``-th frame)."""
    return run_detectors(samples(scenario, seed=seed)[::step], [detector])


def kinds(events: Sequence[Event], kind: str) -> list[Event]:
    return [e for e in events if e.kind == kind]
