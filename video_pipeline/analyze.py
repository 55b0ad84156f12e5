"""The orchestrator: one media file in, the timeline and its derived files out.

The decoding passes live in :mod:`video_pipeline.scan` (``fast``: coarse to fine, ``full``:
every frame). This module turns their findings into key frames, the timeline, chapters,
contact sheet and summary.

Outputs are written to a staging directory inside ``out_dir`` and moved into place one by
one (``os.replace`` after ``fsync``), ``timeline.json`` last, so a reader that sees
``timeline.json`` sees every file it names.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from video_pipeline import contact_sheet, keyframes, summary, timeline
from video_pipeline.errors import OutputError
from video_pipeline.keyframes import Candidate, KeyFrame, Moment
from video_pipeline.options import AnalyzeOptions
from video_pipeline.probe import MediaInfo, ProbeLimits, probe
from video_pipeline.scan import Progress, Scan, check_complete, scan_fast, scan_full

_logger = logging.getLogger(__name__)

GENERATOR = "video_pipeline 0.1"


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
    info = probe(source, limits=limits)
    report("probe", 1.0)
    staging = _staging(out_dir)
    try:
        with ThreadPoolExecutor(max_workers=1) as hasher:
            digest = hasher.submit(sha256_file, source)
            scratch = staging / ".scratch"
            scratch.mkdir()
            if options.mode == "full":
                scan = scan_full(source, info, options=options, report=report)
            else:
                scan = scan_fast(source, info, options=options, scratch=scratch,
                                 report=report)
            check_complete(scan, info)
            frames = _keyframes(source, info, scan, options, staging=staging, scratch=scratch)
            source_sha256 = digest.result()
        shutil.rmtree(scratch)
        document = _write_all(source, info, scan, options, frames, staging=staging,
                              source_sha256=source_sha256, report=report)
        outputs = _publish(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report("done", 1.0)
    return AnalysisResult(source_sha256=source_sha256, timeline=document, outputs=outputs)


def _keyframes(source: Path, info: MediaInfo, scan: Scan, options: AnalyzeOptions, *,
               staging: Path, scratch: Path) -> list[KeyFrame]:
    """Shot frames (captured spans, else decoded), event and mark frames, deduplicated."""
    segments = timeline.segments_from_cuts(scan.cuts, duration=info.duration,
                                           fps=info.video.fps)
    chosen: list[Candidate] = []
    wanted: list[Moment] = []
    for seg in segments:
        moment = Moment(0.0, "shot", f"shot {seg.index}")
        inside = [c for c in scan.spans if seg.start <= c.keyframe.time < seg.end]
        if inside:
            chosen.append(keyframes.relabel(max(inside, key=lambda c: c.sharpness), moment))
            continue
        exact = [(t, s) for t, s in scan.intra if seg.start <= t < seg.end]
        shot = keyframes.best_per_shot(exact or scan.sharp, [(seg.start, seg.end)])[0]
        wanted.append(Moment(shot.time, "shot", moment.label))
    for e in scan.events:
        if e.kind == "mark":
            continue
        wanted.append(Moment(e.start, "event_start", f"{e.kind} start"))
        if abs(e.peak - e.start) * info.video.fps >= 1:
            wanted.append(Moment(e.peak, "event_peak", f"{e.kind} peak"))
    last = max(0.0, info.duration - 1.0 / info.video.fps)
    wanted += [Moment(min(m.time, last), "mark", m.label or "officer mark")
               for m in options.marks]
    chosen += keyframes.decode_moments(source, info, moments=wanted, folder=scratch,
                                       workers=options.workers)
    return keyframes.finalize(chosen, out_dir=staging, threshold=options.phash_threshold)


def _summary_moments(scan: Scan, options: AnalyzeOptions) -> list[tuple[float, float, str]]:
    found = [(e.start, e.end, f"{e.kind} {e.detail.get('name', '')}".strip())
             for e in scan.events if e.kind != "mark"]
    return found or [(m.time, m.time, f"mark {m.label}".strip()) for m in options.marks]


def _write_all(source: Path, info: MediaInfo, scan: Scan, options: AnalyzeOptions,
               frames: Sequence[KeyFrame], *, staging: Path, source_sha256: str,
               report: Progress) -> dict[str, Any]:
    report("key frames written", 1.0)
    contact_sheet.write(frames, staging / "contact_sheet.jpg", base=staging)
    clips = summary.plan(_summary_moments(scan, options), before=options.summary_before,
                         after=options.summary_after, duration=info.duration)
    facts: dict[str, Any] = {"file": None, "reason": "no events or marks to summarise",
                             "clips": []}
    if clips:
        count = summary.write(source, info, clips=clips, out=staging / "summary.mp4",
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
