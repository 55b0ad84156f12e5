"""Line crossing: a moving object's centroid passes from one side of a segment to the other.

The segment is drawn on a reference frame and follows the scene through camera motion like a
zone does. Moving blobs are tracked from sample to sample by nearest centroid (after moving the
previous centroid by the camera motion); a change of side-of-line sign, where the crossing falls
within the segment, is an event placed at the first sample on the new side. ``detail`` holds
the direction, ``left_to_right`` or ``right_to_left``: the *right* side of a segment a→b is
where the vector b−a points once turned 90° clockwise on screen (so for a segment drawn from
bottom to top, right is the screen's right).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from video_pipeline.detector import CameraMotion, Event, EventDetector, FrameSample
from video_pipeline.detectors.foreground import Blob, CompensatedBackground, find_blobs
from video_pipeline.detectors.geometry import Point, to_pixels, validate_line
from video_pipeline.detectors.registration import ReferenceRegistered, ReferenceTracker
from video_pipeline.detectors.runs import normalise_box

_logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Track:
    x: float
    y: float
    side: float
    along: float
    age: int
    last_cross: float


class LineDetector(EventDetector, ReferenceRegistered):
    """Objects crossing ``line`` (two normalised end points on the reference frame).

    ``min_area`` is the smallest blob (fraction of the frame) followed; ``max_speed`` bounds how
    far (frame widths per second) a blob may move between samples and still be the same object.

    Raises:
        InvalidGeometry: not two points, coordinates outside [0, 1], or zero length.
        ValueError: ``min_area`` not in (0, 1) or ``max_speed`` not positive.
    """

    kind = "line"

    def __init__(self, line: Sequence[Sequence[float]], *, name: str = "line",
                 reference_time: float = 0.0, min_area: float = 0.002, max_speed: float = 0.8,
                 background: CompensatedBackground | None = None) -> None:
        self._line = validate_line(line)
        if not 0 < min_area < 1 or max_speed <= 0:
            raise ValueError("min_area must be in (0, 1) and max_speed > 0")
        self._name, self._min_area, self._max_speed = name, min_area, max_speed
        self._tracker = ReferenceTracker(reference_time=reference_time)
        self._background = background or CompensatedBackground()
        self._tracks: list[_Track] = []
        self._time: float | None = None
        self._events: list[Event] = []

    @property
    def reference(self) -> FrameSample | None:
        """The frame the line is drawn on."""
        return self._tracker.reference

    def seed_reference(self, reference: FrameSample) -> None:
        """Use ``reference`` as the frame the line is drawn on."""
        self._tracker.seed(reference)

    def process(self, sample: FrameSample, motion: CameraMotion) -> None:
        """Follow moving blobs and look for side changes."""
        transform = self._tracker.update(sample, motion)
        mask = self._background.update(sample, motion)
        dt = 0.0 if self._time is None else sample.time - self._time
        self._time = sample.time
        if transform is None or motion.inlier_ratio == 0.0:
            self._tracks = []
            return
        a, b = cv2.perspectiveTransform(to_pixels(self._line, mask.shape), transform)[:, 0]
        min_area = max(1, round(self._min_area * mask.size))
        gate = self._max_speed * mask.shape[1] * dt + 0.05 * mask.shape[1]
        previous = [_moved(t, motion) for t in self._tracks]
        self._tracks = []
        for blob in find_blobs(mask, min_area=min_area):
            side, along = _side(blob, (float(a[0]), float(a[1])), (float(b[0]), float(b[1])))
            track = _nearest(previous, blob, gate)
            current = _Track(blob.cx, blob.cy, side, along, 1, -math.inf)
            if track is not None:
                previous.remove(track)
                current.age, current.last_cross = track.age + 1, track.last_cross
                if _crossed(track, current) and sample.time - track.last_cross > 1.0:
                    current.last_cross = sample.time
                    self._events.append(self._event(sample, blob, current, mask.shape))
            self._tracks.append(current)

    def finish(self) -> list[Event]:
        """Every crossing, in time order."""
        return sorted(self._events, key=lambda e: e.start)

    def refine_margin(self) -> tuple[float, float]:
        """A crossing is seen at once; a little after covers the next sample."""
        return (1.5, 0.5)

    def _event(self, sample: FrameSample, blob: Blob, track: _Track,
               shape: tuple[int, ...]) -> Event:
        direction = "left_to_right" if track.side > 0 else "right_to_left"
        confidence = min(1.0, 0.5 + 0.1 * track.age)
        region = normalise_box(blob.x, blob.y, blob.w, blob.h, shape)
        return Event(self.kind, sample.time, sample.time, sample.time, sample.index, confidence,
                     region, {"name": self._name, "direction": direction})


def _side(blob: Blob, a: Point, b: Point) -> tuple[float, float]:
    """Signed distance of the centroid from the line (positive on the right of a→b) and where
    along the segment it projects (0 at a, 1 at b)."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = math.hypot(dx, dy)
    px, py = blob.cx - a[0], blob.cy - a[1]
    side = (dx * py - dy * px) / length
    along = (px * dx + py * dy) / (length * length)
    return side, along


def _moved(track: _Track, motion: CameraMotion) -> _Track:
    x, y, w = motion.homography @ np.array([track.x, track.y, 1.0])
    return _Track(float(x / w), float(y / w), track.side, track.along, track.age,
                  track.last_cross)


def _nearest(tracks: list[_Track], blob: Blob, gate: float) -> _Track | None:
    best = min(tracks, key=lambda t: math.hypot(t.x - blob.cx, t.y - blob.cy), default=None)
    if best is None or math.hypot(best.x - blob.cx, best.y - blob.cy) > gate:
        return None
    return best


def _crossed(before: _Track, after: _Track) -> bool:
    if before.side * after.side >= 0:
        return False
    weight = before.side / (before.side - after.side)
    along = before.along + weight * (after.along - before.along)
    return -0.05 <= along <= 1.05
