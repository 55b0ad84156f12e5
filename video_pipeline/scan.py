"""The decoding passes behind :func:`video_pipeline.analyze`: cuts, sharpness, events.

``fast`` (coarse to fine): the key frames are decoded at full resolution, split by time
across ffmpeg processes. Each key frame is shrunk to a proxy for the cut measures, and the
sharpest key frame between two cut candidates is encoded to JPEG at once (the shot key
frame, so shots need no second decode). Then only candidate windows are decoded at full
frame rate, two decodes at a time, to place cuts to the frame: a window whose packet sizes
point at its cut (a mid-GOP cut's first reference frame is coded afresh, so its packet
stands out) is decoded only up to that frame, four such windows to one ffmpeg process
(saving a process start and a seek each); the others, and any that has not settled by its
guess, are decoded each by its own process until settled. When event detectors are configured,
the key-frame pass runs as one ffmpeg process (whose frame threads use both cores) and the
same proxies feed the detectors, which then refine their own windows
(``video_pipeline.events.detect_events``): the key frames are decoded once, not twice.

``full``: every frame is decoded once at proxy size, in draft quality except I-frames (no
loop filter: about a tenth of the decoding), by ``workers`` ffmpeg processes over time chunks
(each decodes and scales its own chunk, so both cores work; the frames come back in order,
exactly as one process gives them), and feeds the streaming cut detector and the detectors.
Each shot's key frame is its sharpest I-frame (the frames decoded exactly, and the encoder's
best: fast mode picks among the same frames), or, in a shot without one, the sharpest frame;
it is then decoded again at full quality for its JPEG.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from video_pipeline.decode import (
    FullFrame,
    iter_frames,
    iter_full_keyframes,
    iter_window,
    iter_windows,
    map_keyframe_segments,
    proxy_size,
    window_bounds,
)
from video_pipeline.detector import Event, EventDetector, FrameSample
from video_pipeline.detectors import (
    ActivityDetector,
    LineDetector,
    MarksDetector,
    SmokeDetector,
    ZoneDetector,
)
from video_pipeline.errors import CorruptMedia
from video_pipeline.events import detect_events
from video_pipeline.keyframes import Candidate, Moment, encode_to, sharpness
from video_pipeline.options import AnalyzeOptions
from video_pipeline.probe import MediaInfo
from video_pipeline.scenes import (
    Cut,
    CutParams,
    Features,
    StreamingCutDetector,
    Window,
    dedupe_cuts,
    features,
    is_candidate,
    place_in_batch,
    place_in_window,
)

_logger = logging.getLogger(__name__)

_BATCH = 4
"""Cut windows decoded by one ffmpeg process at most (each input holds a decoder)."""
_BATCH_BYTES = 100 << 20
"""What the decoders of one shared window decode may hold beyond a single window's: each
input keeps about eight frames (reference frames, its first frame queued at start)."""

Progress = Callable[[str, float], None]
"""``progress(stage, fraction)``: fraction in [0, 1] of that stage."""


@dataclass(slots=True)
class Scan:
    """What the passes found: cuts, events, sharpness samples and shot key frame JPEGs.

    ``sharp``: ``(time, sharpness)`` samples (``fast``: each key frame; ``full``: the
    sharpest frame of each second); ``intra``: those of every I-frame (``full`` only), which
    shots prefer, since a draft decode leaves only I-frames exact.
    """

    cuts: list[Cut] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    sharp: list[tuple[float, float]] = field(default_factory=list)
    intra: list[tuple[float, float]] = field(default_factory=list)
    spans: list[Candidate] = field(default_factory=list)
    frames_seen: int = 0
    last_time: float = -1.0


def make_detectors(options: AnalyzeOptions) -> Callable[[], Sequence[EventDetector]] | None:
    """A factory of the configured detectors, or None when none is configured.

    Raises:
        InvalidOption: a zone or line is malformed (raised by the detectors).
    """
    def make() -> list[EventDetector]:
        detectors: list[EventDetector] = []
        if options.activity:
            detectors.append(ActivityDetector())
        if options.smoke:
            detectors.append(SmokeDetector())
        detectors += [ZoneDetector(z.points, name=z.name) for z in options.zones]
        detectors += [LineDetector(ln.points, name=ln.name) for ln in options.lines]
        if options.marks:
            detectors.append(MarksDetector(m.time for m in options.marks))
        return detectors

    return make if make() else None


def _reader(source: Path, info: MediaInfo,
            width: int) -> Callable[[float, float], Iterator[FrameSample]]:
    def read(t0: float, t1: float) -> Iterator[FrameSample]:
        return iter_window(source, info, t0=t0, t1=t1, width=width, draft=True)

    return read


@dataclass(slots=True)
class _Slice:
    """One time slice of the key-frame pass."""

    first: Features | None = None
    last: Features | None = None
    windows: list[Window] = field(default_factory=list)
    sharp: list[tuple[float, float]] = field(default_factory=list)
    spans: list[Candidate] = field(default_factory=list)


class _SliceScanner:
    """Consumes one slice's full-resolution key frames; keeps features of two frames, one
    raw frame (the sharpest since the last candidate) and JPEGs of closed spans."""

    def __init__(self, *, size: tuple[int, int], scratch: Path, duration: float,
                 report: Progress) -> None:
        self._size, self._scratch, self._duration = size, scratch, duration
        self._report, self._params = report, CutParams()
        self._best: tuple[float, FullFrame] | None = None
        self.out = _Slice()

    def __call__(self, frames: Iterable[FullFrame]) -> _Slice:
        for _ in self.proxies(frames):
            pass
        return self.out

    def proxies(self, frames: Iterable[FullFrame]) -> Iterator[FrameSample]:
        """Consume ``frames``, yielding each one's proxy (for the event detectors)."""
        for frame in frames:
            proxy = frame.proxy(self._size)
            feat, score = features(proxy), sharpness(proxy.grey)
            previous = self.out.last
            if previous is not None and is_candidate(previous, feat, params=self._params):
                self.out.windows.append((previous, feat))
                self._close_span()
            self.out.first = self.out.first or feat
            self.out.last = feat
            self.out.sharp.append((frame.time, score))
            if self._best is None or score > self._best[0]:
                self._best = (score, frame)
            self._report("key frames", min(1.0, frame.time / self._duration))
            yield proxy
        self._close_span()

    def _close_span(self) -> None:
        if self._best is None:
            return
        score, frame = self._best
        moment = Moment(frame.time, "shot")
        self.out.spans.append(encode_to(frame.full(), moment, folder=self._scratch,
                                        score=score))
        self._best = None


def scan_fast(source: Path, info: MediaInfo, *, options: AnalyzeOptions, scratch: Path,
              report: Progress) -> Scan:
    """The coarse-to-fine passes (see the module docstring).

    Raises:
        ToolError: ffmpeg failed.
        OutputError: a shot key frame could not be written to ``scratch``.
        InvalidOption: a detector rejected its configuration.
    """
    make, read = make_detectors(options), _reader(source, info, options.proxy_width)
    size = proxy_size(info, width=options.proxy_width)
    scan = Scan()

    def scanner() -> _SliceScanner:
        return _SliceScanner(size=size, scratch=scratch, duration=info.duration, report=report)

    if make is None:
        parts = map_keyframe_segments(source, info, workers=options.workers,
                                      consume=lambda s: scanner()(s))
    else:  # one key-frame pass feeds both the cuts and the detectors
        whole = scanner()
        scan.events = detect_events(whole.proxies(iter_full_keyframes(source, info)),
                                    make_detectors=make, read_window=read)
        parts = [whole.out]
    report("events", 1.0)
    windows = [w for p in parts for w in p.windows] + _boundary_windows(parts)
    windows.sort(key=lambda w: w[0].time)
    scan.cuts = _place_cuts(source, info, windows, read_window=read, options=options)
    report("cuts", 1.0)
    scan.sharp = [s for p in parts for s in p.sharp]
    scan.spans = [c for p in parts for c in p.spans]
    scan.frames_seen = len(scan.sharp)
    scan.last_time = max((t for t, _ in scan.sharp), default=-1.0)
    return scan


def _place_cuts(source: Path, info: MediaInfo, windows: Sequence[Window], *,
                read_window: Callable[[float, float], Iterator[FrameSample]],
                options: AnalyzeOptions) -> list[Cut]:
    """Place the cuts of the candidate windows, ``options.workers`` decodes at a time.

    Windows whose cut the packet sizes point at (:func:`window_bounds`) are decoded up to
    that frame, :data:`_BATCH` to an ffmpeg process (:func:`iter_windows`); the others one to
    a process, each stopping once settled (:func:`place_in_window`).

    Raises:
        ToolError: ffmpeg failed.
    """
    params = CutParams()
    bounds = window_bounds(source, info, [(a.time, b.time) for a, b in windows])
    tasks: list[list[int]] = []
    bounded = [k for k, bound in enumerate(bounds) if bound is not None]
    batch = batch_size(info)
    for first in range(0, len(bounded), batch):
        tasks.append(bounded[first:first + batch])
    tasks += [[k] for k, bound in enumerate(bounds) if bound is None]

    def run(task: list[int]) -> list[Cut]:
        if bounds[task[0]] is None:
            return place_in_window(windows[task[0]], read_window=read_window, params=params)
        spans = [(windows[k][0].time, bounds[k] or 0.0) for k in task]
        frames = iter_windows(source, info, spans=spans, width=options.proxy_width)
        groups = ((k, (s for _, s in group))
                  for k, group in itertools.groupby(frames, key=lambda item: item[0]))
        try:
            return place_in_batch([windows[k] for k in task], groups,
                                  read_window=read_window, params=params)
        finally:
            frames.close()  # stops ffmpeg if the batch was abandoned

    with ThreadPoolExecutor(max_workers=max(1, options.workers)) as pool:
        found = [cut for placed in pool.map(run, tasks) for cut in placed]
    return dedupe_cuts(found, params)


def batch_size(info: MediaInfo) -> int:
    """Windows per shared decode: :data:`_BATCH` up to 1080p, fewer for larger frames, so the
    decoders of one process hold at most :data:`_BATCH_BYTES` more than one window's decoder
    would (4K: two windows; 8K: one)."""
    per_input = 8 * info.video.width * info.video.height * 3 // 2
    return max(1, min(_BATCH, 1 + _BATCH_BYTES // max(per_input, 1)))


def _boundary_windows(parts: Sequence[_Slice]) -> list[Window]:
    """Candidates between the last key frame of one slice and the first of the next."""
    windows = []
    for left, right in itertools.pairwise(parts):
        if left.last is not None and right.first is not None and is_candidate(
                left.last, right.first):
            windows.append((left.last, right.first))
    return windows


def scan_full(source: Path, info: MediaInfo, *, options: AnalyzeOptions,
              report: Progress) -> Scan:
    """One pass over every frame (see the module docstring).

    Raises:
        ToolError: ffmpeg failed.
        InvalidOption: a detector rejected its configuration.
    """
    scan, best = Scan(), dict[int, tuple[float, float]]()
    cutter = StreamingCutDetector(anchor_every=max(2, round(info.video.fps)))

    def tee(samples: Iterable[FrameSample]) -> Iterator[FrameSample]:
        for sample in samples:
            cutter.push(sample)
            second, score = int(sample.time), sharpness(sample.grey)
            if sample.intra:
                scan.intra.append((sample.time, score))
            if score > best.get(second, (0.0, -1.0))[1]:
                best[second] = (sample.time, score)
            scan.frames_seen, scan.last_time = scan.frames_seen + 1, sample.time
            report("frames", min(1.0, sample.time / info.duration))
            yield sample

    stream = tee(iter_frames(source, info, width=options.proxy_width, draft=True,
                             workers=options.workers))
    make = make_detectors(options)
    if make is not None:
        scan.events = detect_events(stream, make_detectors=make)
    else:
        for _ in stream:
            pass
    scan.cuts = cutter.finish()
    scan.sharp = sorted(best.values())
    return scan


def check_complete(scan: Scan, info: MediaInfo) -> None:
    """Refuse a file whose decoding stopped well before its declared end.

    Raises:
        CorruptMedia: nothing decoded, or decoding ended early (truncated or damaged).
    """
    if scan.frames_seen == 0:
        raise CorruptMedia(f"no frame of {Path(info.path).name} could be decoded")
    times = [t for t, _ in scan.sharp]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    tolerance = max(3.0, 2.5 * max(gaps, default=0.0))
    if scan.last_time < info.duration - tolerance:
        raise CorruptMedia(
            f"{Path(info.path).name} is truncated or damaged: decoding stopped at "
            f"{scan.last_time:.2f} s of a declared {info.duration:.2f} s")
