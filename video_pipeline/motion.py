"""Global camera motion between proxies, and compensation of it.

:class:`MotionEstimator` tracks Shi-Tomasi corners from the previous sample into the current
one with pyramidal Lucas-Kanade and fits a similarity transform (rotation, scale, translation)
with RANSAC. When the scene has too little texture, or too few tracks agree, it falls back to
the identity with ``inlier_ratio`` 0 so detectors can tell the estimate is missing.

:func:`register` aligns any two proxies directly (ORB matching, or Lucas-Kanade from a
guessed transform): detectors that must stay registered to a reference frame use it to avoid
the drift of chained frame-to-frame estimates. :func:`compensate` warps an image by a motion so
that what is left in a difference is the scene's own motion, not the camera's.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import cv2
import numpy as np
import numpy.typing as npt

from video_pipeline.detector import CameraMotion

if TYPE_CHECKING:
    from video_pipeline.detector import FrameSample, GreyImage

_logger = logging.getLogger(__name__)

Homography = npt.NDArray[np.float64]
Points = npt.NDArray[np.float32]

_LK_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01)


def find_corners(grey: GreyImage, *, max_corners: int = 200) -> Points:
    """Well-spread trackable corners of ``grey`` as an N×1×2 float32 array (N may be 0)."""
    min_distance = max(4, min(grey.shape) // 30)
    corners = cv2.goodFeaturesToTrack(grey, maxCorners=max_corners, qualityLevel=0.01,
                                      minDistance=min_distance, blockSize=7)
    if corners is None:
        return np.zeros((0, 1, 2), np.float32)
    return np.asarray(corners, np.float32).reshape(-1, 1, 2)


def _fit(
    src: Points, dst: Points, *, total: int, min_points: int, threshold: float,
) -> CameraMotion:
    """RANSAC similarity from matched points; the identity with ratio 0 when unsupported."""
    if len(src) < min_points:
        return CameraMotion.identity()
    matrix, inliers = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=threshold, maxIters=500,
        confidence=0.995, refineIters=10)
    if matrix is None or inliers is None:
        return CameraMotion.identity()
    count = int(np.count_nonzero(inliers))
    if count < min_points:
        return CameraMotion.identity()
    homography = np.vstack([np.asarray(matrix, np.float64), [0.0, 0.0, 1.0]])
    return CameraMotion(homography, count / max(total, 1))


def track(
    prev: GreyImage, cur: GreyImage, corners: Points, *, guess: Homography | None = None,
    min_points: int = 12, threshold: float = 1.5,
) -> CameraMotion:
    """Motion ``prev``→``cur`` from ``corners`` of ``prev`` tracked by pyramidal Lucas-Kanade.

    ``guess`` (prev→cur) seeds the tracker, so large known displacements are followed.
    Returns the identity with ``inlier_ratio`` 0 when fewer than ``min_points`` tracks agree.
    """
    if len(corners) < min_points:
        return CameraMotion.identity()
    flags = 0
    start = corners.copy()
    if guess is not None:
        start = cv2.perspectiveTransform(corners, guess).astype(np.float32)
        flags = cv2.OPTFLOW_USE_INITIAL_FLOW
    moved, status, _ = cv2.calcOpticalFlowPyrLK(prev, cur, corners, start, winSize=(15, 15),
                                                maxLevel=3, criteria=_LK_CRITERIA, flags=flags)
    if moved is None or status is None:
        return CameraMotion.identity()
    ok = status.reshape(-1).astype(bool)
    return _fit(corners[ok], moved[ok], total=len(corners), min_points=min_points,
                threshold=threshold)


def register(
    reference: GreyImage, current: GreyImage, *, guess: Homography | None = None,
    reference_corners: Points | None = None,
) -> CameraMotion:
    """Align ``reference`` to ``current`` directly: the motion reference→current.

    With a ``guess`` (reference→current, e.g. a chained estimate) Lucas-Kanade refines it;
    without one, or when the refinement fails, ORB features are matched. Returns the identity
    with ``inlier_ratio`` 0 when neither works.
    """
    if guess is not None:
        corners = find_corners(reference) if reference_corners is None else reference_corners
        refined = track(reference, current, corners, guess=guess)
        if refined.inlier_ratio >= 0.3:
            return refined
    return _match_orb(reference, current)


def _match_orb(reference: GreyImage, current: GreyImage) -> CameraMotion:
    orb = cv2.ORB_create(  # type: ignore[attr-defined]
        nfeatures=800, fastThreshold=10, edgeThreshold=15, patchSize=15)
    kp1, des1 = orb.detectAndCompute(reference, None)
    kp2, des2 = orb.detectAndCompute(current, None)
    if des1 is None or des2 is None or len(kp1) < 12 or len(kp2) < 12:
        return CameraMotion.identity()
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True)
    matches = matcher.match(des1, des2)
    src = np.array([kp1[m.queryIdx].pt for m in matches], np.float32).reshape(-1, 1, 2)
    dst = np.array([kp2[m.trainIdx].pt for m in matches], np.float32).reshape(-1, 1, 2)
    return _fit(src, dst, total=len(matches), min_points=12, threshold=2.0)


def compensate(
    image: npt.NDArray[np.float32] | GreyImage, homography: Homography, *,
    border: float = np.nan, interpolation: int = cv2.INTER_LINEAR,
) -> npt.NDArray[np.float32]:
    """Warp ``image`` (previous-frame coordinates) into current-frame coordinates.

    Pixels with no source in ``image`` get ``border`` (NaN by default, so callers can mask
    them with ``np.isnan``); ``interpolation`` is an OpenCV ``INTER_*`` flag (cubic keeps an
    image that is warped again and again sharper). Returns float32.
    """
    h, w = image.shape[:2]
    return np.asarray(cv2.warpPerspective(
        image.astype(np.float32), homography, (w, h), flags=interpolation,
        borderMode=cv2.BORDER_CONSTANT, borderValue=border), np.float32)


class MotionEstimator:
    """Camera motion between consecutive samples (one estimator per stream).

    ``min_inlier_ratio`` is the share of tracked corners that must agree; below it the
    estimate is reported as missing (identity, ratio 0).
    """

    def __init__(self, *, max_corners: int = 200, min_inlier_ratio: float = 0.3) -> None:
        if not 0.0 <= min_inlier_ratio <= 1.0:
            raise ValueError(f"min_inlier_ratio must be in [0, 1], got {min_inlier_ratio}")
        self._max_corners = max_corners
        self._min_ratio = min_inlier_ratio
        self._prev: GreyImage | None = None
        self._corners: Points = np.zeros((0, 1, 2), np.float32)

    def update(self, sample: FrameSample) -> CameraMotion:
        """The motion from the previous sample to ``sample`` (identity for the first one)."""
        grey = sample.grey
        if self._prev is None or self._prev.shape != grey.shape:
            motion = CameraMotion.identity()
        else:
            motion = track(self._prev, grey, self._corners)
            if motion.inlier_ratio < self._min_ratio:
                _logger.debug("no camera motion estimate at frame %d (ratio %.2f)",
                              sample.index, motion.inlier_ratio)
                motion = CameraMotion.identity()
        self._prev = grey
        self._corners = find_corners(grey, max_corners=self._max_corners)
        return motion
