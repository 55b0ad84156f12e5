"""Smoke: a region loses contrast and colour compared with how it looked, and grows.

Two gain-invariant maps describe each frame: local contrast (standard deviation over mean) and
HSV saturation, both box-averaged. A slowly updated reference of each is kept in the current
frame's coordinates (warped by the camera motion, like the moving-object background), so camera
shake and global brightness changes do not matter; the maps are re-warped every sample, so
they are interpolated cubically (bilinear warps blur them a little each time, and a reference
smeared by camera shake turns colour edges into bands of apparent colour loss). Pixels whose
saturation has dropped, and whose contrast has dropped where there was some, form the smoke
mask. A run is an event when its area reaches ``min_area`` and has grown ``growth`` times since
the run began; the peak is the time of the largest area.

Ghosts. The reference follows the frame only where the frame matches it, and anything in front
of it (more colour or contrast, or a smoke-like loss) freezes it there. Something that arrives
and stays for ``hold`` seconds without looking like smoke (a person standing, a parked car) is
absorbed at once, and the reference it covered is kept as a second layer under it. A pixel
counts as smoke only if it lost colour and contrast against both layers, and where the frame
matches the layer underneath again (the object left), that layer becomes the reference at
once. So the place where a figure stood is never taken for a region that lost colour: without
the second layer, the revealed, greyer background of a figure that had been absorbed read as a
growing, colourless region, and being flagged it was frozen in the reference for good.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from video_pipeline.detector import CameraMotion, Event, EventDetector, FrameSample
from video_pipeline.detectors.foreground import find_blobs
from video_pipeline.detectors.runs import Run, RunTracker, normalise_box
from video_pipeline.motion import compensate

_logger = logging.getLogger(__name__)

Map = npt.NDArray[np.float32]
Flags = npt.NDArray[np.bool_]


class SmokeDetector(EventDetector):
    """Growing regions of lost contrast and saturation.

    ``contrast_drop`` and ``saturation_drop`` are the ratios to the reference below which a
    pixel counts; ``low`` / ``min_area`` are area fractions that open a run / make it an event;
    ``time_constant`` (seconds) sets how fast the reference follows the scene, and ``hold``
    (seconds) how long something that is not smoke may stand in front of it before it is
    absorbed (see the module docstring).

    Raises:
        ValueError: ratios not in (0, 1), ``low > min_area``, ``growth`` < 1 or ``hold`` <= 0.
    """

    kind = "smoke"

    def __init__(self, *, contrast_drop: float = 0.6, saturation_drop: float = 0.6,
                 low: float = 0.002, min_area: float = 0.01, growth: float = 2.0,
                 time_constant: float = 30.0, end_gap: float = 1.0, hold: float = 3.0) -> None:
        if not (0 < contrast_drop < 1 and 0 < saturation_drop < 1 and 0 < low <= min_area < 1):
            raise ValueError("drops must be in (0, 1) and 0 < low <= min_area < 1")
        if growth < 1:
            raise ValueError(f"growth must be >= 1, got {growth}")
        if hold <= 0:
            raise ValueError(f"hold must be positive, got {hold}")
        self._drops = (contrast_drop, saturation_drop)
        self._low, self._min_area, self._growth = low, min_area, growth
        self._tau = time_constant
        self._hold = hold
        self._layers: _Layers | None = None
        self._time = 0.0
        self._runs = RunTracker(end_gap=end_gap)
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))

    def process(self, sample: FrameSample, motion: CameraMotion) -> None:
        """Compare this sample's contrast and saturation with the reference layers."""
        contrast, saturation = _maps(sample)
        if self._layers is None or motion.inlier_ratio == 0.0:
            self._layers = _Layers.start(contrast, saturation)
            self._time = sample.time
            self._runs.feed(sample, score=0.0, active=False)
            return
        frame = np.stack((contrast, saturation, contrast, saturation))
        layers = self._layers.warped(motion.homography, frame)
        lost_ref = self._lost(contrast, saturation, layers.ref_c, layers.ref_s)
        lost_under = self._lost(contrast, saturation, layers.under_c, layers.under_s)
        mask = self._clean(lost_ref & lost_under)
        smoke = mask > 0
        changed = lost_ref | self._gained(contrast, saturation, layers.ref_c, layers.ref_s)
        background = ~lost_under & ~self._gained(contrast, saturation, layers.under_c,
                                                 layers.under_s)
        uncovered = changed & background
        alpha = 1.0 - math.exp(-max(sample.time - self._time, 1e-3) / self._tau)
        self._layers = layers.updated(
            frame, time=sample.time, alpha=alpha, changed=changed & ~uncovered,
            background=background, uncovered=uncovered, release=changed & ~smoke & ~uncovered,
            hold=self._hold)
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

    def _lost(self, contrast: Map, saturation: Map, ref_c: Map, ref_s: Map) -> Flags:
        """Pixels that lost colour, and contrast where there was some, against a layer."""
        lost_colour = (saturation < self._drops[1] * ref_s) & (ref_s > 0.12)
        flat = ref_c < 0.03
        lost_contrast = (contrast < self._drops[0] * ref_c) | flat
        return np.asarray(lost_colour & lost_contrast, np.bool_)

    def _gained(self, contrast: Map, saturation: Map, ref_c: Map, ref_s: Map) -> Flags:
        """Pixels with clearly more colour or contrast than a layer: something in front of it."""
        more_colour = (self._drops[1] * saturation > ref_s) & (saturation > 0.12)
        more_contrast = (self._drops[0] * contrast > ref_c) & (contrast > 0.03)
        return np.asarray(more_colour | more_contrast, np.bool_)

    def _clean(self, flags: Flags) -> npt.NDArray[np.uint8]:
        raw = flags.astype(np.uint8) * 255
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


@dataclass(frozen=True, slots=True)
class _Layers:
    """The reference and the background under it, in the current frame's coordinates.

    ``maps`` holds four planes: the reference's contrast and saturation (what the scene
    looks like now when nothing new is in front) and the contrast and saturation of the
    background under it (what it looked like before the last object was absorbed; the same
    as the reference until then). Each plane is warped on its own: OpenCV's cubic warp of a
    four-channel image costs more than four one-channel warps. ``since`` is when
    each pixel began to differ from the reference (NaN where it does not).
    """

    maps: npt.NDArray[np.float32]
    since: Map

    @property
    def ref_c(self) -> Map:
        return np.asarray(self.maps[0], np.float32)

    @property
    def ref_s(self) -> Map:
        return np.asarray(self.maps[1], np.float32)

    @property
    def under_c(self) -> Map:
        return np.asarray(self.maps[2], np.float32)

    @property
    def under_s(self) -> Map:
        return np.asarray(self.maps[3], np.float32)

    @staticmethod
    def start(contrast: Map, saturation: Map) -> _Layers:
        return _Layers(np.stack((contrast, saturation, contrast, saturation)),
                       np.full(contrast.shape, np.nan, np.float32))

    def warped(self, homography: npt.NDArray[np.float64],
               frame: npt.NDArray[np.float32]) -> _Layers:
        """Every layer moved by the camera; newly exposed pixels take ``frame``'s values.

        ``frame`` holds the sample's maps in the plane order of ``maps``.
        """
        maps = np.stack([compensate(m, homography, interpolation=cv2.INTER_CUBIC)
                         for m in self.maps])
        fresh = np.isnan(maps).any(axis=0)
        maps[:, fresh] = frame[:, fresh]
        since = (compensate(self.since, homography, interpolation=cv2.INTER_NEAREST)
                 if not np.isnan(self.since).all() else self.since)
        return _Layers(maps, since)

    def updated(self, frame: npt.NDArray[np.float32], *, time: float, alpha: float,
                changed: Flags, background: Flags, uncovered: Flags, release: Flags,
                hold: float) -> _Layers:
        """Absorb what matches, restore what was uncovered, release what stood too long.

        Where the frame matches the reference (not ``changed``) the reference follows it at
        rate ``alpha``, and the background under it does where the frame matches that
        (``background``). Where the frame matches the background under an absorbed object
        but not the reference (``uncovered``: the object left), that background becomes the
        reference again at once, so no ghost remains. Pixels in ``release`` that have
        differed from the reference for ``hold`` seconds (something that arrived and stays)
        are absorbed at once, and the old reference is kept under them.
        """
        since = np.where(changed, np.where(np.isnan(self.since), np.float32(time), self.since),
                         np.float32(np.nan)).astype(np.float32)
        absorb = release & (time - since >= hold)
        follow, under = np.float32(alpha) * ~changed, np.float32(alpha) * background
        rate = np.stack((follow, follow, under, under))
        maps = self.maps + rate * (frame - self.maps)
        if uncovered.any():
            maps[:2, uncovered] = maps[2:, uncovered]
        if absorb.any():
            maps[2:, absorb] = maps[:2, absorb]
            maps[:2, absorb] = frame[:2, absorb]
            since[absorb] = np.nan
        return _Layers(maps, since)
