"""Disclosure copies with faces blurred (OpenCV's bundled Haar cascades).

Every frame is decoded upright at full size; faces are searched on a reduced grey copy
(frontal and profile cascades, the profile one on the mirrored frame too) every
``detect_every`` frames, and each box found is kept for ``hold`` frames so a face does not
flash unblurred between detections. Boxes are enlarged by a margin and blurred heavily.

The copy is hash-linked to its source: the source's SHA-256 is written into the copy's
container metadata (``comment``) and into a JSON report next to it, which also holds the
copy's own SHA-256. Haar cascades miss faces (small, turned, dark); a redacted copy must be
reviewed by a person before release, and the report says so.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from video_pipeline.analyze import sha256_file
from video_pipeline.decode import iter_frames
from video_pipeline.errors import OutputError, PipelineError
from video_pipeline.ffmpeg import FrameWriter
from video_pipeline.probe import ProbeLimits, probe

if TYPE_CHECKING:
    from video_pipeline.detector import ColourImage, GreyImage

_logger = logging.getLogger(__name__)

REPORT_SCHEMA = "video_pipeline.redaction"
REPORT_VERSION = "1.0"
Box = tuple[int, int, int, int]
_DARK = 70.0


@dataclass(frozen=True, slots=True)
class RedactionResult:
    """The redacted copy, its report, and what was blurred."""

    output: Path
    output_sha256: str
    report: Path
    source_sha256: str
    frames: int
    frames_with_faces: int
    boxes: int


class FaceFinder:
    """Haar-cascade face boxes in full-frame pixel coordinates.

    Raises:
        PipelineError: the cascade files are missing from this OpenCV build.
    """

    def __init__(self, *, work_width: int = 640) -> None:
        base = Path(cv2.data.haarcascades)  # type: ignore[attr-defined]
        self._cascades = [cv2.CascadeClassifier(str(base / name)) for name in (
            "haarcascade_frontalface_default.xml", "haarcascade_profileface.xml")]
        if any(c.empty() for c in self._cascades):
            raise PipelineError(f"OpenCV's Haar cascades are missing under {base}")
        self._work_width = work_width
        self._clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))

    def find(self, grey: GreyImage) -> list[Box]:
        """Face boxes ``(x, y, w, h)`` in the coordinates of ``grey``."""
        scale = min(1.0, self._work_width / grey.shape[1])
        small = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        if float(small.mean()) < _DARK:  # lift dark footage; global equalisation hurts
            small = self._clahe.apply(small)
        boxes: list[Box] = []
        for k, cascade in enumerate(self._cascades):
            views = [(small, False)] + ([(cv2.flip(small, 1), True)] if k == 1 else [])
            for view, mirrored in views:
                found = cascade.detectMultiScale(view, scaleFactor=1.1, minNeighbors=4,
                                                 minSize=(16, 16))
                for x, y, w, h in (found if len(found) else []):
                    x = view.shape[1] - x - w if mirrored else x
                    boxes.append((round(x / scale), round(y / scale), round(w / scale),
                                  round(h / scale)))
        return boxes


def blur_boxes(image: ColourImage, boxes: list[Box], *, margin: float = 0.25) -> None:
    """Blur each box (enlarged by ``margin`` of its size) in place, beyond recognition."""
    height, width = image.shape[:2]
    for x, y, w, h in boxes:
        dx, dy = int(w * margin), int(h * margin)
        x0, y0 = max(0, x - dx), max(0, y - dy)
        x1, y1 = min(width, x + w + dx), min(height, y + h + dy)
        if x1 <= x0 or y1 <= y0:
            continue
        region = image[y0:y1, x0:x1]
        small = cv2.resize(region, (max(1, (x1 - x0) // 16), max(1, (y1 - y0) // 16)),
                           interpolation=cv2.INTER_AREA)
        coarse = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
        image[y0:y1, x0:x1] = cv2.GaussianBlur(coarse, (0, 0), max(2.0, (x1 - x0) / 12))


def redact(source: Path, out: Path, *, source_sha256: str | None = None, detect_every: int = 2,
           hold: int = 6, limits: ProbeLimits | None = None,
           progress: Callable[[float], None] | None = None) -> RedactionResult:
    """Write ``out`` (H.264 MP4, audio copied) with faces blurred, and ``out``.json report.

    ``source_sha256`` is the caller's hash of ``source`` (for example the one recorded at
    ingest); without it the file is hashed here. It goes into the copy's metadata and report.

    Raises:
        MediaError: the source is not usable video.
        ToolError: decoding or encoding failed.
        OutputError: the copy or its report cannot be written.
    """
    info = probe(source, limits=limits)
    source_sha256 = source_sha256 or sha256_file(source)
    finder, held = FaceFinder(), list[tuple[Box, int]]()
    tmp = out.with_name(f".{out.name}.partial{out.suffix}")
    options: dict[str, str | int | float] = {
        "vcodec": "libx264", "preset": "veryfast", "crf": 20, "pix_fmt": "yuv420p",
        "movflags": "+faststart", "acodec": "aac"}
    audio = any(s.kind == "audio" and s.decodable for s in info.streams)
    frames = with_faces = boxes_total = 0
    with FrameWriter(tmp, width=info.video.width, height=info.video.height, fps=info.video.fps,
                     codec_options=options, audio_from=source if audio else None,
                     metadata={"comment": f"redacted copy of sha256:{source_sha256}",
                               "title": f"redacted {source.name}"}) as writer:
        for sample in iter_frames(source, info, width=info.video.width):
            if frames % detect_every == 0:
                held = [(b, frames + hold) for b in finder.find(sample.grey)] + [
                    (b, until) for b, until in held if until > frames]
            live = [b for b, until in held if until >= frames]
            image = np.array(sample.bgr, copy=True)
            blur_boxes(image, live)
            writer.write(image)
            frames, with_faces = frames + 1, with_faces + bool(live)
            boxes_total += len(live)
            if progress is not None:
                progress(min(1.0, sample.time / info.duration))
    return _finish(source, out, tmp, source_sha256=source_sha256, frames=frames,
                   with_faces=with_faces, boxes=boxes_total)


def _finish(source: Path, out: Path, tmp: Path, *, source_sha256: str, frames: int,
            with_faces: int, boxes: int) -> RedactionResult:
    try:
        os.replace(tmp, out)
        digest = sha256_file(out)
        report = out.with_name(out.name + ".json")
        result = RedactionResult(output=out, output_sha256=digest, report=report,
                                 source_sha256=source_sha256, frames=frames,
                                 frames_with_faces=with_faces, boxes=boxes)
        body = {"schema": REPORT_SCHEMA, "schema_version": REPORT_VERSION,
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "source": {"name": source.name, "sha256": source_sha256},
                "output": {"name": out.name, "sha256": digest},
                "method": "OpenCV Haar cascades (frontal + profile), blurred boxes",
                "review_required": True,
                "frames": frames, "frames_with_faces": with_faces, "boxes": boxes}
        report.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write the redacted copy {out}: {exc.strerror}") from exc
    _logger.info("redacted %s: %d of %d frames had faces", source.name, with_faces, frames)
    return result
