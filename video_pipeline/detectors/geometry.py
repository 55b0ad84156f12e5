"""Zone polygons and lines drawn by a user in normalised reference-frame coordinates."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from video_pipeline.errors import InvalidOption

_logger = logging.getLogger(__name__)

Point = tuple[float, float]


class InvalidGeometry(InvalidOption):
    """A zone polygon or line that cannot be used (too few points, outside [0, 1], degenerate)."""


def _points(points: Sequence[Sequence[float]], what: str) -> list[Point]:
    out: list[Point] = []
    for point in points:
        if len(point) != 2:
            raise InvalidGeometry(
                f"{what} point {tuple(point)!r} must have exactly two coordinates")
        x, y = float(point[0]), float(point[1])
        if not (math.isfinite(x) and math.isfinite(y) and 0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise InvalidGeometry(
                f"{what} point ({x}, {y}) is outside the normalised frame [0, 1] x [0, 1]")
        out.append((x, y))
    return out


def validate_polygon(points: Sequence[Sequence[float]]) -> tuple[Point, ...]:
    """A zone polygon as a tuple of normalised points.

    Raises:
        InvalidGeometry: fewer than 3 points, a coordinate outside [0, 1], or zero area.
    """
    if len(points) < 3:
        raise InvalidGeometry(f"a zone polygon needs at least 3 points, got {len(points)}")
    checked = _points(points, "zone")
    area = abs(float(cv2.contourArea(np.array(checked, np.float32))))
    if area < 1e-6:
        raise InvalidGeometry("the zone polygon has zero area")
    return tuple(checked)


def validate_line(points: Sequence[Sequence[float]]) -> tuple[Point, Point]:
    """A line segment as two normalised end points.

    Raises:
        InvalidGeometry: not exactly 2 points, a coordinate outside [0, 1], or zero length.
    """
    if len(points) != 2:
        raise InvalidGeometry(f"a line needs exactly 2 end points, got {len(points)}")
    a, b = _points(points, "line")
    if math.hypot(b[0] - a[0], b[1] - a[1]) < 1e-3:
        raise InvalidGeometry("the line has zero length")
    return a, b


def to_pixels(points: Sequence[Point], shape: tuple[int, ...]) -> npt.NDArray[np.float32]:
    """Normalised points as an N×1×2 float32 pixel array for an image of ``shape``."""
    h, w = shape[:2]
    return np.array([[(x * w, y * h)] for x, y in points], np.float32)
