"""Moving-object masks after camera-motion compensation (shared by the motion detectors).

:class:`CompensatedBackground` keeps a running-average background in the *current* frame's
coordinates: each sample it is warped by the camera motion, compared with the new frame and
updated. What differs is scene motion, not camera shake or pans. Newly exposed borders are
initialised from the frame (never foreground), the global gain is matched so exposure drift is
not motion, and when the camera motion could not be estimated the model restarts instead of
reporting the whole frame as moving.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np
import numpy.typing as npt

from video_pipeline.motion import compensate

if TYPE_CHECKING:
    from video_pipeline.detector import CameraMotion, FrameSample, GreyImage

_logger = logging.getLogger(__name__)

Mask = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Blob:
    """A connected moving region, in proxy pixels."""

    x: int
    y: int
    w: int
    h: int
    area: int
    cx: float
    cy: float


class CompensatedBackground:
    """Foreground masks from a motion-compensated running-average background.

    ``threshold`` is the grey-level difference that counts as motion (raised to
    ``noise_factor`` times the frame's robust noise level when that is higher); ``time_constant``
    (seconds) sets how fast the background absorbs changes; foreground pixels are absorbed
    ``foreground_slowdown`` times slower, so a stopped object fades out only gradually.
    """

    def __init__(
        self, *, threshold: float = 22.0, noise_factor: float = 4.0, time_constant: float = 1.0,
        foreground_slowdown: float = 8.0, min_inlier_ratio: float = 0.3, tolerance: int = 1,
    ) -> None:
        if threshold <= 0 or time_constant <= 0 or foreground_slowdown < 1:
            raise ValueError("threshold and time_constant must be positive, slowdown >= 1")
        self._threshold = threshold
        self._noise_factor = noise_factor
        self._tau = time_constant
        self._slowdown = foreground_slowdown
        self._min_ratio = min_inlier_ratio
        self._background: npt.NDArray[np.float32] | None = None
        self._time = 0.0
        self._open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self._close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
        self._band = np.ones((2 * tolerance + 1, 2 * tolerance + 1), np.uint8)

    def update(self, sample: FrameSample, motion: CameraMotion) -> Mask:
        """The foreground mask (0/255) of ``sample``; all zeros while (re)initialising.

        The model (re)starts on the first sample and whenever ``motion`` is missing or weaker
        than ``min_inlier_ratio``: without a camera estimate, no pixel is called moving.
        """
        grey = _smooth(sample.grey)
        if self._background is None or motion.inlier_ratio < self._min_ratio:
            self._restart(grey, sample.time)
            return np.zeros(grey.shape, np.uint8)
        warped = compensate(self._background, motion.homography, interpolation=cv2.INTER_CUBIC)
        valid = ~np.isnan(warped)
        warped = np.where(valid, warped, grey)
        warped *= _gain(grey, warped, valid)
        diff = _band_distance(grey, warped, self._band)
        limit = max(self._threshold, self._noise_factor * _noise(diff[valid]))
        raw = (diff > limit).astype(np.uint8) * 255
        opened = cv2.morphologyEx(raw, cv2.MORPH_OPEN, self._open)
        mask = np.asarray(cv2.morphologyEx(opened, cv2.MORPH_CLOSE, self._close), np.uint8)
        alpha = 1.0 - math.exp(-max(sample.time - self._time, 1e-3) / self._tau)
        rate = np.where(mask > 0, alpha / self._slowdown, alpha).astype(np.float32)
        self._background = warped + rate * (grey - warped)
        self._time = sample.time
        return mask

    def _restart(self, grey: npt.NDArray[np.float32], time: float) -> None:
        self._background = grey.copy()
        self._time = time


def _smooth(grey: GreyImage) -> npt.NDArray[np.float32]:
    return np.asarray(cv2.GaussianBlur(grey, (5, 5), 0), np.float32)


def _gain(grey: npt.NDArray[np.float32], warped: npt.NDArray[np.float32],
          valid: npt.NDArray[np.bool_]) -> float:
    """Exposure change between background and frame (median ratio), bounded to ±30 %."""
    ref = float(np.median(warped[valid])) if valid.any() else 0.0
    if ref < 1.0:
        return 1.0
    return float(np.clip(float(np.median(grey[valid])) / ref, 0.7, 1.3))


def _band_distance(grey: npt.NDArray[np.float32], background: npt.NDArray[np.float32],
                   kernel: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """How far each pixel lies outside the range of the background around it.

    Comparing with the local min/max rather than the co-located value tolerates residual
    misalignment of up to the kernel's radius, so textured edges do not look like motion.
    """
    low = cv2.erode(background, kernel)
    high = cv2.dilate(background, kernel)
    return np.asarray(np.maximum(np.maximum(grey - high, low - grey), 0.0), np.float32)


def _noise(diff: npt.NDArray[np.float32]) -> float:
    """A robust noise level of a difference image (1.4826 × median absolute value)."""
    return 1.4826 * float(np.median(diff)) if diff.size else 0.0


def find_blobs(mask: Mask, *, min_area: int) -> list[Blob]:
    """Connected regions of ``mask`` of at least ``min_area`` pixels, largest first."""
    count, _, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    blobs = [
        Blob(int(stats[i, 0]), int(stats[i, 1]), int(stats[i, 2]), int(stats[i, 3]),
             int(stats[i, 4]), float(centroids[i, 0]), float(centroids[i, 1]))
        for i in range(1, count) if stats[i, 4] >= min_area
    ]
    return sorted(blobs, key=lambda b: -b.area)
