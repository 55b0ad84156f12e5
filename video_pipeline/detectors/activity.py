"""Activity: something in the scene moves, once the camera's own motion is removed.

The share of moving pixels (see :class:`~video_pipeline.detectors.foreground.CompensatedBackground`)
goes through hysteresis: a run opens above ``low`` and is an event only if it reaches ``high``
on at least ``min_samples`` samples. The start is the first sample above ``low``, so a real
object is placed when it first shows, while a walking officer's shake and pans stay silent.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import cv2

from video_pipeline.detector import CameraMotion, Event, EventDetector, FrameSample
from video_pipeline.detectors.foreground import CompensatedBackground, find_blobs
from video_pipeline.detectors.runs import Run, RunTracker, normalise_box

if TYPE_CHECKING:
    from video_pipeline.detector import Region

_logger = logging.getLogger(__name__)


class ActivityDetector(EventDetector):
    """Scene motion energy with hysteresis.

    ``low`` and ``high`` are fractions of the frame area that move; ``end_gap`` (seconds) is
    how long activity may pause inside one event.

    Raises:
        ValueError: thresholds not in (0, 1) with ``low <= high``, or ``min_samples`` < 1.
    """

    kind = "activity"

    def __init__(self, *, low: float = 0.0015, high: float = 0.004, min_samples: int = 2,
                 end_gap: float = 1.0, background: CompensatedBackground | None = None) -> None:
        if not 0 < low <= high < 1:
            raise ValueError(f"need 0 < low <= high < 1, got low={low}, high={high}")
        if min_samples < 1:
            raise ValueError(f"min_samples must be >= 1, got {min_samples}")
        self._low, self._high, self._min_samples = low, high, min_samples
        self._background = background or CompensatedBackground()
        self._runs = RunTracker(end_gap=end_gap)

    def process(self, sample: FrameSample, motion: CameraMotion) -> None:
        """Add one sample's moving-pixel share."""
        mask = self._background.update(sample, motion)
        share = cv2.countNonZero(mask) / mask.size
        region: Region | None = None
        if share >= self._low:
            x, y, w, h = cv2.boundingRect(mask)
            blobs = find_blobs(mask, min_area=1)
            if blobs:
                b = blobs[0]
                x, y, w, h = b.x, b.y, b.w, b.h
            region = normalise_box(x, y, w, h, mask.shape)
        self._runs.feed(sample, score=share, active=share >= self._low, region=region)

    def finish(self) -> list[Event]:
        """Runs that reached ``high`` often enough."""
        return [self._event(run) for run in self._runs.close() if self._is_event(run)]

    def refine_margin(self) -> tuple[float, float]:
        """Confirmation needs a few samples after the start."""
        return (1.5, 1.0)

    def _is_event(self, run: Run) -> bool:
        return sum(score >= self._high for score in run.scores) >= self._min_samples

    def _event(self, run: Run) -> Event:
        confidence = min(1.0, run.peak_score / (3.0 * self._high))
        return Event(self.kind, run.start, run.end, run.peak, run.start_frame, confidence,
                     run.peak_region, {"peak_share": round(run.peak_score, 5)})
