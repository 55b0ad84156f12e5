"""Keeping user geometry registered to the frame it was drawn on, through camera motion.

:class:`ReferenceTracker` holds the transform from the reference frame to the current one.
Each sample it chains the camera motion as a guess, then re-registers the current frame to the
reference directly so errors do not accumulate. :class:`ReferenceRegistered` is the optional
hook through which a fresh detector (e.g. for a refinement pass) receives the reference frame
an earlier detector used.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import numpy as np

from video_pipeline.motion import Homography, Points, find_corners, register

if TYPE_CHECKING:
    from video_pipeline.detector import CameraMotion, FrameSample

_logger = logging.getLogger(__name__)


class ReferenceRegistered(ABC):
    """Optional detector hook: geometry drawn on a reference frame."""

    @property
    @abstractmethod
    def reference(self) -> FrameSample | None:
        """The reference frame in use (``None`` until one has been seen or seeded)."""

    @abstractmethod
    def seed_reference(self, reference: FrameSample) -> None:
        """Use ``reference`` instead of waiting for it in the stream (call before processing)."""


class ReferenceTracker:
    """The transform reference→current for a stream of samples.

    The reference is the seeded sample, or else the first sample at or after
    ``reference_time``. ``update`` returns ``None`` while the transform is unknown (before the
    reference, or when registration fails with no usable chained estimate).
    """

    def __init__(self, *, reference_time: float = 0.0) -> None:
        self._reference_time = reference_time
        self._reference: FrameSample | None = None
        self._corners: Points = np.zeros((0, 1, 2), np.float32)
        self._current: Homography | None = None

    @property
    def reference(self) -> FrameSample | None:
        """The reference sample, once known."""
        return self._reference

    def seed(self, reference: FrameSample) -> None:
        """Register to ``reference`` rather than to a sample of the stream."""
        self._reference = reference
        self._corners = find_corners(reference.grey)
        self._current = None

    def update(self, sample: FrameSample, motion: CameraMotion) -> Homography | None:
        """The transform reference→``sample`` (3×3), or ``None`` when unknown."""
        if self._reference is None:
            if sample.time + 1e-9 < self._reference_time:
                return None
            self.seed(sample)
            self._current = np.eye(3)
            return self._current
        if sample.index == self._reference.index:
            self._current = np.eye(3)
            return self._current
        guess = None
        if self._current is not None and motion.inlier_ratio > 0:
            guess = motion.homography @ self._current
        found = register(self._reference.grey, sample.grey, guess=guess,
                         reference_corners=self._corners)
        if found.inlier_ratio > 0:
            self._current = found.homography
        else:
            _logger.debug("frame %d not registered to reference %d", sample.index,
                          self._reference.index)
            self._current = guess
        return self._current
