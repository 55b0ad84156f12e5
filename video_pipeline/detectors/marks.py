"""Officer marks: times flagged on the recorder (key-file marking) or through the API.

Each mark becomes a point event with confidence 1.0, placed on the frame nearest to it; the
frames themselves are not analysed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable

from video_pipeline.detector import CameraMotion, Event, EventDetector, FrameSample
from video_pipeline.errors import InvalidOption

_logger = logging.getLogger(__name__)


class MarksDetector(EventDetector):
    """Point events at ``marks`` (seconds from the stream start).

    A mark later than half a frame interval after the last sample is dropped with a warning.

    Raises:
        InvalidOption: a mark that is negative or not a finite number.
    """

    kind = "mark"

    def __init__(self, marks: Iterable[float]) -> None:
        checked = []
        for mark in marks:
            value = float(mark)
            if not math.isfinite(value) or value < 0:
                raise InvalidOption(f"a mark must be a time >= 0 s, got {mark!r}")
            checked.append(value)
        self._marks = sorted(set(checked))
        self._best: list[tuple[float, FrameSample] | None] = [None] * len(self._marks)
        self._interval = 0.0
        self._last: FrameSample | None = None

    def process(self, sample: FrameSample, motion: CameraMotion) -> None:
        """Remember, for each mark, the sample nearest to it so far."""
        if self._last is not None:
            self._interval = max(self._interval, sample.time - self._last.time)
        self._last = sample
        for i, mark in enumerate(self._marks):
            distance = abs(sample.time - mark)
            best = self._best[i]
            if best is None or distance < best[0]:
                self._best[i] = (distance, sample)

    def finish(self) -> list[Event]:
        """One event per mark inside the stream."""
        events = []
        for mark, best in zip(self._marks, self._best, strict=True):
            if best is None or (best[0] > max(self._interval, 1e-3) / 2 + 1e-6 and (
                    self._last is not None and mark > self._last.time)):
                _logger.warning("mark at %.3f s is beyond the end of the stream", mark)
                continue
            sample = best[1]
            events.append(Event(self.kind, sample.time, sample.time, sample.time, sample.index,
                                1.0, None, {"mark": mark}))
        return events

    def refine_margin(self) -> tuple[float, float]:
        """Only the frames around the mark are needed."""
        return (0.5, 0.5)
