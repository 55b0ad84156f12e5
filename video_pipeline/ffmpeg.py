"""The only module that runs ffmpeg or ffprobe, always through ffmpeg-python.

Tools are found on ``PATH``; without ffmpeg there, the binary bundled with ``imageio-ffmpeg``
is used. That bundle has no ffprobe, so :func:`find_tools` reports ``ffprobe=None`` and the
probe module falls back to parsing ``ffmpeg -i`` (see ``docs/timeline-format.md``).

Every failure raises :class:`~video_pipeline.errors.ToolError` with the tail of ffmpeg's
stderr attached. Decoding always runs with ``-copyts``: timestamps are the container's own,
and callers subtract the stream's start time.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import logging
import queue
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import ffmpeg
import numpy as np

from video_pipeline.errors import CorruptMedia, ToolError, ToolNotFound

_logger = logging.getLogger(__name__)

_GLOBAL = ("-nostdin", "-hide_banner", "-nostats", "-loglevel", "level+info")
_SHOWINFO = re.compile(
    r"\bn:\s*(\d+)\s+pts:\s*(-?\d+)\s+pts_time:(\S+)(?:\s+pos:\s*(-?\d+))?.*?\biskey:(\d)"
    r"(?:\s+type:(\w))?")
"""A showinfo line; ``pos`` (the packet's byte position) is absent from ffmpeg 7's."""
_INSTANCE = re.compile(r"\[Parsed_showinfo_(\d+) @")
_TAIL_LINES = 30
_DAMAGE = ("Invalid data", "Error while decoding", "corrupt", "NAL unit", "missing picture",
           "error while decoding MB", "Invalid NAL")
"""Decoder complaints that mean the file, not ffmpeg, is at fault."""


@dataclass(frozen=True, slots=True)
class Tools:
    """Paths of the binaries in use; ``ffprobe`` is None with the imageio-ffmpeg fallback."""

    ffmpeg: str
    ffprobe: str | None
    origin: str


@functools.cache
def find_tools() -> Tools:
    """ffmpeg and ffprobe from ``PATH``, else imageio-ffmpeg's ffmpeg (no ffprobe).

    Raises:
        ToolNotFound: neither is available.
    """
    exe = shutil.which("ffmpeg")
    if exe is not None:
        return Tools(ffmpeg=exe, ffprobe=shutil.which("ffprobe"), origin="PATH")
    try:
        import imageio_ffmpeg

        bundled = str(imageio_ffmpeg.get_ffmpeg_exe())
    except Exception as exc:
        raise ToolNotFound("ffmpeg is not on PATH and imageio-ffmpeg has no binary") from exc
    _logger.info("ffmpeg not on PATH; using imageio-ffmpeg's %s (no ffprobe)", bundled)
    return Tools(ffmpeg=bundled, ffprobe=None, origin="imageio-ffmpeg")


def _tail(stderr: bytes | str | None, lines: int = _TAIL_LINES) -> str:
    if not stderr:
        return ""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    return "\n".join(text.strip().splitlines()[-lines:])


def run_ffprobe(path: Path, **options: str) -> dict[str, Any]:
    """``ffprobe -show_format -show_streams`` (plus ``options``) as parsed JSON.

    Raises:
        ToolNotFound: no ffprobe (use :func:`read_banner` instead).
        ToolError: ffprobe failed; ``stderr_tail`` says why.
    """
    tools = find_tools()
    if tools.ffprobe is None:
        raise ToolNotFound("ffprobe is not available")
    try:
        result: dict[str, Any] = ffmpeg.probe(str(path), cmd=tools.ffprobe, **options)
    except ffmpeg.Error as exc:
        raise ToolError(f"ffprobe failed on {path.name}", stderr_tail=_tail(exc.stderr)) from exc
    return result


def read_banner(path: Path) -> str:
    """What ``ffmpeg -i FILE`` prints about the input (the ffprobe-less probe).

    Raises:
        ToolError: ffmpeg could not open the input; ``stderr_tail`` says why.
    """
    node = ffmpeg.input(str(path)).output("-", format="null", t=0).global_args(
        "-nostdin", "-hide_banner")
    try:
        _, err = node.run(cmd=find_tools().ffmpeg, capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as exc:
        raise ToolError(f"ffmpeg cannot open {path.name}", stderr_tail=_tail(exc.stderr)) from exc
    return bytes(err).decode("utf-8", "replace")


def read_packet_pts(path: Path, *, seconds: float) -> tuple[str, list[int]]:
    """Presentation timestamps of the first video stream's packets, without decoding.

    Uses ``-c copy -f framemd5`` so it works without ffprobe. Returns the time base as
    printed (``"1/15360"``) and the pts values in demux order.

    Raises:
        ToolError: ffmpeg failed.
    """
    node = (ffmpeg.input(str(path), t=seconds)
            .output("-", format="framemd5", map="0:v:0", c="copy")
            .global_args("-nostdin", "-hide_banner", "-loglevel", "error"))
    try:
        out, _ = node.run(cmd=find_tools().ffmpeg, capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as exc:
        raise ToolError(f"ffmpeg cannot read packets of {path.name}",
                        stderr_tail=_tail(exc.stderr)) from exc
    time_base, pts = "", []
    for line in bytes(out).decode("ascii", "replace").splitlines():
        if line.startswith("#tb 0:"):
            time_base = line.split(":", 1)[1].strip()
        elif line and not line.startswith("#"):
            pts.append(int(line.split(",")[2]))
    return time_base, pts


@dataclass(frozen=True, slots=True)
class Packet:
    """One video packet as the demuxer gives it: timestamps in the stream's time base."""

    pts: int
    dts: int
    size: int
    key: bool


def read_packets(path: Path, *, spans: Sequence[tuple[float, float]]) -> list[Packet]:
    """The first video stream's packets in the given ``(start, duration)`` spans (file
    seconds; each read from the key frame at or before its start), in demux order, without
    decoding: one ffprobe process for all spans.

    Raises:
        ToolNotFound: no ffprobe.
        ToolError: ffprobe failed.
    """
    intervals = ",".join(f"{max(0.0, a):.6f}%+{d:.6f}" for a, d in spans)
    found = run_ffprobe(path, select_streams="v:0", show_entries="packet=pts,dts,size,flags",
                        read_intervals=intervals)
    packets = []
    for item in found.get("packets", []):
        if "pts" not in item or "dts" not in item:
            continue
        packets.append(Packet(pts=int(item["pts"]), dts=int(item["dts"]),
                              size=int(item.get("size", 0)),
                              key="K" in str(item.get("flags", ""))))
    return packets


def run_null_decode(path: Path) -> None:
    """``ffmpeg -an -i FILE -f null -``: decode every video frame and discard it.

    Raises:
        ToolError: decoding failed.
    """
    node = ffmpeg.input(str(path)).output("-", format="null", an=None).global_args(*_GLOBAL[:3])
    try:
        node.run(cmd=find_tools().ffmpeg, capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as exc:
        raise ToolError(f"ffmpeg null decode of {path.name} failed",
                        stderr_tail=_tail(exc.stderr)) from exc


@dataclass(frozen=True, slots=True)
class RawFrame:
    """One decoded frame with its container timestamp (``-copyts``). ``intra``: an I-frame
    (decoded from itself alone, so a draft decode with ``skip_loop_filter="nokey"`` leaves it
    exact); ``segment``: which of a :class:`FrameReader`'s ``segments`` it belongs to."""

    pts: int
    pts_time: float
    key: bool
    image: np.ndarray[Any, np.dtype[np.uint8]]
    intra: bool = False
    segment: int = 0


_Info = tuple[int, float, bool, bool, int]
"""pts, pts_time, key frame, I-frame, segment: what showinfo logged about one output frame."""


class _StderrPump(threading.Thread):
    """Reads ffmpeg's stderr: showinfo lines into a queue, the rest into a short tail.

    With ``segments`` inputs (see :class:`FrameReader`), instances ``0..segments-1`` of
    showinfo log each input's frames with their own timestamps, in no useful order (ffmpeg
    decodes each input's first frame at start); the one after the concatenation logs the
    output frames in order. Frames are matched by their packet's byte position, which no
    filter changes and no two frames of a file share.
    """

    def __init__(self, stream: IO[bytes], *, segments: int = 0) -> None:
        super().__init__(daemon=True)
        self._stream = stream
        self._segments = segments
        self._by_pos: dict[int, _Info] = {}
        self.frames: queue.Queue[_Info | None] = queue.Queue()
        self.tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        self.errors: list[str] = []

    def run(self) -> None:
        for raw in self._stream:
            line = raw.decode("utf-8", "replace").rstrip()
            match = _SHOWINFO.search(line) if "showinfo" in line else None
            if match:
                self._frame(line, match)
                continue
            self.tail.append(line)
            if "[error]" in line or "[fatal]" in line:
                self.errors.append(line)
        self.frames.put(None)

    def _frame(self, line: str, match: re.Match[str]) -> None:
        info = (int(match[2]), float(match[3]), match[5] == "1", match[6] == "I", 0)
        if not self._segments:
            self.frames.put(info)
            return
        instance = _INSTANCE.search(line)
        index = int(instance[1]) if instance else -1
        pos = int(match[4]) if match[4] is not None else -1
        if 0 <= index < self._segments:
            self._by_pos[pos] = (*info[:4], index)
        else:  # the output frame: its own input's record, or segment -1 if there is none
            self.frames.put(self._by_pos.pop(pos, (*info[:4], -1)) if pos >= 0 else
                            (*info[:4], -1))


class FrameReader:
    """Decode one video stream to BGR frames of a fixed size through a rawvideo pipe.

    Used as a context manager; iterate it for :class:`RawFrame` objects. Memory stays flat:
    one frame is read at a time, in fixed-size chunks. ffmpeg's autorotation is on, so
    frames come out upright; ``width``/``height`` are the upright output size. ``pix_fmt``
    is ``bgr24`` (H×W×3) or ``yuv420p`` (OpenCV I420 layout, (H·3/2)×W: no colour
    conversion in ffmpeg at all, for full-size frames). ``skip_loop_filter`` skips deblocking
    (frames for measurement only) on the frames it names, in ffmpeg's terms: ``"all"``, or
    ``"nokey"`` (all but I-frames, which then decode exactly); ``find_stream_info=False``
    skips ffmpeg's trial decode of the file's first frames at open, for containers whose
    header already gives the codec parameters (MP4/MOV); ``accurate_seek=False`` outputs
    every frame from the key frame that ``start`` lands on (ffmpeg's ``-noaccurate_seek``)
    instead of dropping those before ``start``.

    ``segments``, instead of ``start`` and ``duration``: several ``(start, duration)`` spans
    of the file decoded one after another by one ffmpeg process (one input each, joined by
    the ``concat`` filter), each frame tagged with its span's index (``RawFrame.segment``):
    one process start instead of one per span. Each input holds its own decoder until the
    process ends (about 25 MB each at 1080p), so callers keep the spans few.

    Raises:
        ValueError: an unsupported ``pix_fmt``, an odd size for ``yuv420p``, or ``segments``
            given with ``start`` or ``duration``, or empty.
    """

    def __init__(self, path: Path, *, width: int, height: int, start: float | None = None,
                 duration: float | None = None, keyframes_only: bool = False,
                 threads: int | None = None, pix_fmt: str = "bgr24",
                 skip_loop_filter: str | None = None, find_stream_info: bool = True,
                 accurate_seek: bool = True,
                 segments: Sequence[tuple[float | None, float]] | None = None) -> None:
        in_opts: dict[str, Any] = {}
        if not accurate_seek:  # start at the key frame the seek lands on, dropping nothing
            in_opts["noaccurate_seek"] = None
        if not find_stream_info:  # the container header says enough (MP4/MOV): no trial decode
            in_opts["nofind_stream_info"] = None
        if keyframes_only:
            in_opts["skip_frame"] = "nokey"
        if skip_loop_filter is not None:
            in_opts["skip_loop_filter"] = skip_loop_filter
        if threads is not None:
            in_opts["threads"] = threads
        if segments is None:
            video = ffmpeg.input(str(path), **in_opts, **_span(start, duration)).video
        else:  # one input per segment, each seeking on its own, played one after another
            if not segments or start is not None or duration is not None:
                raise ValueError("segments replace start and duration, and cannot be empty")
            video = ffmpeg.concat(*(
                ffmpeg.input(str(path), **in_opts, **_span(*span)).video.filter(
                    "showinfo", checksum=0) for span in segments), v=1, a=0)
        video = video.filter("scale", width, height, flags="area").filter("showinfo", checksum=0)
        self._node = video.output("pipe:", format="rawvideo", pix_fmt=pix_fmt,
                                  fps_mode="passthrough").global_args("-copyts", *_GLOBAL)
        self._segments = 0 if segments is None else len(segments)
        if pix_fmt == "yuv420p":  # planar Y, then U and V at half size: OpenCV's I420 layout
            if width % 2 or height % 2:
                raise ValueError("yuv420p frames need an even width and height")
            self._shape: tuple[int, ...] = (height * 3 // 2, width)
        elif pix_fmt == "bgr24":
            self._shape = (height, width, 3)
        else:
            raise ValueError(f"unsupported pixel format {pix_fmt!r}")
        self._name = path.name
        self._proc: subprocess.Popen[bytes] | None = None
        self._pump: _StderrPump | None = None

    def __enter__(self) -> FrameReader:
        self._proc = self._node.run_async(cmd=find_tools().ffmpeg, pipe_stdout=True,
                                          pipe_stderr=True)
        assert self._proc.stderr is not None
        self._pump = _StderrPump(self._proc.stderr, segments=self._segments)
        self._pump.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Stop ffmpeg if it still runs and reap it."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        if self._pump is not None:
            self._pump.join(timeout=5)
        for pipe in (self._proc.stdout, self._proc.stderr):
            if pipe is not None:
                pipe.close()
        self._proc = None

    @property
    def decode_errors(self) -> list[str]:
        """Lines ffmpeg logged at error level or worse so far."""
        return list(self._pump.errors) if self._pump else []

    def __iter__(self) -> Iterator[RawFrame]:
        """Frames in presentation order.

        Raises:
            CorruptMedia: ffmpeg gave up because the stream is damaged.
            ToolError: ffmpeg exited non-zero for another reason, or its output and log
                disagree.
        """
        if self._proc is None or self._pump is None or self._proc.stdout is None:
            raise ToolError("FrameReader used outside its context")
        size = int(np.prod(self._shape))
        stdout, pump = self._proc.stdout, self._pump
        while True:
            buf = bytearray(size)
            got = stdout.readinto(buf)  # type: ignore[attr-defined]
            while got and got < size:
                more = stdout.readinto(memoryview(buf)[got:])  # type: ignore[attr-defined]
                if not more:
                    break
                got += more
            if got != size:
                break
            info = pump.frames.get(timeout=60)
            if info is None:
                raise ToolError("ffmpeg output a frame it did not log",
                                stderr_tail="\n".join(pump.tail))
            if info[4] < 0:
                raise ToolError("ffmpeg output a frame that no input logged",
                                stderr_tail="\n".join(pump.tail))
            image = np.frombuffer(buf, dtype=np.uint8).reshape(self._shape)
            yield RawFrame(pts=info[0], pts_time=info[1], key=info[2], image=image,
                           intra=info[3], segment=info[4])
        self._finish()

    def _finish(self) -> None:
        assert self._proc is not None and self._pump is not None
        code = self._proc.wait()
        self._pump.join(timeout=10)
        if code != 0:
            tail = "\n".join(self._pump.tail)
            if any(mark in line for line in self._pump.errors for mark in _DAMAGE):
                raise CorruptMedia(f"{self._name} is damaged: ffmpeg could not decode it "
                                   f"(exit {code})\n--- ffmpeg said ---\n{tail}")
            raise ToolError(f"ffmpeg failed decoding {self._name} (exit {code})",
                            stderr_tail=tail)


def _span(start: float | None, duration: float | None) -> dict[str, str]:
    """Input options that seek to ``start`` and read ``duration`` seconds (None: no limit)."""
    opts = {}
    if start is not None and start > 0:
        opts["ss"] = f"{start:.6f}"
    if duration is not None:
        opts["t"] = f"{duration:.6f}"
    return opts


class FrameWriter:
    """Encode BGR frames piped to ffmpeg's stdin (rawvideo in, ``codec_options`` out).

    ``audio_from``, when given, is a file whose first audio stream is copied in too.
    ``metadata`` becomes container tags. Use as a context manager; :meth:`write` each frame.
    """

    def __init__(self, out: Path, *, width: int, height: int, fps: float,
                 codec_options: Mapping[str, str | int | float],
                 audio_from: Path | None = None,
                 metadata: Mapping[str, str] | None = None) -> None:
        video = ffmpeg.input("pipe:", format="rawvideo", pix_fmt="bgr24",
                             s=f"{width}x{height}", r=f"{fps:.6f}")
        streams: list[Any] = [video]
        if audio_from is not None:
            streams.append(ffmpeg.input(str(audio_from))["a:0"])
        opts: dict[str, Any] = dict(codec_options)
        for i, (key, value) in enumerate((metadata or {}).items()):
            opts[f"metadata:g:{i}"] = f"{key}={value}"
        self._node = ffmpeg.output(*streams, str(out), **opts).global_args(
            "-y", *_GLOBAL[:3], "-loglevel", "error")
        self._frame_bytes = width * height * 3
        self._out = out
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> FrameWriter:
        self._proc = self._node.run_async(cmd=find_tools().ffmpeg, pipe_stdin=True,
                                          pipe_stderr=True)
        return self

    def write(self, image: np.ndarray[Any, np.dtype[np.uint8]]) -> None:
        """Append one BGR frame of the declared size.

        Raises:
            ValueError: ``image`` is not of the declared size (a caller bug).
            ToolError: the encoder died (its stderr tail attached).
        """
        assert self._proc is not None and self._proc.stdin is not None
        data = np.ascontiguousarray(image).tobytes()
        if len(data) != self._frame_bytes:
            raise ValueError("frame size differs from the declared size")
        try:
            self._proc.stdin.write(data)
        except BrokenPipeError as exc:
            err = self._proc.stderr.read() if self._proc.stderr else b""
            self._proc.wait()
            raise ToolError(f"ffmpeg encoder for {self._out.name} died",
                            stderr_tail=_tail(err)) from exc

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        assert self._proc is not None
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self._proc.stdin.close()
        err = self._proc.stderr.read() if self._proc.stderr else b""
        code = self._proc.wait()
        if self._proc.stderr is not None:
            self._proc.stderr.close()
        if code != 0 and exc is None:
            raise ToolError(f"ffmpeg encoding {self._out.name} failed (exit {code})",
                            stderr_tail=_tail(err))


def run_graph(node: Any, *, what: str) -> None:
    """Run a prepared ffmpeg-python output node (built by another module) to completion.

    Raises:
        ToolError: ffmpeg failed.
    """
    try:
        node.global_args("-y", *_GLOBAL[:3], "-loglevel", "error").run(
            cmd=find_tools().ffmpeg, capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as exc:
        raise ToolError(f"ffmpeg failed: {what}", stderr_tail=_tail(exc.stderr)) from exc
