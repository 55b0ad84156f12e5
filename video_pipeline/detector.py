"""The event-detector interface shared by every detector (PySceneDetect style).

A detector sees a stream of :class:`FrameSample` proxies in presentation order, each with the
camera's :class:`CameraMotion` since the previous sample, and reports :class:`Event` objects
when the stream ends. Detectors never decode video and never call ffmpeg: the decoder feeds
them. One detector per file under ``video_pipeline/detectors/``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import numpy.typing as npt

GreyImage = npt.NDArray[np.uint8]
"""An H×W uint8 image."""
ColourImage = npt.NDArray[np.uint8]
"""An H×W×3 uint8 image in OpenCV's BGR order."""


@dataclass(frozen=True, slots=True)
class FrameSample:
    """One decoded frame, shrunk to a small proxy.

    ``index`` is the frame number in presentation order from the start of the video stream
    (0-based) and ``time`` its presentation time in seconds from the stream start, so an event
    can be placed to the frame in the original recording. ``intra`` marks an I-frame (False
    when unknown): decoded from itself alone, it stays exact when the decoder drafts the
    others (see :func:`video_pipeline.decode.iter_frames`).
    """

    index: int
    time: float
    bgr: ColourImage
    grey: GreyImage
    intra: bool = False


@dataclass(frozen=True, slots=True)
class CameraMotion:
    """Global camera motion from the previous sample to this one.

    ``homography`` maps previous-proxy pixel coordinates to current-proxy coordinates (3×3);
    ``inlier_ratio`` in [0, 1] says how well the estimate is supported (0 when it failed and
    ``homography`` is the identity).
    """

    homography: npt.NDArray[np.float64]
    inlier_ratio: float

    @staticmethod
    def identity() -> CameraMotion:
        """No motion (the first sample, or when no estimate could be made)."""
        return CameraMotion(np.eye(3, dtype=np.float64), 0.0)


@dataclass(frozen=True, slots=True)
class Region:
    """An axis-aligned box in normalised proxy coordinates: all values in [0, 1]."""

    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happens in the footage, placed in stream time (seconds).

    ``start_frame`` is the frame index of ``start``: the violation start, to the frame.
    """

    kind: str
    start: float
    end: float
    peak: float
    start_frame: int
    confidence: float
    region: Region | None = None
    detail: Mapping[str, float | int | str] = field(default_factory=dict)


class EventDetector(ABC):
    """Finds one kind of event in a stream of samples.

    Required: :meth:`process` and :meth:`finish`. Optional hook: :meth:`refine_margin`.
    A detector instance is used for one pass over one stream; create a new one per pass.
    """

    kind: ClassVar[str]

    @abstractmethod
    def process(self, sample: FrameSample, motion: CameraMotion) -> None:
        """Consume the next sample (strictly increasing ``sample.time``)."""

    @abstractmethod
    def finish(self) -> list[Event]:
        """End of stream: return the events found, ordered by start."""

    def refine_margin(self) -> tuple[float, float]:
        """Seconds before and after a coarse event start to decode at full frame rate."""
        return (1.5, 0.5)
