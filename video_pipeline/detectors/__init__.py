"""The event detectors, one per module (see :mod:`video_pipeline.detector` for the contract).

* :class:`ActivityDetector`: scene motion after camera-motion compensation;
* :class:`ZoneDetector`: a moving object enters a polygon drawn on a reference frame;
* :class:`LineDetector`: a moving object crosses a line segment drawn on a reference frame;
* :class:`SmokeDetector`: a growing region loses contrast and saturation;
* :class:`MarksDetector`: officer marks as point events.

Zone and line detectors implement :class:`ReferenceRegistered`, so a refinement pass can hand
them the reference frame the first pass used.
"""

from __future__ import annotations

from video_pipeline.detectors.activity import ActivityDetector
from video_pipeline.detectors.foreground import CompensatedBackground
from video_pipeline.detectors.geometry import InvalidGeometry, validate_line, validate_polygon
from video_pipeline.detectors.line import LineDetector
from video_pipeline.detectors.marks import MarksDetector
from video_pipeline.detectors.registration import ReferenceRegistered, ReferenceTracker
from video_pipeline.detectors.smoke import SmokeDetector
from video_pipeline.detectors.zone import ZoneDetector

__all__ = [
    "ActivityDetector",
    "CompensatedBackground",
    "InvalidGeometry",
    "LineDetector",
    "MarksDetector",
    "ReferenceRegistered",
    "ReferenceTracker",
    "SmokeDetector",
    "ZoneDetector",
    "validate_line",
    "validate_polygon",
]
