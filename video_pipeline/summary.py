"""``summary.mp4``: each event with a few seconds around it, joined, original time burned in.

Every frame of the summary carries the time it had in the original recording (``T+`` stream
time and frame number, plus the wall clock from the recording's creation time when known),
drawn from the decoder's exact timestamps, so a viewer always knows where they are.
Overlapping clips are joined. The summary has no audio and is re-timed to a constant frame
rate (the original's average).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2

from video_pipeline.decode import iter_window
from video_pipeline.ffmpeg import FrameWriter
from video_pipeline.timeline import vtt_time, wall_clock

if TYPE_CHECKING:
    from video_pipeline.detector import ColourImage, FrameSample
    from video_pipeline.probe import MediaInfo

_logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Clip:
    """One stretch of the original in the summary, with what happens in it."""

    start: float
    end: float
    labels: tuple[str, ...]


def plan(moments: Sequence[tuple[float, float, str]], *, before: float, after: float,
         duration: float) -> list[Clip]:
    """Clips ``[start - before, end + after]`` for each ``(start, end, label)``, overlapping
    ones joined, clamped to the recording."""
    raw = sorted((max(0.0, s - before), min(duration, e + after), label)
                 for s, e, label in moments)
    clips: list[Clip] = []
    for start, end, label in raw:
        if clips and start <= clips[-1].end:
            last = clips[-1]
            clips[-1] = Clip(last.start, max(last.end, end), (*last.labels, label))
        else:
            clips.append(Clip(start, end, (label,)))
    return clips


def _burn(image: ColourImage, sample: FrameSample, info: MediaInfo, label: str) -> None:
    scale = max(0.45, image.shape[1] / 1400)
    lines = [f"ORIGINAL T+{vtt_time(sample.time)}  frame {sample.index}"]
    clock = wall_clock(info, sample.time)
    if clock:
        lines.append(f"recorded {clock.replace('T', ' ')}")
    lines.append(label)
    step = int(30 * scale) + 4
    cv2.rectangle(image, (0, 0), (int(image.shape[1] * 0.62), step * len(lines) + 8),
                  (0, 0, 0), -1)
    for k, text in enumerate(lines):
        cv2.putText(image, text, (8, step * (k + 1)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (255, 255, 255), max(1, int(scale * 2)), cv2.LINE_AA)


def write(source: Path, info: MediaInfo, *, clips: Sequence[Clip], out: Path,
          width: int = 1280) -> int:
    """Encode the clips into ``out`` (H.264, ``width`` at most); returns frames written.

    Raises:
        ToolError: decoding or encoding failed.
    """
    w = min(width, info.video.width) // 2 * 2
    h = max(2, round(info.video.height * w / info.video.width / 2) * 2)
    options: dict[str, str | int | float] = {
        "vcodec": "libx264", "preset": "veryfast", "crf": 23, "pix_fmt": "yuv420p",
        "movflags": "+faststart"}
    written = 0
    with FrameWriter(out, width=w, height=h, fps=info.video.fps, codec_options=options,
                     metadata={"comment": f"summary of {Path(info.path).name}"}) as writer:
        for clip in clips:
            label = "; ".join(dict.fromkeys(clip.labels))
            for sample in iter_window(source, info, t0=clip.start, t1=clip.end, width=w):
                image = sample.bgr.copy()
                _burn(image, sample, info, label)
                writer.write(image)
                written += 1
    _logger.info("summary: %d clips, %d frames", len(clips), written)
    return written
