"""Event detectors on synthetic recorder footage: start error, false events, speed.

Renders each scenario of :mod:`video_pipeline.synthetic` at a 320×180 proxy and runs the
detectors in ``full`` mode (every frame) and ``coarse`` mode (one sample per second, then
full-rate windows around candidates). Prints, per scenario and mode, the start error in
seconds and frames against the truth, false events, and milliseconds per frame; the baseline
for speed is the motion estimator alone, run in the same process.

    PYTHONPATH=. python bench/video_events.py [--seeds 3] [--fps 15] [--duration 10]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import cv2
import numpy as np

from video_pipeline import synthetic
from video_pipeline.detector import Event, EventDetector, FrameSample
from video_pipeline.detectors import (
    ActivityDetector,
    LineDetector,
    MarksDetector,
    SmokeDetector,
    ZoneDetector,
)
from video_pipeline.events import MakeDetectors, ReadWindow, detect_events
from video_pipeline.motion import MotionEstimator

KIND = {"zone_entry": "zone", "line_crossing": "line", "smoke_plume": "smoke"}


def _samples(scenario: str, *, fps: float, duration: float, seed: int) -> list[FrameSample]:
    frames = synthetic.render(scenario, fps=fps, duration=duration, seed=seed)
    return [FrameSample(i, i / fps, f, np.asarray(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY), np.uint8))
            for i, f in enumerate(frames)]


def _factory(truth: synthetic.SceneTruth, shaky: synthetic.SceneTruth | None) -> MakeDetectors:
    zone = truth.zone or (shaky.zone if shaky else None)
    line = truth.line or (shaky.line if shaky else None)

    def make() -> Sequence[EventDetector]:
        detectors: list[EventDetector] = [ActivityDetector(), SmokeDetector(), MarksDetector([])]
        if zone is not None:
            detectors.append(ZoneDetector(zone))
        if line is not None:
            detectors.append(LineDetector(line))
        return detectors

    return make


def _reader(frames: list[FrameSample]) -> ReadWindow:
    def read(a: float, b: float) -> list[FrameSample]:
        return [f for f in frames if a - 1e-9 <= f.time <= b + 1e-9]

    return read


def _report(scenario: str, mode: str, events: list[Event], truth: synthetic.SceneTruth,
            fps: float, ms: float) -> None:
    kind = KIND.get(scenario)
    found = [e for e in events if e.kind == kind]
    false = [e for e in events if e.kind not in (kind, "activity")] if kind else events
    if kind is None:
        print(f"{scenario:14s} {mode:6s} false events: {len(false):2d} "
              f"{[e.kind for e in false]}  {ms:6.1f} ms/frame")
        return
    expected = truth.events[0]
    if not found:
        print(f"{scenario:14s} {mode:6s} MISSED  {ms:6.1f} ms/frame")
        return
    err = found[0].start - expected.start
    frames = found[0].start_frame - expected.start_frame
    print(f"{scenario:14s} {mode:6s} start error {err:+.3f} s ({frames:+d} frames)  "
          f"other kinds: {len(false)}  {ms:6.1f} ms/frame")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[3, 4])
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    for seed in args.seeds:
        shaky_geometry = {s: synthetic.truth(s, fps=args.fps, duration=args.duration, seed=seed)
                          for s in ("zone_entry", "line_crossing")}
        for scenario in synthetic.SCENARIOS:
            truth = synthetic.truth(scenario, fps=args.fps, duration=args.duration, seed=seed)
            frames = _samples(scenario, fps=args.fps, duration=args.duration, seed=seed)
            base = time.perf_counter()
            estimator = MotionEstimator()
            for f in frames:
                estimator.update(f)
            base_ms = (time.perf_counter() - base) * 1000 / len(frames)
            for shaky in (shaky_geometry["zone_entry"], shaky_geometry["line_crossing"]) if (
                    scenario == "shaky_walk") else (None,):
                make = _factory(truth, shaky)
                start = time.perf_counter()
                full = detect_events(frames, make_detectors=make)
                full_ms = (time.perf_counter() - start) * 1000 / len(frames)
                step = round(args.fps)

                read = _reader(frames)
                start = time.perf_counter()
                coarse = detect_events(frames[::step], make_detectors=make,
                                       read_window=read)
                coarse_ms = (time.perf_counter() - start) * 1000 / len(frames)
                print(f"seed {seed}: motion estimator alone {base_ms:.1f} ms/frame")
                _report(scenario, "full", full, truth, args.fps, full_ms)
                _report(scenario, "coarse", coarse, truth, args.fps, coarse_ms)


if __name__ == "__main__":
    main()
