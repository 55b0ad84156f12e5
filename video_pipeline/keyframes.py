"""Key frames: the sharpest frame of each shot, event starts and peaks, officer marks.

Every key frame is a full-resolution frame: shot frames are captured during the key-frame
pass itself (the sharpest key frame between two cut candidates), event and mark frames are
decoded again at their exact time. Each is encoded to JPEG in a scratch folder at once
(never many raw frames in memory), hashed (64-bit DCT perceptual hash, as ``imagehash``
computes it, and SHA-256 of the JPEG bytes), and dropped if it is a near-duplicate (Hamming
distance ≤ threshold) of one already kept. Marks win over event frames, which win over shot frames.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import shutil
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PIL import Image

from video_pipeline.decode import frame_at
from video_pipeline.errors import OutputError

if TYPE_CHECKING:
    from video_pipeline.detector import ColourImage, FrameSample, GreyImage
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
    """Variance of the Laplacian: higher is sharper.

    The Laplacian of 8-bit pixels lies within ±1020, so it is taken in 16-bit integers and
    its variance summed in double precision by ``meanStdDev``: the same figure as a float64
    Laplacian's ``var()`` (to rounding), at a tenth of the cost, which counts in ``full``
    mode, where every frame is scored.
    """
    _, std = cv2.meanStdDev(cv2.Laplacian(grey, cv2.CV_16S))
    return float(std[0, 0]) ** 2


def perceptual_hash(bgr: ColourImage) -> str:
    """64-bit DCT perceptual hash as 16 hex digits (of a 256-pixel-wide copy: the hash
    itself looks at 32×32, so shrinking first changes nothing but the cost)."""
    if bgr.shape[1] > 256:
        height = max(32, round(bgr.shape[0] * 256 / bgr.shape[1]))
        bgr = np.asarray(cv2.resize(bgr, (256, height), interpolation=cv2.INTER_AREA),
                         dtype=np.uint8)
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return _phash(Image.fromarray(rgb))


_PHASH_SIDE = 32
_DCT = (2.0 * np.cos(np.pi * np.outer(np.arange(_PHASH_SIDE),
                                       2 * np.arange(_PHASH_SIDE) + 1) / (2 * _PHASH_SIDE)))
"""The unnormalised DCT-II as a matrix (``scipy.fftpack.dct``'s default)."""


def _phash(image: Image.Image) -> str:
    """``str(imagehash.phash(image))``, computed the same way (grey, 32×32 Lanczos, DCT-II
    of rows and columns, the 8×8 lowest frequencies against their median), with the DCT as
    a matrix product: ``imagehash`` imports ``scipy.fftpack`` for it, about 0.27 CPU
    seconds on each analysis in a fresh process."""
    pixels = np.asarray(image.convert("L").resize((_PHASH_SIDE, _PHASH_SIDE),
                                                  Image.Resampling.LANCZOS), dtype=np.float64)
    low = (_DCT @ pixels @ _DCT.T)[:8, :8]
    bits = (low > np.median(low)).ravel()
    return f"{int(''.join('1' if b else '0' for b in bits), 2):016x}"


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


@dataclass(frozen=True, slots=True)
class Candidate:
    """A full-resolution frame already encoded as a JPEG in a scratch folder.

    ``keyframe.file`` is its final name; it is written there only if it survives dedupe.
    """

    keyframe: KeyFrame
    path: Path
    sharpness: float = 0.0


def encode_to(sample: FrameSample, moment: Moment, *, folder: Path,
              score: float | None = None) -> Candidate:
    """Encode ``sample`` (full resolution) as a JPEG in ``folder`` and hash it; ``score`` is
    its sharpness when the caller already knows it.

    Raises:
        OutputError: encoding or writing failed.
    """
    name = f"keyframes/frame_{sample.index:07d}_{moment.reason}.jpg"
    ok, jpeg = cv2.imencode(".jpg", sample.bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise OutputError(f"JPEG encoding failed for {name}")
    data = np.asarray(jpeg).tobytes()
    path = folder / f"{sample.index:07d}_{moment.reason}_{uuid.uuid4().hex[:8]}.jpg"
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror}") from exc
    keyframe = KeyFrame(file=name, time=sample.time, frame=sample.index, reason=moment.reason,
                        label=moment.label, phash=perceptual_hash(sample.bgr),
                        sha256=hashlib.sha256(data).hexdigest(), width=sample.bgr.shape[1],
                        height=sample.bgr.shape[0])
    return Candidate(keyframe, path, sharpness(sample.grey) if score is None else score)


def relabel(candidate: Candidate, moment: Moment) -> Candidate:
    """The same frame wanted for another reason (for example a span's best as a shot)."""
    name = f"keyframes/frame_{candidate.keyframe.frame:07d}_{moment.reason}.jpg"
    keyframe = dataclasses.replace(candidate.keyframe, file=name, reason=moment.reason,
                                   label=moment.label)
    return dataclasses.replace(candidate, keyframe=keyframe)


def decode_moments(source: Path, info: MediaInfo, *, moments: Sequence[Moment],
                   folder: Path, workers: int = 2) -> list[Candidate]:
    """Decode each moment at full resolution (``workers`` ffmpeg processes at a time) and
    encode it into ``folder``. Moments closer than half a frame are decoded once.

    Raises:
        CorruptMedia: a moment could not be decoded.
        ToolError: ffmpeg failed.
        OutputError: a JPEG could not be written.
    """
    unique = _unique(moments, 1.0 / info.video.fps)

    def one(moment: Moment) -> Candidate:
        return encode_to(frame_at(source, info, time=moment.time), moment, folder=folder)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(one, unique))


def finalize(candidates: Sequence[Candidate], *, out_dir: Path,
             threshold: int = 6) -> list[KeyFrame]:
    """Drop near-duplicates (better reasons win) and move the rest into
    ``out_dir/keyframes/``; returns the kept key frames in time order.

    Raises:
        OutputError: a file could not be moved.
    """
    folder = out_dir / "keyframes"
    folder.mkdir(parents=True, exist_ok=True)
    hashes = [(c.keyframe.phash, c.keyframe.reason) for c in candidates]
    kept = []
    for i in dedupe(hashes, threshold=threshold):
        candidate = candidates[i]
        try:
            shutil.copyfile(candidate.path, out_dir / candidate.keyframe.file)
        except OSError as exc:
            raise OutputError(f"cannot write {candidate.keyframe.file}: {exc.strerror}") from exc
        kept.append(candidate.keyframe)
    _logger.info("key frames: %d candidates, %d kept after dedupe", len(candidates), len(kept))
    return sorted(kept, key=lambda k: (k.time, PRIORITY.get(k.reason, 9)))


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
