"""Smoke: a region loses contrast and colour compared with how it looked, and grows.

Two gain-invariant maps describe each frame: local contrast (standard deviation over mean) and
HSV saturation, both box-averaged. A slowly updated reference of each is kept in the current
frame's coordinates (warped by the camera motion, like the moving-object background), so camera
shake and global brightness changes do not matter. Pixels whose saturation has dropped, and
whose contrast has dropped where there was some, form the smoke mask. A run is an event when
its area reaches ``min_area`` and has grown ``growth`` times since the run began; the peak is
the time of the largest area.
"""

from __future__ import annotations

import logging
import math

import cv2
import numpy as np
import numpy.typing as npt

from video_pipeline.detector import CameraMotion, Event, EventDetector, FrameSample
from video_pipeline.detectors.foreground import find_blobs
from video_pipeline.detectors.runs import Run, RunTracker, normalise_box
from video_pipeline.motion import compensate

_logger = logging.getLogger(__name__)

Map = npt.NDArray[np.float32]


class SmokeDetector(EventDetector):
    """Growing regions of lost contrast and saturation.

    ``contrast_drop`` and ``saturation_drop`` are the ratios to the reference below which a
    pixel counts; ``low`` / ``min_area`` are area fractions that open a run / make it an event.

    Raises:
        ValueError: ratios not in (0, 1), ``low > min_area``, or ``growth`` < 1.
    """

    kind = "smoke"

    def __init__(self, *, contrast_drop: float = 0.6, saturation_drop: float = 0.6,
                 low: float = 0.002, min_area: float = 0.01, growth: float = 2.0,
                 time_constant: float = 30.0, end_gap: float = 1.0) -> None:
        if not (0 < contrast_drop < 1 and 0 < saturation_drop < 1 and 0 < low <= min_area < 1):
            raise ValueError("drops must be in (0, 1) and 0 < low <= min_area < 1")
        if growth < 1:
            raise ValueError(f"growth must be >= 1, got {growth}")
        self._drops = (contrast_drop, saturation_drop)
        self._low, self._min_area, self._growth = low, min_area, growth
        self._tau = time_constant
        self._reference: tuple[Map, Map] | None = None
        self._time = 0.0
        self._runs = RunTracker(end_gap=end_gap)
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))

    def process(self, sample: FrameSample, motion: CameraMotion) -> None:
        """Compare this sample's contrast and saturation with the reference."""
        contrast, saturation = _maps(sample)
        if self._reference is None or motion.inlier_ratio == 0.0:
            self._reference, self._time = (contrast, saturation), sample.time
            self._runs.feed(sample, score=0.0, active=False)
            return
        ref_c, ref_s = (compensate(m, motion.homography, interpolation=cv2.INTER_CUBIC)
                        for m in self._reference)
        valid = ~(np.isnan(ref_c) | np.isnan(ref_s))
        ref_c, ref_s = np.where(valid, ref_c, contrast), np.where(valid, ref_s, saturation)
        mask = self._mask(contrast, saturation, ref_c, ref_s)
        alpha = 1.0 - math.exp(-max(sample.time - self._time, 1e-3) / self._tau)
        keep = np.float32(alpha) * (mask == 0)
        self._reference = (ref_c + keep * (contrast - ref_c), ref_s + keep * (saturation - ref_s))
        self._time = sample.time
        blobs = find_blobs(mask, min_area=1)
        area = blobs[0].area / mask.size if blobs else 0.0
        region = normalise_box(blobs[0].x, blobs[0].y, blobs[0].w, blobs[0].h,
                               mask.shape) if blobs else None
        self._runs.feed(sample, score=area, active=area >= self._low, region=region)

    def finish(self) -> list[Event]:
        """Runs that grew large enough."""
        return [self._event(run) for run in self._runs.close() if self._is_event(run)]

    def refine_margin(self) -> tuple[float, float]:
        """Growth takes a while to confirm."""
        return (1.5, 2.0)

    def _mask(self, contrast: Map, saturation: Map, ref_c: Map, ref_s: Map) -> npt.NDArray[
            np.uint8]:
        lost_colour = (saturation < self._drops[1] * ref_s) & (ref_s > 0.12)
        flat = ref_c < 0.03
        lost_contrast = (contrast < self._drops[0] * ref_c) | flat
        raw = (lost_colour & lost_contrast).astype(np.uint8) * 255
        opened = cv2.morphologyEx(raw, cv2.MORPH_OPEN, self._kernel)
        return np.asarray(cv2.morphologyEx(opened, cv2.MORPH_CLOSE, self._kernel), np.uint8)

    def _is_event(self, run: Run) -> bool:
        return run.peak_score >= self._min_area and run.peak_score >= self._growth * run.scores[0]

    def _event(self, run: Run) -> Event:
        confidence = min(1.0, run.peak_score / (3.0 * self._min_area))
        return Event(self.kind, run.start, run.end, run.peak, run.start_frame, confidence,
                     run.peak_region, {"peak_area": round(run.peak_score, 5)})


def _maps(sample: FrameSample) -> tuple[Map, Map]:
    """Local contrast (std / mean) and saturation in [0, 1], both over 9×9 windows."""
    grey = sample.grey.astype(np.float32)
    mean = cv2.blur(grey, (9, 9))
    square = cv2.blur(grey * grey, (9, 9))
    std = np.sqrt(np.maximum(square - mean * mean, 0.0))
    contrast = std / (mean + 8.0)
    hsv = cv2.cvtColor(sample.bgr, cv2.COLOR_BGR2HSV)
    saturation = cv2.blur(hsv[..., 1].astype(np.float32) / 255.0, (9, 9))
    return np.asarray(contrast, np.float32), np.asarray(saturation, np.float32)
