"""Runs of consecutive active samples, the raw material of most events.

A run opens at the first active sample and closes when no active sample has been seen for
``end_gap`` seconds; detectors then decide which runs are events (hysteresis, growth ...).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from video_pipeline.detector import FrameSample, Region

_logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Run:
    """One run of active samples: its first sample, last sample, peak and score history."""

    start: float
    start_frame: int
    end: float
    peak: float
    peak_score: float
    first_region: Region | None
    peak_region: Region | None
    scores: list[float] = field(default_factory=list)

    @property
    def hits(self) -> int:
        """How many active samples the run holds."""
        return len(self.scores)


class RunTracker:
    """Groups active samples into :class:`Run` objects."""

    def __init__(self, *, end_gap: float) -> None:
        if end_gap < 0:
            raise ValueError(f"end_gap must be >= 0, got {end_gap}")
        self._end_gap = end_gap
        self._open: Run | None = None
        self._closed: list[Run] = []

    def feed(self, sample: FrameSample, *, score: float, active: bool,
             region: Region | None = None) -> None:
        """Record one sample (in time order); ``score`` ranks samples to find the peak."""
        run = self._open
        if run is not None and sample.time - run.end > self._end_gap:
            self._closed.append(run)
            run = self._open = None
        if not active:
            return
        if run is None:
            self._open = Run(sample.time, sample.index, sample.time, sample.time, score, region,
                             region, [score])
            return
        run.end = sample.time
        run.scores.append(score)
        if score > run.peak_score:
            run.peak, run.peak_score, run.peak_region = sample.time, score, region

    def close(self) -> list[Run]:
        """End of stream: every run, ordered by start."""
        if self._open is not None:
            self._closed.append(self._open)
            self._open = None
        return list(self._closed)


def normalise_box(x: int, y: int, w: int, h: int, shape: tuple[int, ...]) -> Region:
    """A pixel box clipped to the image and normalised to [0, 1]."""
    height, width = shape[:2]
    x0, y0 = min(max(x, 0), width), min(max(y, 0), height)
    x1, y1 = min(max(x + w, 0), width), min(max(y + h, 0), height)
    return Region(x0 / width, y0 / height, (x1 - x0) / width, (y1 - y0) / height)
