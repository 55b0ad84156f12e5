"""The orchestrator: one media file in, the timeline and its derived files out.

``fast`` mode (coarse to fine): key frames only, split by time across ffmpeg processes,
find cut candidates and sharpness; an event pass over the key frames runs alongside; then
only candidate windows are decoded at full frame rate to place cuts and event starts to the
frame. ``full`` mode decodes every frame once and feeds cuts and detectors from that pass.

Outputs are written to a staging directory inside ``out_dir`` and moved into place one by
one (``os.replace`` after ``fsync``), ``timeline.json`` last, so a reader that sees
``timeline.json`` sees every file it names.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from video_pipeline import contact_sheet, keyframes, summary, timeline
from video_pipeline.decode import iter_frames, iter_keyframes, iter_window, map_keyframe_segments
from video_pipeline.detector import Event, EventDetector, FrameSample
from video_pipeline.detectors import (
    ActivityDetector,
    LineDetector,
    MarksDetector,
    SmokeDetector,
    ZoneDetector,
)
from video_pipeline.errors import CorruptMedia, OutputError
from video_pipeline.events import detect_events
from video_pipeline.keyframes import Moment, sharpness
from video_pipeline.options import AnalyzeOptions
from video_pipeline.probe import MediaInfo, ProbeLimits, probe
from video_pipeline.scenes import (
    Cut,
    CutParams,
    Features,
    StreamingCutDetector,
    features,
    is_candidate,
    place_in_windows,
)

_logger = logging.getLogger(__name__)

GENERATOR = "video_pipeline 0.1"
Progress = Callable[[str, float], None]
"""``progress(stage, fraction)``: fraction in [0, 1] of that stage."""


@dataclass(frozen=True, slots=True)
class OutputFile:
    """One file written to the output directory."""

    kind: str
    path: Path
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """What :func:`analyze` produced: the timeline document and every output file."""

    source_sha256: str
    timeline: dict[str, Any]
    outputs: tuple[OutputFile, ...]

    def of_kind(self, kind: str) -> list[OutputFile]:
        """The outputs of one kind (``timeline``, ``chapters``, ``keyframe``, ...)."""
        return [o for o in self.outputs if o.kind == kind]


@dataclass(slots=True)
class _Scan:
    cuts: list[Cut] = field(default_factory=list)
    sharp: list[tuple[float, float]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    frames_seen: int = 0
    last_time: float = -1.0


def sha256_file(path: Path, *, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, streamed.

    Raises:
        OSError: the file cannot be read.
    """
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _silent(stage: str, fraction: float) -> None:
    return None


def analyze(source: Path, out_dir: Path, *, options: AnalyzeOptions | None = None,
            limits: ProbeLimits | None = None, progress: Progress | None = None) -> AnalysisResult:
    """Analyse ``source`` and write timeline.json, chapters.vtt, contact_sheet.jpg,
    summary.mp4 (when there is something to summarise) and key frame JPEGs into ``out_dir``.

    Raises:
        MediaError: the input is empty, not media, has no video, is absurd or corrupt.
        InvalidOption: a zone, line or mark is malformed.
        ToolError: ffmpeg failed.
        OutputError: ``out_dir`` cannot be written.
    """
    options, report = options or AnalyzeOptions(), progress or _silent
    with ThreadPoolExecutor(max_workers=1) as hasher:
        digest = hasher.submit(sha256_file, source)
        info = probe(source, limits=limits)
        report("probe", 1.0)
        scan = (_scan_full if options.mode == "full" else _scan_fast)(source, info, options,
                                                                      report)
        _check_complete(scan, info)
        source_sha256 = digest.result()
    staging = _staging(out_dir)
    try:
        document = _write_all(source, info, scan, options, staging=staging,
                              source_sha256=source_sha256, report=report)
        outputs = _publish(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report("done", 1.0)
    return AnalysisResult(source_sha256=source_sha256, timeline=document, outputs=outputs)


def _make_detectors(options: AnalyzeOptions) -> Callable[[], Sequence[EventDetector]] | None:
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
        return iter_window(source, info, t0=t0, t1=t1, width=width)

    return read


@dataclass(slots=True)
class _Segment:
    anchors: list[Features] = field(default_factory=list)
    windows: list[tuple[float, float]] = field(default_factory=list)
    sharp: list[tuple[float, float]] = field(default_factory=list)


def _scan_segment(samples: Iterable[FrameSample], *, duration: float,
                  report: Progress) -> _Segment:
    """One time slice of the key-frame pass: keeps only its end anchors and candidates."""
    seg, params, previous = _Segment(), CutParams(), None
    for sample in samples:
        feat = features(sample)
        if previous is not None and is_candidate(previous, feat, params):
            seg.windows.append((previous.time, feat.time))
        if not seg.anchors:
            seg.anchors.append(feat)
        previous = feat
        seg.sharp.append((sample.time, sharpness(sample.grey)))
        report("key frames", min(1.0, sample.time / duration))
    if previous is not None and previous is not seg.anchors[0]:
        seg.anchors.append(previous)
    return seg


def _scan_fast(source: Path, info: MediaInfo, options: AnalyzeOptions,
               report: Progress) -> _Scan:
    make, read = _make_detectors(options), _reader(source, info, options.proxy_width)
    scan = _Scan()
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(detect_events, iter_keyframes(source, info,
                                                            width=options.proxy_width),
                              make_detectors=make, read_window=read) if make else None
        parts = map_keyframe_segments(
            source, info, width=options.proxy_width, workers=options.workers,
            consume=lambda s: _scan_segment(s, duration=info.duration, report=report))
        windows = [w for p in parts for w in p.windows] + _boundary_windows(parts)
        scan.cuts = place_in_windows(sorted(windows), read_window=read)
        report("cuts", 1.0)
        scan.events = pending.result() if pending else []
    report("events", 1.0)
    scan.sharp = [s for p in parts for s in p.sharp]
    scan.frames_seen = len(scan.sharp)
    scan.last_time = max((t for t, _ in scan.sharp), default=-1.0)
    return scan


def _boundary_windows(parts: Sequence[_Segment]) -> list[tuple[float, float]]:
    """Candidates between the last key frame of one slice and the first of the next."""
    windows = []
    for left, right in itertools.pairwise(parts):
        if left.anchors and right.anchors:
            a, b = left.anchors[-1], right.anchors[0]
            if is_candidate(a, b, CutParams()):
                windows.append((a.time, b.time))
    return windows


def _scan_full(source: Path, info: MediaInfo, options: AnalyzeOptions,
               report: Progress) -> _Scan:
    scan, best = _Scan(), dict[int, tuple[float, float]]()
    cutter = StreamingCutDetector(anchor_every=max(2, round(info.video.fps)))

    def tee(samples: Iterable[FrameSample]) -> Iterator[FrameSample]:
        for sample in samples:
            cutter.push(sample)
            second, score = int(sample.time), sharpness(sample.grey)
            if score > best.get(second, (0.0, -1.0))[1]:
                best[second] = (sample.time, score)
            scan.frames_seen, scan.last_time = scan.frames_seen + 1, sample.time
            report("frames", min(1.0, sample.time / info.duration))
            yield sample

    stream = tee(iter_frames(source, info, width=options.proxy_width))
    make = _make_detectors(options)
    if make is not None:
        scan.events = detect_events(stream, make_detectors=make)
    else:
        for _ in stream:
            pass
    scan.cuts = cutter.finish()
    scan.sharp = sorted(best.values())
    return scan


def _check_complete(scan: _Scan, info: MediaInfo) -> None:
    if scan.frames_seen == 0:
        raise CorruptMedia(f"no frame of {Path(info.path).name} could be decoded")
    times = [t for t, _ in scan.sharp]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    tolerance = max(3.0, 2.5 * max(gaps, default=0.0))
    if scan.last_time < info.duration - tolerance:
        raise CorruptMedia(
            f"{Path(info.path).name} is truncated or damaged: decoding stopped at "
            f"{scan.last_time:.2f} s of a declared {info.duration:.2f} s")


def _moments(info: MediaInfo, scan: _Scan, options: AnalyzeOptions) -> list[Moment]:
    segments = timeline.segments_from_cuts(scan.cuts, duration=info.duration,
                                           fps=info.video.fps)
    moments = keyframes.best_per_shot(scan.sharp, [(s.start, s.end) for s in segments])
    for e in scan.events:
        if e.kind == "mark":
            continue
        moments.append(Moment(e.start, "event_start", f"{e.kind} start"))
        if abs(e.peak - e.start) * info.video.fps >= 1:
            moments.append(Moment(e.peak, "event_peak", f"{e.kind} peak"))
    last = max(0.0, info.duration - 1.0 / info.video.fps)
    moments += [Moment(min(m.time, last), "mark", m.label or "officer mark")
                for m in options.marks]
    return moments


def _summary_moments(scan: _Scan, options: AnalyzeOptions) -> list[tuple[float, float, str]]:
    found = [(e.start, e.end, f"{e.kind} {e.detail.get('name', '')}".strip())
             for e in scan.events if e.kind != "mark"]
    return found or [(m.time, m.time, f"mark {m.label}".strip()) for m in options.marks]


def _write_all(source: Path, info: MediaInfo, scan: _Scan, options: AnalyzeOptions, *,
               staging: Path, source_sha256: str, report: Progress) -> dict[str, Any]:
    frames = keyframes.extract(source, info, _moments(info, scan, options), out_dir=staging,
                               threshold=options.phash_threshold)
    report("key frames written", 1.0)
    contact_sheet.write(frames, staging / "contact_sheet.jpg", base=staging)
    clips = summary.plan(_summary_moments(scan, options), before=options.summary_before,
                         after=options.summary_after, duration=info.duration)
    facts: dict[str, Any] = {"file": None, "reason": "no events or marks to summarise",
                             "clips": []}
    if clips:
        count = summary.write(source, info, clips, staging / "summary.mp4",
                              width=options.summary_width)
        facts = {"file": "summary.mp4", "frames": count, "clips": [
            {"start": c.start, "end": c.end, "labels": list(c.labels)} for c in clips]}
    report("summary", 1.0)
    document = timeline.build(
        source_name=source.name, source_sha256=source_sha256, info=info, mode=options.mode,
        cuts=scan.cuts, events=scan.events, keyframes=frames, marks=options.marks,
        summary=facts, created=datetime.now(UTC), generator=GENERATOR)
    segments = timeline.segments_from_cuts(scan.cuts, duration=info.duration,
                                           fps=info.video.fps)
    vtt = timeline.chapters_vtt(segments=segments, events=scan.events, marks=options.marks)
    (staging / "chapters.vtt").write_text(vtt, encoding="utf-8")
    (staging / "timeline.json").write_text(timeline.dumps(document), encoding="utf-8")
    return document


def _staging(out_dir: Path) -> Path:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        staging = out_dir / f".staging-{uuid.uuid4().hex[:12]}"
        staging.mkdir()
    except OSError as exc:
        raise OutputError(f"cannot write to {out_dir}: {exc.strerror}") from exc
    return staging


_KINDS = {"timeline.json": "timeline", "chapters.vtt": "chapters",
          "contact_sheet.jpg": "contact_sheet", "summary.mp4": "summary"}


def _publish(staging: Path, out_dir: Path) -> tuple[OutputFile, ...]:
    files = sorted(p for p in staging.rglob("*") if p.is_file())
    files.sort(key=lambda p: p.name == "timeline.json")  # the timeline goes last
    outputs = []
    try:
        for path in files:
            rel = path.relative_to(staging)
            digest = sha256_file(path)
            with path.open("rb") as fh:
                os.fsync(fh.fileno())
            target = out_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
            outputs.append(OutputFile(kind=_KINDS.get(rel.name, "keyframe"), path=target,
                                      sha256=digest, size=target.stat().st_size))
        dir_fd = os.open(out_dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise OutputError(f"cannot publish outputs into {out_dir}: {exc.strerror}") from exc
    return tuple(outputs)
