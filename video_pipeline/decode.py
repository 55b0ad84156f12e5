"""Frames as small upright proxies (:class:`~video_pipeline.detector.FrameSample`).

Three ways to read a file, all through one ffmpeg rawvideo pipe each:

* :func:`iter_keyframes`: key frames only (``-skip_frame nokey``), with exact timestamps,
  optionally split by time across ffmpeg processes (:func:`map_keyframe_segments`);
* :func:`iter_window`: every frame of ``[t0, t1]`` (fast seek, then exact frame times);
* :func:`iter_windows`: the frames of several windows that start on key frames, decoded one
  after another by one ffmpeg process (bounded by :func:`window_bounds`);
* :func:`iter_frames`: every frame of the file (``full`` mode).

Times are seconds from the video stream's start; ``index`` is ``round(time × fps)`` (exact
for constant-frame-rate streams, nominal for variable ones: see the timeline docs).
"""

from __future__ import annotations

import logging
import math
import os
import queue
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import cv2
import numpy as np
import numpy.typing as npt

from video_pipeline.detector import FrameSample, GreyImage
from video_pipeline.errors import CorruptMedia, ToolError, ToolNotFound
from video_pipeline.ffmpeg import FrameReader, Packet, RawFrame, find_tools, read_packets

if TYPE_CHECKING:
    from video_pipeline.probe import MediaInfo

_logger = logging.getLogger(__name__)

PROXY_WIDTH = 320
_SEEK_PREROLLS = (0.0, 2.0, 8.0, 30.0)
_SPLIT_MIN_S = 20.0
_SAME_FRAME_S = 1e-4
"""Two times this close name the same frame (times are rounded to microseconds)."""
_CHUNK_BYTES = 48 << 20
"""BGR proxies one chunk of a split full decode holds at most (see :class:`_SplitDecode`)."""
_BIG_PACKET = 2.2
"""A window's largest reference frame is taken for its cut when it is this many times the
median of the window's other reference frames (a frame just after a cut is coded mostly
afresh; :func:`window_bounds`)."""
T = TypeVar("T")


def proxy_size(info: MediaInfo, *, width: int = PROXY_WIDTH) -> tuple[int, int]:
    """Upright proxy size: ``width`` (or the source width if smaller) by an even height."""
    w = min(width, info.video.width)
    w -= w % 2
    h = max(2, round(info.video.height * w / info.video.width / 2) * 2)
    return w, h


def shrink(sample: FrameSample, size: tuple[int, int]) -> FrameSample:
    """The same frame as a ``size`` proxy (area interpolation), same index and time."""
    if (sample.bgr.shape[1], sample.bgr.shape[0]) == size:
        return sample
    bgr = np.asarray(cv2.resize(sample.bgr, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    grey: GreyImage = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)  # type: ignore[assignment]
    return FrameSample(index=sample.index, time=sample.time, bgr=bgr, grey=grey)


class _Clock:
    """Turns container timestamps into stream seconds and frame indices."""

    def __init__(self, info: MediaInfo) -> None:
        tb = info.video.time_base
        self._tb = Fraction(tb) if tb else None
        self._start = info.video.start_time
        self._fps = info.video.fps

    def time(self, frame: RawFrame) -> float:
        raw_t = float(frame.pts * self._tb) if self._tb is not None else frame.pts_time
        return round(raw_t - self._start, 6) + 0.0  # never -0.0

    def index(self, t: float) -> int:
        return round(t * self._fps)

    def sample(self, frame: RawFrame) -> FrameSample:
        t = self.time(frame)
        grey: GreyImage = cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY)  # type: ignore[assignment]
        return FrameSample(index=round(t * self._fps), time=t, bgr=frame.image, grey=grey,
                           intra=frame.intra)


def _reader(path: Path, info: MediaInfo, *, size: tuple[int, int], start: float | None,
            keyframes_only: bool = False, duration: float | None = None,
            draft: str | None = None, threads: int | None = None,
            accurate_seek: bool = True) -> FrameReader:
    """``draft``: the frames whose loop filter is skipped (ffmpeg's ``skip_loop_filter``)."""
    return FrameReader(path, width=size[0], height=size[1], start=start, duration=duration,
                       keyframes_only=keyframes_only, skip_loop_filter=draft, threads=threads,
                       find_stream_info=not (draft and "mp4" in info.container.split(",")),
                       accurate_seek=accurate_seek)


def iter_keyframes(path: Path, info: MediaInfo, *, width: int = PROXY_WIDTH,
                   start: float = 0.0, end: float = math.inf) -> Iterator[FrameSample]:
    """Key frames with ``start <= time < end`` (decoding nothing else).

    Raises:
        ToolError: ffmpeg failed.
    """
    size = proxy_size(info, width=width)
    seek = max(0.0, start - 5.0) if start > 0 else None
    clock = _Clock(info)
    with _reader(path, info, size=size, start=seek, keyframes_only=True) as reader:
        for raw in reader:
            sample = clock.sample(raw)
            if sample.time >= end:
                return
            if sample.time >= start:
                yield sample


@dataclass(frozen=True, slots=True)
class FullFrame:
    """A full-size upright frame as ffmpeg delivered it (``yuv420p`` or ``bgr24``), with
    conversions done only when asked for."""

    index: int
    time: float
    data: npt.NDArray[np.uint8]
    layout: str

    def proxy(self, size: tuple[int, int]) -> FrameSample:
        """A ``size`` proxy (area interpolation), converted to BGR after shrinking."""
        if self.layout == "bgr24":
            full = FrameSample(self.index, self.time, self.data,
                               cv2.cvtColor(self.data, cv2.COLOR_BGR2GRAY))  # type: ignore[arg-type]
            return shrink(full, size)
        height = self.data.shape[0] * 2 // 3
        width = self.data.shape[1]
        y = self.data[:height]
        chroma = self.data[height:].reshape(2, height // 2, width // 2)
        w, h = size  # both even (proxy_size)
        quarter = (w // 2) * (h // 2)
        flat = np.empty(w * h + 2 * quarter, np.uint8)
        flat[: w * h] = cv2.resize(y, (w, h), interpolation=cv2.INTER_AREA).ravel()
        for k in range(2):
            plane = cv2.resize(chroma[k], (w // 2, h // 2), interpolation=cv2.INTER_AREA)
            flat[w * h + k * quarter: w * h + (k + 1) * quarter] = plane.ravel()
        small = flat.reshape(h * 3 // 2, w)
        bgr = np.asarray(cv2.cvtColor(small, cv2.COLOR_YUV2BGR_I420), dtype=np.uint8)
        # grey from BGR (full range), like every other proxy, not the limited-range Y plane
        grey: GreyImage = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)  # type: ignore[assignment]
        return FrameSample(self.index, self.time, bgr, grey)

    def full(self) -> FrameSample:
        """The frame at full size in BGR."""
        if self.layout == "bgr24":
            bgr = self.data
        else:
            bgr = np.asarray(cv2.cvtColor(self.data, cv2.COLOR_YUV2BGR_I420), dtype=np.uint8)
        grey: GreyImage = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)  # type: ignore[assignment]
        return FrameSample(self.index, self.time, bgr, grey)


def iter_full_keyframes(path: Path, info: MediaInfo, *, start: float = 0.0,
                        end: float = math.inf) -> Iterator[FullFrame]:
    """Key frames with ``start <= time < end`` at full size, without colour conversion in
    ffmpeg when the size allows (``yuv420p`` needs an even width and height).

    Raises:
        ToolError: ffmpeg failed.
    """
    width, height = info.video.width, info.video.height
    layout = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "bgr24"
    # MP4/MOV seek by their index to the key frame at or before ``start`` (ffmpeg's -ss
    # counts from the file's start, never after the video stream's): nothing to skip and
    # nothing to trial-decode at open. Other containers may land late: seek 5 s earlier.
    indexed = "mp4" in info.container.split(",")
    seek = (start if indexed else max(0.0, start - 5.0)) if start > 0 else None
    clock = _Clock(info)
    with FrameReader(path, width=width, height=height, start=seek, keyframes_only=True,
                     pix_fmt=layout, find_stream_info=not indexed) as reader:
        for raw in reader:
            t = clock.time(raw)
            if t >= end:
                return
            if t >= start:
                yield FullFrame(clock.index(t), t, raw.image, layout)


def map_keyframe_segments(path: Path, info: MediaInfo, *,
                          consume: Callable[[Iterator[FullFrame]], T],
                          workers: int = 2) -> list[T]:
    """Split the file by time into ``workers`` parts and run ``consume`` on each part's key
    frames, each part in its own ffmpeg process (files under 20 s are not split).

    Results come back in time order; frames are :class:`FullFrame` (full size).

    Raises:
        ToolError: an ffmpeg process failed.
    """
    parts = workers if info.duration >= _SPLIT_MIN_S and workers > 1 else 1
    bounds = [info.duration * k / parts for k in range(parts)] + [math.inf]
    bounds[0] = 0.0

    def run(k: int) -> T:
        return consume(iter_full_keyframes(path, info, start=bounds[k], end=bounds[k + 1]))

    if parts == 1:
        return [run(0)]
    with ThreadPoolExecutor(max_workers=parts) as pool:
        return list(pool.map(run, range(parts)))


def iter_window(path: Path, info: MediaInfo, *, t0: float, t1: float,
                width: int | None = PROXY_WIDTH, draft: bool = False) -> Iterator[FrameSample]:
    """Every frame with ``t0 <= time <= t1`` at full frame rate (``width=None``: full size).

    Seeks fast to just before ``t0``; if the container's seek lands late (MPEG-TS can), it
    retries from further back, so no frame in the window is ever skipped. ffmpeg reads no
    further than ``t1``. ``draft`` frames are for measurement only, never for pictures a
    person sees: the decoder skips the H.264/HEVC loop filter (deblocking; about a tenth of
    the decoding work) and runs on one thread, since callers decode several windows at once;
    for MP4/MOV, ffmpeg also skips its trial decode at open (the header has what it needs).

    Raises:
        ToolError: ffmpeg failed, or no seek position reached ``t0``.
    """
    size = proxy_size(info, width=width or info.video.width)
    half_frame = 0.5 / info.video.fps
    clock = _Clock(info)
    for preroll in _SEEK_PREROLLS:
        seek = t0 - preroll
        span = t1 - max(seek, 0.0) + 3 * half_frame
        with _reader(path, info, size=size, start=seek if seek > 0 else None,
                     duration=span, draft="all" if draft else None,
                     threads=1 if draft else None) as reader:
            frames = (clock.sample(raw) for raw in reader)
            first = next(frames, None)
            if first is None:
                return
            if first.time > t0 + half_frame and seek > 0:
                _logger.debug("seek to %.3f landed at %.3f; retrying", seek, first.time)
                continue
            for sample in _chain_first(first, frames):
                if sample.time > t1 + 1e-6:
                    return
                if sample.time >= t0 - 1e-6:
                    yield sample
            return
    raise ToolError(f"could not seek to {t0:.3f} s in {path.name}")


def window_bounds(path: Path, info: MediaInfo,
                  windows: Sequence[tuple[float, float]]) -> list[float | None]:
    """For each window ``(t0, t1)`` between two key frames, the time of the frame where a cut
    most likely lies, from packet sizes alone (no decoding), or None when the packets do not
    say. The cut's first reference frame (P or I) is coded mostly afresh, so it is by far the
    largest reference packet of its GOP: the largest is chosen when it is
    :data:`_BIG_PACKET` times the median of the others. Only for MP4/MOV (which seek exactly
    to a key frame) with ffprobe; one ffprobe process reads the packets of every window.

    A bound is a guess, never a result: :func:`iter_windows` decodes up to it, and a window
    whose frames have not settled by then is decoded again in full. Windows starting at the
    file's start get none (they are not sought to).
    """
    none: list[float | None] = [None] * len(windows)
    tb = Fraction(info.video.time_base) if info.video.time_base else None
    if (not windows or tb is None or find_tools().ffprobe is None
            or "mp4" not in info.container.split(",")):
        return none
    start = info.video.start_time
    try:
        packets = read_packets(path, spans=[(t0 + start, t1 - t0) for t0, t1 in windows])
    except (ToolNotFound, ToolError) as exc:  # only a guess is lost: windows decode in full
        _logger.info("no packet sizes for the cut windows of %s: %s", path.name, exc)
        return none
    by_dts = sorted({p.dts: p for p in packets}.values(), key=lambda p: p.dts)

    def seconds(p: Packet) -> float:
        return round(float(p.pts * tb) - start, 6) + 0.0

    out = none[:]
    for k, (t0, t1) in enumerate(windows):
        inside = [p for p in by_dts if t0 - _SAME_FRAME_S <= seconds(p) < t1 - _SAME_FRAME_S]
        if (t0 <= 0 or not inside or not inside[0].key
                or abs(seconds(inside[0]) - t0) > _SAME_FRAME_S):
            continue
        anchors, latest = [], inside[0].pts
        for p in inside[1:]:
            if p.pts > latest:  # a reference frame: shown after every frame decoded before it
                anchors.append(p)
                latest = p.pts
        if len(anchors) < 3 or any(p.key for p in anchors):
            continue
        big = max(anchors, key=lambda p: p.size)
        others = sorted(p.size for p in anchors if p is not big)
        if big.size >= _BIG_PACKET * others[len(others) // 2]:
            out[k] = seconds(big)
    return out


def iter_windows(path: Path, info: MediaInfo, *, spans: Sequence[tuple[float, float]],
                 width: int = PROXY_WIDTH) -> Generator[tuple[int, FrameSample], None, None]:
    """Every frame with ``t0 <= time <= end`` of each span ``(t0, end)`` (``t0`` a key frame's
    time, after the file's start), as ``(span index, proxy)`` in span order, decoded in draft
    quality (as :func:`iter_window` with ``draft=True``, so the frames are the same) by one
    ffmpeg process for all spans. A span whose first frame is not at ``t0`` (a seek that
    missed) yields nothing.

    Raises:
        ToolError: ffmpeg failed.
    """
    size = proxy_size(info, width=width)
    half_frame = 0.5 / info.video.fps
    clock = _Clock(info)
    segments = [(t0, end - t0 + half_frame) for t0, end in spans]
    missed: set[int] = set()
    seen: set[int] = set()
    with FrameReader(path, width=size[0], height=size[1], segments=segments,
                     skip_loop_filter="all", threads=1,
                     find_stream_info="mp4" not in info.container.split(",")) as reader:
        for raw in reader:
            k = raw.segment
            sample = clock.sample(raw)
            if k not in seen:
                seen.add(k)
                if abs(sample.time - spans[k][0]) > half_frame:
                    _logger.debug("span %d: seek to %.3f landed at %.3f", k, spans[k][0],
                                  sample.time)
                    missed.add(k)
            if k in missed or not spans[k][0] - 1e-6 <= sample.time <= spans[k][1] + 1e-6:
                continue
            yield k, sample


def _chain_first(first: FrameSample, rest: Iterator[FrameSample]) -> Iterator[FrameSample]:
    yield first
    yield from rest


def iter_frames(path: Path, info: MediaInfo, *, width: int = PROXY_WIDTH,
                draft: bool = False, workers: int = 1,
                chunk_s: float | None = None) -> Iterator[FrameSample]:
    """Every frame of the file in presentation order. ``draft`` frames skip the loop filter,
    as in :func:`iter_window`, except I-frames (``FrameSample.intra``), which decode exactly:
    for measurement only; ffmpeg's threads stay on.

    ``workers > 1`` splits the file by time (files of 20 s or more, or any file when
    ``chunk_s`` is given) into chunks of about ``chunk_s`` seconds (by default what fits in
    48 MB of proxies), decoded and scaled by ``workers`` ffmpeg processes at once and read
    back in order (:class:`_SplitDecode`): one ffmpeg process scales on a single thread
    after decoding, so a second process is what puts both cores to work. The frames, their
    times and their pixels are exactly those of a single process.

    Raises:
        ToolError: ffmpeg failed.
    """
    clock = _Clock(info)
    size = proxy_size(info, width=width)
    if workers > 1 and (chunk_s is not None or info.duration >= _SPLIT_MIN_S):
        frame_bytes = size[0] * size[1] * 3
        default_s = max(2.0, _CHUNK_BYTES // frame_bytes / info.video.fps)
        split = _SplitDecode(path, info, size=size, draft=draft, workers=workers,
                             chunk_s=chunk_s or default_s)
        yield from split
        return
    with _reader(path, info, size=size, start=None,
                 draft="nokey" if draft else None) as reader:
        for raw in reader:
            yield clock.sample(raw)


_Item = RawFrame | BaseException | None


class _SplitDecode:
    """Every frame of a file, decoded by several ffmpeg processes over time chunks.

    Chunk ``j`` owns the frames with ``start_j <= t < start_{j+1}``. It seeks to ``start_j``
    without ffmpeg's accurate seek, so it decodes from the key frame the seek lands on (from
    further back, or from the file's start, if a container's seek lands after
    ``start_j``), drops the frames before ``start_j`` and stops at the first frame of the next
    chunk. Decoding from a key frame on is bit-exact, and every chunk computes a frame's time
    from the same timestamp in the same way, so each frame is the one a single process
    gives, in exactly one chunk. The price is the frames between that key frame and
    ``start_j``, decoded twice: half a GOP per chunk on average.

    Memory: chunks start in order, one per worker, and at most ``workers + 1`` are held at
    once (decoding, or decoded and not yet consumed; the one more keeps every worker busy when
    a later chunk decodes faster than the one being read); the consumer drains them in order.
    Each ffmpeg process gets ``cpu_count // workers`` decoding threads (at least one).
    """

    def __init__(self, path: Path, info: MediaInfo, *, size: tuple[int, int], draft: bool,
                 workers: int, chunk_s: float) -> None:
        # a multiple of ``workers`` equal chunks, so that no chunk is left to decode alone
        count = workers * max(1, math.ceil(info.duration / chunk_s / workers))
        self._starts = [info.duration * j / count for j in range(count)] + [math.inf]
        self._queues = [queue.SimpleQueue[_Item]() for _ in range(count)]
        self._path, self._info, self._size, self._draft = path, info, size, draft
        self._workers = workers
        self._threads = max(1, (os.cpu_count() or 1) // workers)
        self._clock = _Clock(info)
        self._cond = threading.Condition()
        self._next = self._consumed = 0
        self._stopped = False

    def __iter__(self) -> Iterator[FrameSample]:
        threads = [threading.Thread(target=self._work, daemon=True, name=f"split-decode-{k}")
                   for k in range(self._workers)]
        for thread in threads:
            thread.start()
        try:
            for frames in self._queues:
                while (item := frames.get()) is not None:
                    if isinstance(item, BaseException):
                        raise item
                    yield self._clock.sample(item)
                with self._cond:
                    self._consumed += 1
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._stopped = True
                self._cond.notify_all()
            for thread in threads:
                thread.join()

    def _work(self) -> None:
        while True:
            with self._cond:
                j = self._next
                self._next += 1
                self._cond.wait_for(
                    lambda j=j: j <= self._consumed + self._workers or self._stopped)  # type: ignore[misc]
                if self._stopped or j >= len(self._queues):
                    return
            try:
                self._decode(j)
            except Exception as exc:  # handed to the consumer, raised in order
                self._queues[j].put(exc)
            else:
                self._queues[j].put(None)

    def _decode(self, j: int) -> None:
        start, end, frames = self._starts[j], self._starts[j + 1], self._queues[j]
        for preroll in (*_SEEK_PREROLLS, math.inf):
            seek = start - preroll
            keyed = seek <= 0  # from the file's start every frame decodes as in one process
            with _reader(self._path, self._info, size=self._size,
                         start=None if keyed else seek, accurate_seek=False,
                         draft="nokey" if self._draft else None,
                         threads=self._threads) as reader:
                for raw in reader:
                    if self._stopped:
                        return
                    t = self._clock.time(raw)
                    if not keyed:
                        if not raw.key:
                            continue  # frames before the first key frame may be broken
                        if t > start:
                            _logger.debug("seek to %.3f landed at %.3f; retrying", seek, t)
                            break
                        keyed = True
                    if t >= end:
                        return
                    if t >= start:
                        frames.put(raw)
                else:
                    return


def _frame_exactly_at(path: Path, info: MediaInfo, *, time: float) -> FrameSample | None:
    """The full-size frame whose own time is ``time``, or None if no frame starts there.

    Shots and events ask for a frame's own time, so ffmpeg can seek exactly there and start
    decoding at the key frame at or before it; seeking a frame earlier, as the general case
    must, starts a whole GOP earlier whenever ``time`` is a key frame's. One decoder thread
    (callers decode two frames at once), no trial decode at open for MP4/MOV, and no colour
    conversion in ffmpeg (frames that are not kept are never converted).

    Raises:
        ToolError: ffmpeg failed.
    """
    width, height = info.video.width, info.video.height
    layout = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "bgr24"
    clock = _Clock(info)
    with FrameReader(path, width=width, height=height, start=time if time > 0 else None,
                     duration=1.0 / info.video.fps, threads=1, pix_fmt=layout,
                     find_stream_info="mp4" not in info.container.split(",")) as reader:
        for raw in reader:
            t = clock.time(raw)
            if abs(t - time) >= _SAME_FRAME_S:
                return None
            return FullFrame(clock.index(t), t, raw.image, layout).full()
    return None


def frame_at(path: Path, info: MediaInfo, *, time: float) -> FrameSample:
    """The full-size upright frame displayed at ``time`` (the last frame at or before it).

    Raises:
        CorruptMedia: no frame could be decoded there.
        ToolError: ffmpeg failed.
    """
    exact = _frame_exactly_at(path, info, time=time)
    if exact is not None:
        return exact
    frame_s = 1.0 / info.video.fps
    best: FrameSample | None = None
    for sample in iter_window(path, info, t0=max(0.0, time - frame_s), t1=time + frame_s,
                              width=None):
        if best is None or abs(sample.time - time) < abs(best.time - time):
            best = sample
    if best is None:
        raise CorruptMedia(f"no frame decodes at {time:.3f} s of {path.name}")
    return best
