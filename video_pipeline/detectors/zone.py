"""Zone intrusion: a moving object enters a polygon drawn on a reference frame.

The polygon follows the scene through camera motion (each frame is re-registered to the
reference, see :class:`~video_pipeline.detectors.registration.ReferenceTracker`). A sample is
*occupied* when at least ``min_area`` of the frame's moving pixels fall inside the polygon;
``min_samples`` occupied samples make an event that starts at the first one. The region is the
box of the moving blob that overlaps the polygon most.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import cv2
import numpy as np

from video_pipeline.detector import CameraMotion, Event, EventDetector, FrameSample, Region
from video_pipeline.detectors.foreground import CompensatedBackground, Mask
from video_pipeline.detectors.geometry import to_pixels, validate_polygon
from video_pipeline.detectors.registration import ReferenceRegistered, ReferenceTracker
from video_pipeline.detectors.runs import RunTracker, normalise_box
from video_pipeline.motion import Homography

_logger = logging.getLogger(__name__)


class ZoneDetector(EventDetector, ReferenceRegistered):
    """Objects entering ``polygon`` (normalised coordinates of the reference frame).

    The reference frame is the first sample at or after ``reference_time``, unless one is
    seeded with :meth:`seed_reference`. ``min_area`` is a fraction of the frame area.

    Raises:
        InvalidGeometry: fewer than 3 points, coordinates outside [0, 1], or zero area.
        ValueError: ``min_area`` not in (0, 1) or ``min_samples`` < 1.
    """

    kind = "zone"

    def __init__(self, polygon: Sequence[Sequence[float]], *, name: str = "zone",
                 reference_time: float = 0.0, min_area: float = 0.0008, min_samples: int = 2,
                 end_gap: float = 1.0, background: CompensatedBackground | None = None) -> None:
        self._polygon = validate_polygon(polygon)
        if not 0 < min_area < 1 or min_samples < 1:
            raise ValueError("min_area must be in (0, 1) and min_samples >= 1")
        self._name, self._min_area, self._min_samples = name, min_area, min_samples
        self._tracker = ReferenceTracker(reference_time=reference_time)
        self._background = background or CompensatedBackground()
        self._runs = RunTracker(end_gap=end_gap)

    @property
    def reference(self) -> FrameSample | None:
        """The frame the polygon is drawn on."""
        return self._tracker.reference

    def seed_reference(self, reference: FrameSample) -> None:
        """Use ``reference`` as the frame the polygon is drawn on."""
        self._tracker.seed(reference)

    def process(self, sample: FrameSample, motion: CameraMotion) -> None:
        """Measure the moving area inside the polygon in this sample."""
        transform = self._tracker.update(sample, motion)
        mask = self._background.update(sample, motion)
        if transform is None:
            self._runs.feed(sample, score=0.0, active=False)
            return
        zone = self._zone_mask(transform, mask.shape)
        inside = cv2.countNonZero(cv2.bitwise_and(mask, zone)) / mask.size
        active = inside >= self._min_area
        region = _entering_blob(mask, zone) if active else None
        self._runs.feed(sample, score=inside, active=active, region=region)

    def finish(self) -> list[Event]:
        """One event per occupation of the zone."""
        events = []
        for run in self._runs.close():
            if run.hits < self._min_samples:
                continue
            confidence = min(1.0, 0.5 + run.peak_score / (10 * self._min_area))
            events.append(Event(self.kind, run.start, run.end, run.peak, run.start_frame,
                                confidence, run.first_region, {"name": self._name}))
        return events

    def refine_margin(self) -> tuple[float, float]:
        """A couple of samples after the start confirm it."""
        return (1.5, 0.7)

    def _zone_mask(self, transform: Homography, shape: tuple[int, ...]) -> Mask:
        points = cv2.perspectiveTransform(to_pixels(self._polygon, shape), transform)
        zone = np.zeros(shape[:2], np.uint8)
        cv2.fillPoly(zone, [np.round(points).astype(np.int32)], 255)
        return zone


def _entering_blob(mask: Mask, zone: Mask) -> Region | None:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    overlap = np.bincount(labels[zone > 0].ravel(), minlength=count)
    overlap[0] = 0
    best = int(np.argmax(overlap))
    if best == 0:
        return None
    x, y, w, h = (int(v) for v in stats[best, :4])
    return normalise_box(x, y, w, h, mask.shape)
