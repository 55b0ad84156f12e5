"""Running detectors over a video: single pass, or coarse-to-fine.

* :func:`run_detectors` is one pass: camera motion is estimated once per sample and shared by
  every detector. Fed every frame, it is the ``full`` mode.
* :func:`detect_events` is the coarse-to-fine mode. Pass 1 runs the detectors on coarse samples
  (for example one key frame per second) to find candidates. Pass 2 decodes, for each candidate,
  the window ``[start - before, start + after]`` from the detector's
  :meth:`~video_pipeline.detector.EventDetector.refine_margin` (widened back to the previous
  coarse sample) at full frame rate, runs *fresh* detectors there and places the start to the
  frame. Detectors drawn on a reference frame (:class:`ReferenceRegistered`) are seeded with the
  reference pass 1 used, so zones and lines stay where the user drew them.
* :func:`merge_events` joins overlapping events of the same kind and name.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from video_pipeline.detector import Event, EventDetector, FrameSample
from video_pipeline.detectors.registration import ReferenceRegistered
from video_pipeline.errors import InvalidOption
from video_pipeline.motion import MotionEstimator

_logger = logging.getLogger(__name__)

ReadWindow = Callable[[float, float], Iterable[FrameSample]]
"""``read_window(start, end)``: every frame with ``start <= time <= end``, in order."""
MakeDetectors = Callable[[], Sequence[EventDetector]]
"""Returns a fresh, identically configured list of detectors on every call."""


def run_detectors(samples: Iterable[FrameSample], detectors: Sequence[EventDetector]) -> list[
        Event]:
    """One pass of ``detectors`` over ``samples``; events merged and ordered by start.

    Raises:
        InvalidOption: ``detectors`` is empty.
    """
    per_detector = _run(samples, detectors)
    return merge_events([e for events in per_detector for e in events])


def _run(samples: Iterable[FrameSample], detectors: Sequence[EventDetector]) -> list[
        list[Event]]:
    if not detectors:
        raise InvalidOption("no detectors to run: configure at least one")
    estimator = MotionEstimator()
    count = 0
    for sample in samples:
        motion = estimator.update(sample)
        for detector in detectors:
            detector.process(sample, motion)
        count += 1
    _logger.debug("ran %d detectors over %d samples", len(detectors), count)
    return [detector.finish() for detector in detectors]


@dataclass(slots=True)
class _Window:
    start: float
    end: float
    candidates: list[tuple[int, Event]]


def detect_events(
    coarse: Iterable[FrameSample], *, make_detectors: MakeDetectors,
    read_window: ReadWindow | None = None, merge_gap: float = 0.0,
) -> list[Event]:
    """Events of the detectors ``make_detectors`` builds, placed to the frame.

    Without ``read_window`` this is a single pass over ``coarse`` (``full`` mode: pass every
    frame). With it, candidates from ``coarse`` are refined at full rate on windows read with
    ``read_window``; a candidate that pass 2 does not confirm keeps its coarse placement.
    Events of one kind and name closer than ``merge_gap`` seconds are merged.

    Raises:
        InvalidOption: ``make_detectors`` returns no detectors, or a different number of them
            on a later call.
    """
    first = list(make_detectors())
    if read_window is None:
        return merge_events([e for es in _run(coarse, first) for e in es], gap=merge_gap)
    times: list[float] = []
    candidates = _run((_note(s, times) for s in coarse), first)
    references = [d.reference if isinstance(d, ReferenceRegistered) else None for d in first]
    refined: list[Event] = []
    for window in _windows(candidates, first, times):
        refined.extend(_refine(window, make_detectors, read_window, references, len(first)))
    return merge_events(refined, gap=merge_gap)


def _note(sample: FrameSample, times: list[float]) -> FrameSample:
    times.append(sample.time)
    return sample


def _windows(candidates: list[list[Event]], detectors: Sequence[EventDetector],
             times: list[float]) -> list[_Window]:
    """Refinement windows, overlapping ones joined."""
    raw = []
    for i, events in enumerate(candidates):
        before, after = detectors[i].refine_margin()
        for event in events:
            previous = max((t for t in times if t < event.start), default=event.start)
            start = max(0.0, min(event.start - before, previous - 0.5 * before))
            raw.append(_Window(start, event.start + after, [(i, event)]))
    raw.sort(key=lambda w: w.start)
    joined: list[_Window] = []
    for window in raw:
        if joined and window.start <= joined[-1].end:
            joined[-1].end = max(joined[-1].end, window.end)
            joined[-1].candidates.extend(window.candidates)
        else:
            joined.append(window)
    return joined


def _refine(window: _Window, make_detectors: MakeDetectors, read_window: ReadWindow,
            references: list[FrameSample | None], expected: int) -> list[Event]:
    fresh = list(make_detectors())
    if len(fresh) != expected:
        raise InvalidOption(f"make_detectors returned {len(fresh)} detectors, not {expected}")
    wanted = sorted({i for i, _ in window.candidates})
    for i in wanted:
        reference, detector = references[i], fresh[i]
        if reference is not None and isinstance(detector, ReferenceRegistered):
            detector.seed_reference(reference)
    found = _run(read_window(window.start, window.end), [fresh[i] for i in wanted])
    by_index = dict(zip(wanted, found, strict=True))
    _logger.debug("refined %d candidates on [%.3f, %.3f]", len(window.candidates),
                  window.start, window.end)
    return [_placed(event, by_index[i]) for i, event in window.candidates]


def _placed(coarse: Event, refined: list[Event]) -> Event:
    """``coarse`` with the start of the nearest refined event, if there is one."""
    if not refined:
        _logger.info("%s candidate at %.3f s not confirmed at full rate; keeping it",
                     coarse.kind, coarse.start)
        return coarse
    best = min(refined, key=lambda e: abs(e.start - coarse.start))
    return dataclasses.replace(
        coarse, start=best.start, start_frame=best.start_frame, end=max(coarse.end, best.end),
        confidence=max(coarse.confidence, best.confidence), region=best.region or coarse.region,
        detail={**coarse.detail, **best.detail})


def merge_events(events: Iterable[Event], *, gap: float = 0.0) -> list[Event]:
    """Join events of one kind and name that overlap (or are within ``gap`` s); by start.

    A merged event keeps the earliest start, the latest end, and the peak, confidence and
    region of its most confident part.
    """
    ordered = sorted(events, key=lambda e: (e.kind, str(e.detail.get("name", "")), e.start))
    merged: list[Event] = []
    for event in ordered:
        last = merged[-1] if merged else None
        if (last is None or last.kind != event.kind
                or last.detail.get("name") != event.detail.get("name")
                or event.start > last.end + gap):
            merged.append(event)
            continue
        top = event if event.confidence > last.confidence else last
        merged[-1] = dataclasses.replace(top, start=last.start, start_frame=last.start_frame,
                                         end=max(last.end, event.end))
    return sorted(merged, key=lambda e: (e.start, e.kind))
