"""Recorder-like test footage built on the fly, with the cut times known exactly.

Each shot looks at its own procedurally painted world (textured blocks, gradients, grain)
through a camera that shakes, bobs like a walking officer, pans, and drifts in exposure.
Sensor noise is added per frame, so x264 at a fixed GOP pumps quality at every I-frame, as
body-worn recorders do. Cuts fall wherever ``cuts`` says, usually mid-GOP.

Frames are encoded by piping raw BGR into ffmpeg (:class:`video_pipeline.ffmpeg.FrameWriter`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import ffmpeg as ffmpeg_python
import numpy as np
import numpy.typing as npt

from video_pipeline.ffmpeg import FrameWriter, run_graph

Image = npt.NDArray[np.uint8]
# ground tones shared between shots (asphalt, sky, grass, brick, concrete), so that shots
# differ in content more than in colour
_TONES = ((105, 105, 110), (200, 160, 110), (70, 130, 80), (70, 90, 150), (170, 170, 165))


@dataclass(frozen=True)
class RecorderClip:
    """An encoded clip and its truth: ``cut_frames`` are the first frames of each new shot."""

    path: Path
    width: int
    height: int
    fps: int
    frame_count: int
    cut_frames: tuple[int, ...]

    @property
    def cut_times(self) -> tuple[float, ...]:
        """Cut times in seconds (the first frame of each new shot)."""
        return tuple(f / self.fps for f in self.cut_frames)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frame_count / self.fps


def _world(width: int, height: int, rng: np.random.Generator) -> Image:
    """A large textured canvas with its own palette."""
    cw, ch = int(width * 1.8), int(height * 1.8)
    base = np.array(_TONES[int(rng.integers(0, len(_TONES)))]) + rng.integers(-20, 20, 3)
    tilt = rng.integers(-60, 60, 3)
    ramp = np.linspace(0.0, 1.0, ch, dtype=np.float32)[:, None, None]
    world = np.clip(base + tilt * ramp + np.zeros((ch, cw, 3), np.float32), 0, 255)
    for _ in range(int(rng.integers(40, 80))):
        colour = tuple(int(v) for v in rng.integers(20, 235, 3))
        x, y = int(rng.integers(0, cw)), int(rng.integers(0, ch))
        w, h = int(rng.integers(width // 30, width // 5)), int(rng.integers(height // 30,
                                                                            height // 4))
        if rng.random() < 0.5:
            cv2.rectangle(world, (x, y), (x + w, y + h), colour, -1)
        else:
            cv2.circle(world, (x, y), max(2, w // 2), colour, -1)
    texture = rng.normal(0.0, 14.0, (ch // 4, cw // 4, 1)).astype(np.float32)
    texture = cv2.resize(texture, (cw, ch), interpolation=cv2.INTER_LINEAR)[..., None]
    return np.clip(world + texture, 0, 255).astype(np.uint8)


class _Shot:
    """One shot: its world and its camera path (shake, walking bob, pan, exposure)."""

    def __init__(self, width: int, height: int, fps: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.world = _world(width, height, rng)
        self.size, self.fps, self.rng = (width, height), fps, rng
        self.pan = rng.uniform(-0.12, 0.12, 2) * (width, height)  # pixels per second
        self.shake = rng.uniform(0.004, 0.012) * width
        self.phase = rng.uniform(0, 2 * math.pi)

    def frame(self, k: int) -> Image:
        width, height = self.size
        t = k / self.fps
        ch, cw = self.world.shape[:2]
        cx = cw / 2 + 3 * self.pan[0] * math.sin(2 * math.pi * t / 12.0) + self.shake * (
            1.5 * math.sin(2 * math.pi * 1.8 * t + self.phase) + self.rng.normal())
        cy = ch / 2 + 3 * self.pan[1] * math.sin(2 * math.pi * t / 12.0) + self.shake * (
            math.sin(2 * math.pi * 3.6 * t) + self.rng.normal())
        theta = math.radians(1.2 * math.sin(2 * math.pi * 0.7 * t + self.phase))
        c, s = math.cos(theta), math.sin(theta)
        m = np.array([[c, -s, 0.0], [s, c, 0.0]])
        m[:, 2] = np.array([width / 2, height / 2]) - m[:, :2] @ np.array([cx, cy])
        frame = cv2.warpAffine(self.world, m, (width, height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)
        gain = 1.0 + 0.06 * math.sin(2 * math.pi * t / 4.0 + self.phase)
        return cv2.convertScaleAbs(frame, alpha=gain)


def recorder_frames(*, width: int, height: int, fps: int, frame_count: int,
                    cut_frames: Sequence[int], seed: int = 0,
                    grain: float = 6.0) -> Iterator[Image]:
    """Frames of a multi-shot recording with cuts at ``cut_frames`` (first frame of a shot)."""
    starts = [0, *sorted(cut_frames)]
    noise_rng = np.random.default_rng([seed, 99])
    bank = [noise_rng.normal(0.0, grain, (height, width, 3)).astype(np.int16) for _ in range(4)]
    shot = _Shot(width, height, fps, seed)
    for k in range(frame_count):
        if k in starts[1:]:
            shot = _Shot(width, height, fps, seed * 1000 + starts.index(k))
        frame = shot.frame(k).astype(np.int16)
        noise = np.roll(bank[k % 4], int(noise_rng.integers(0, width)), axis=1)
        yield np.clip(frame + noise, 0, 255).astype(np.uint8)


def x264_options(*, gop: int, bitrate: str | None = None, crf: int = 23,
                 preset: str = "veryfast") -> dict[str, str | int | float]:
    """A recorder-like H.264 encode: High profile, fixed GOP, no scene-cut I-frames, B-frames."""
    opts: dict[str, str | int | float] = {
        "vcodec": "libx264", "profile:v": "high", "pix_fmt": "yuv420p", "preset": preset,
        "g": gop, "keyint_min": gop, "sc_threshold": 0, "bf": 2, "movflags": "+faststart"}
    if bitrate:
        opts.update({"b:v": bitrate, "maxrate": bitrate, "bufsize": bitrate})
    else:
        opts["crf"] = crf
    return opts


def encode(frames: Iterable[Image], out: Path, *, width: int, height: int, fps: float,
           options: dict[str, str | int | float],
           metadata: dict[str, str] | None = None) -> None:
    """Encode BGR frames to ``out`` with ffmpeg."""
    with FrameWriter(out, width=width, height=height, fps=fps, codec_options=options,
                     metadata=metadata) as writer:
        for frame in frames:
            writer.write(frame)


def write_recorder_clip(out: Path, *, width: int = 640, height: int = 360, fps: int = 30,
                        seconds: float = 10.0, cut_times: Sequence[float] = (3.4, 6.7),
                        gop: int = 30, bitrate: str | None = None, seed: int = 1,
                        metadata: dict[str, str] | None = None) -> RecorderClip:
    """Generate and encode a recorder-like clip; cuts at ``cut_times`` (rounded to frames)."""
    frame_count = round(seconds * fps)
    cut_frames = tuple(round(t * fps) for t in cut_times)
    frames = recorder_frames(width=width, height=height, fps=fps, frame_count=frame_count,
                             cut_frames=cut_frames, seed=seed)
    encode(frames, out, width=width, height=height, fps=fps,
           options=x264_options(gop=gop, bitrate=bitrate), metadata=metadata)
    return RecorderClip(path=out, width=width, height=height, fps=fps, frame_count=frame_count,
                        cut_frames=cut_frames)


def draw_face(image: Image, *, centre: tuple[int, int], size: int) -> None:
    """Paint a simple frontal face (skin oval, brows, eyes, nose, mouth, hair) in place;
    OpenCV's frontal Haar cascade finds it at sizes from about 60 px."""
    cx, cy = centre
    cv2.ellipse(image, (cx, cy), (int(size * 0.42), int(size * 0.55)), 0, 0, 360,
                (140, 170, 215), -1)
    ey, ex = int(cy - size * 0.12), int(size * 0.18)
    for side in (-1, 1):
        cv2.ellipse(image, (cx + side * ex, ey - int(size * 0.1)),
                    (int(size * 0.11), int(size * 0.03)), 0, 180, 360, (40, 50, 60), -1)
        cv2.ellipse(image, (cx + side * ex, ey), (int(size * 0.08), int(size * 0.045)), 0, 0,
                    360, (245, 245, 245), -1)
        cv2.circle(image, (cx + side * ex, ey), int(size * 0.035), (30, 30, 40), -1)
    cv2.ellipse(image, (cx, int(cy + size * 0.08)), (int(size * 0.05), int(size * 0.12)), 0, 0,
                360, (120, 150, 200), -1)
    cv2.ellipse(image, (cx, int(cy + size * 0.28)), (int(size * 0.15), int(size * 0.05)), 0, 0,
                360, (60, 60, 150), -1)
    cv2.ellipse(image, (cx, cy - int(size * 0.5)), (int(size * 0.45), int(size * 0.2)), 0, 180,
                360, (30, 40, 50), -1)


def face_frames(*, width: int, height: int, fps: int, seconds: float) -> Iterator[Image]:
    """A plain wall with a face drifting slowly across it."""
    for k in range(round(seconds * fps)):
        frame = np.full((height, width, 3), (90, 110, 120), np.uint8)
        x = int(width * (0.3 + 0.4 * k / max(1, seconds * fps)))
        draw_face(frame, centre=(x, height // 2), size=height // 3)
        yield cv2.GaussianBlur(frame, (0, 0), 1.0)


def marker_frames(*, width: int, height: int, fps: int, seconds: float) -> Iterator[Image]:
    """Grey frames with a white block in the top-left corner (to check orientation)."""
    for _ in range(round(seconds * fps)):
        frame = np.full((height, width, 3), 60, np.uint8)
        frame[: height // 4, : width // 4] = 255
        yield frame


def remux(src: Path, out: Path, **output_options: str) -> None:
    """Copy ``src`` into ``out`` without re-encoding, with extra output options
    (for example ``{"metadata:s:v:0": "rotate=90"}``)."""
    node = ffmpeg_python.input(str(src)).output(str(out), c="copy", **output_options)
    run_graph(node, what=f"remux {src.name}")


def lavfi(out: Path, source: str, *, seconds: float, **output_options: str | int) -> None:
    """Render an ffmpeg ``lavfi`` source (``sine``, ``testsrc2=...``) into ``out``."""
    node = ffmpeg_python.input(source, f="lavfi", t=seconds).output(str(out), **output_options)
    run_graph(node, what=f"lavfi {source}")


def vfr_clip(out: Path, *, seconds: float = 3.0) -> None:
    """H.264 whose frame intervals alternate between about 45 and 22 ms (variable rate)."""
    node = (ffmpeg_python.input("testsrc2=s=320x240:r=30", f="lavfi", t=seconds)
            .filter("settb", "1/1000").filter("setpts", "N/30/TB+mod(N,2)*0.012/TB")
            .output(str(out), vcodec="libx264", pix_fmt="yuv420p", fps_mode="passthrough",
                    enc_time_base="1:1000"))
    run_graph(node, what="variable frame rate clip")
