"""Key frames: the sharpest frame of each shot, event starts and peaks, officer marks.

Each wanted moment is decoded again at full resolution at its exact time, hashed (64-bit
DCT perceptual hash from ``imagehash``, and SHA-256 of the JPEG bytes), and dropped if it
is a near-duplicate (Hamming distance ≤ threshold) of a key frame already kept. Marks win
over event frames, which win over shot frames.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import imagehash
import numpy as np
from PIL import Image

from video_pipeline.decode import frame_at
from video_pipeline.errors import OutputError

if TYPE_CHECKING:
    from video_pipeline.detector import ColourImage, GreyImage
    from video_pipeline.probe import MediaInfo

_logger = logging.getLogger(__name__)

PRIORITY = {"mark": 0, "event_start": 1, "event_peak": 2, "shot": 3}
"""Which reason wins when two key frames are near-duplicates (lower wins)."""
JPEG_QUALITY = 92


@dataclass(frozen=True, slots=True)
class Moment:
    """A time for which a key frame is wanted, and why."""

    time: float
    reason: str
    label: str = ""


@dataclass(frozen=True, slots=True)
class KeyFrame:
    """A key frame written to disk (``file`` relative to the output directory)."""

    file: str
    time: float
    frame: int
    reason: str
    label: str
    phash: str
    sha256: str
    width: int
    height: int


def sharpness(grey: GreyImage) -> float:
    """Variance of the Laplacian: higher is sharper."""
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def perceptual_hash(bgr: ColourImage) -> str:
    """64-bit DCT perceptual hash as 16 hex digits."""
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return str(imagehash.phash(Image.fromarray(rgb)))


def hamming(a: str, b: str) -> int:
    """Bits that differ between two hex perceptual hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def dedupe(hashes: Sequence[tuple[str, str]], *, threshold: int) -> list[int]:
    """Indices of the ``(phash, reason)`` items to keep, best reason first then in order.

    An item is dropped when its hash lies within ``threshold`` bits of one already kept.
    """
    order = sorted(range(len(hashes)), key=lambda i: (PRIORITY.get(hashes[i][1], 9), i))
    kept: list[int] = []
    for i in order:
        if all(hamming(hashes[i][0], hashes[k][0]) > threshold for k in kept):
            kept.append(i)
    return sorted(kept)


def best_per_shot(scored: Iterable[tuple[float, float]],
                  shots: Sequence[tuple[float, float]]) -> list[Moment]:
    """For each shot ``(start, end)``, the time of the sharpest ``(time, sharpness)`` in it;
    a shot with no scored frame gets its middle."""
    scored = sorted(scored)
    moments = []
    for k, (start, end) in enumerate(shots):
        inside = [(s, t) for t, s in scored if start <= t < end]
        best = max(inside)[1] if inside else (start + end) / 2
        moments.append(Moment(best, "shot", f"shot {k + 1}"))
    return moments


def extract(source: Path, info: MediaInfo, moments: Sequence[Moment], *, out_dir: Path,
            threshold: int = 6) -> list[KeyFrame]:
    """Decode each moment at full resolution, drop near-duplicates, write JPEGs.

    Files go to ``out_dir/keyframes/``. Moments closer than half a frame are decoded once.
    Only the JPEG bytes are kept between decoding and writing, never the raw frames.

    Raises:
        OutputError: a JPEG could not be encoded or written.
        CorruptMedia: a moment could not be decoded.
        ToolError: ffmpeg failed.
    """
    unique = _unique(moments, 1.0 / info.video.fps)
    encoded = [_encode(source, info, m) for m in unique]
    folder = out_dir / "keyframes"
    folder.mkdir(parents=True, exist_ok=True)
    frames = []
    for i in dedupe([(e.phash, e.reason) for e in encoded], threshold=threshold):
        frame, data = encoded[i], encoded[i].data
        try:
            (out_dir / frame.file).write_bytes(data)
        except OSError as exc:
            raise OutputError(f"cannot write {frame.file}: {exc.strerror}") from exc
        frames.append(frame.keyframe)
    _logger.info("key frames: %d wanted, %d kept after dedupe", len(unique), len(frames))
    return frames


@dataclass(frozen=True, slots=True)
class _Encoded:
    keyframe: KeyFrame
    data: bytes

    @property
    def phash(self) -> str:
        return self.keyframe.phash

    @property
    def reason(self) -> str:
        return self.keyframe.reason

    @property
    def file(self) -> str:
        return self.keyframe.file


def _encode(source: Path, info: MediaInfo, moment: Moment) -> _Encoded:
    sample = frame_at(source, info, time=moment.time)
    name = f"keyframes/frame_{sample.index:07d}_{moment.reason}.jpg"
    ok, jpeg = cv2.imencode(".jpg", sample.bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise OutputError(f"JPEG encoding failed for {name}")
    data = np.asarray(jpeg).tobytes()
    keyframe = KeyFrame(file=name, time=sample.time, frame=sample.index, reason=moment.reason,
                        label=moment.label, phash=perceptual_hash(sample.bgr),
                        sha256=hashlib.sha256(data).hexdigest(), width=sample.bgr.shape[1],
                        height=sample.bgr.shape[0])
    return _Encoded(keyframe, data)


def _unique(moments: Sequence[Moment], frame_s: float) -> list[Moment]:
    ordered = sorted(moments, key=lambda m: (m.time, PRIORITY.get(m.reason, 9)))
    out: list[Moment] = []
    for moment in ordered:
        if out and abs(moment.time - out[-1].time) < frame_s / 2:
            if PRIORITY.get(moment.reason, 9) < PRIORITY.get(out[-1].reason, 9):
                out[-1] = moment
            continue
        out.append(moment)
    return out
