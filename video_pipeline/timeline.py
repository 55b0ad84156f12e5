"""``timeline.json`` and ``chapters.vtt``: the documented, versioned outputs.

The JSON layout is specified in ``docs/timeline-format.md``; :data:`SCHEMA` and
:data:`SCHEMA_VERSION` name it. A change that removes or renames a field, or changes its
meaning, bumps the major version; adding a field bumps the minor version.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from video_pipeline.detector import Event
    from video_pipeline.keyframes import KeyFrame
    from video_pipeline.options import Mark
    from video_pipeline.probe import MediaInfo
    from video_pipeline.scenes import Cut

SCHEMA = "video_pipeline.timeline"
SCHEMA_VERSION = "1.0"
_NOT_VIOLATIONS = frozenset({"mark"})


@dataclass(frozen=True, slots=True)
class Segment:
    """A shot: ``[start, end)`` in seconds, frames ``start_frame..end_frame`` inclusive."""

    index: int
    start: float
    end: float
    start_frame: int
    end_frame: int


def segments_from_cuts(cuts: Sequence[Cut], *, duration: float, fps: float) -> list[Segment]:
    """Shots between consecutive cuts (the first from 0, the last to ``duration``)."""
    last_frame = max(0, round(duration * fps) - 1)
    starts = [(0.0, 0)] + [(c.time, c.frame) for c in cuts if 0 < c.frame <= last_frame]
    segments = []
    for k, (start, frame) in enumerate(starts):
        end, end_frame = (starts[k + 1][0], starts[k + 1][1] - 1) if k + 1 < len(starts) else (
            duration, last_frame)
        segments.append(Segment(k + 1, start, end, frame, end_frame))
    return segments


def violation_start(events: Sequence[Event]) -> Event | None:
    """The earliest detected event that is not an officer mark (None when there is none)."""
    found = [e for e in events if e.kind not in _NOT_VIOLATIONS]
    return min(found, key=lambda e: (e.start, e.start_frame)) if found else None


def wall_clock(info: MediaInfo, t: float) -> str | None:
    """ISO 8601 UTC time of stream time ``t`` from the recording's creation time, if known."""
    if info.creation_time is None:
        return None
    return (info.creation_time + timedelta(seconds=t)).isoformat(timespec="milliseconds")


def _event(e: Event, info: MediaInfo) -> dict[str, Any]:
    region = asdict(e.region) if e.region is not None else None
    return {"kind": e.kind, "start": round(e.start, 6), "end": round(e.end, 6),
            "peak": round(e.peak, 6), "start_frame": e.start_frame,
            "confidence": round(float(e.confidence), 4), "region": region,
            "wall_clock": wall_clock(info, e.start), "detail": dict(e.detail)}


def build(*, source_name: str, source_sha256: str, info: MediaInfo, mode: str,
          cuts: Sequence[Cut], events: Sequence[Event], keyframes: Sequence[KeyFrame],
          marks: Sequence[Mark], summary: dict[str, Any], created: datetime,
          generator: str) -> dict[str, Any]:
    """The timeline document (see ``docs/timeline-format.md``)."""
    segments = segments_from_cuts(cuts, duration=info.duration, fps=info.video.fps)
    start = violation_start(events)
    return {
        "schema": SCHEMA, "schema_version": SCHEMA_VERSION, "generator": generator,
        "created": created.isoformat(timespec="seconds"), "mode": mode,
        "source": {"name": source_name, "sha256": source_sha256, "size": info.size},
        "probe": info.to_dict(),
        "segments": [asdict(s) for s in segments],
        "cuts": [{"time": round(c.time, 6), "frame": c.frame, "score": round(c.score, 4)}
                 for c in cuts],
        "events": [_event(e, info) for e in events],
        "violation_start": None if start is None else {
            "time": round(start.start, 6), "frame": start.start_frame, "kind": start.kind,
            "wall_clock": wall_clock(info, start.start)},
        "keyframes": [asdict(k) | {"wall_clock": wall_clock(info, k.time)} for k in keyframes],
        "marks": [{"time": m.time, "label": m.label, "wall_clock": wall_clock(info, m.time)}
                  for m in marks],
        "summary": summary,
    }


def dumps(document: dict[str, Any]) -> str:
    """Stable JSON text (sorted keys, two-space indent, trailing newline)."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def vtt_time(seconds: float) -> str:
    """WebVTT timestamp ``HH:MM:SS.mmm``."""
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def _cue(ident: str, start: float, end: float, text: str) -> str:
    end = max(end, start + 0.001)
    clean = text.replace("-->", "→").replace("\n", " ").strip() or ident
    return f"{ident}\n{vtt_time(start)} --> {vtt_time(end)}\n{clean}\n"


def chapters_vtt(*, segments: Sequence[Segment], events: Sequence[Event],
                 marks: Sequence[Mark]) -> str:
    """WebVTT: a chapter cue per segment, a cue per detected event and per officer mark,
    ordered by start (mark events from the marks detector appear once, as marks)."""
    cues = [(s.start, 0, _cue(f"chapter-{s.index}", s.start, s.end,
                              f"Shot {s.index} ({vtt_time(s.start)}–{vtt_time(s.end)})"))
            for s in segments]
    for k, e in enumerate((e for e in events if e.kind != "mark"), 1):
        name = str(e.detail.get("name", ""))
        label = f"{e.kind}{f' {name}' if name else ''} (confidence {e.confidence:.2f})"
        cues.append((e.start, 1, _cue(f"event-{k}", e.start, e.end, label)))
    for k, m in enumerate(marks, 1):
        cues.append((m.time, 2, _cue(f"mark-{k}", m.time, m.time + 1.0,
                                     f"Officer mark{f': {m.label}' if m.label else ''}")))
    cues.sort(key=lambda c: (c[0], c[1]))
    return "WEBVTT\n\n" + "\n".join(c[2] for c in cues)
