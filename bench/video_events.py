"""Event detectors on synthetic recorder footage: start error, false events, speed.

Renders each scenario of :mod:`video_pipeline.synthetic` at a 320×180 proxy and runs the
detectors in ``full`` mode (every frame) and ``coarse`` mode (one sample per second, then
full-rate windows around candidates). Prints, per scenario and mode, the start error in
seconds and frames against the truth, false events, and milliseconds per frame; the baseline
for speed is the motion estimator alone, run in the same process.

    PYTHONPATH=. python bench/video_events.py [--seeds 3] [--fps 15] [--duration 10]

``--encoded`` instead renders each scenario at full size (default 1920×1080, 30 fps, 10 s),
encodes it like a recorder (H.264 High, 8 Mb/s, fixed 1 s GOP, 2 B-frames, no scene-cut
I-frames) and runs the whole ``analyze()`` on the file in ``fast`` and ``full`` mode, with
the activity and smoke detectors on and the scenario's zone or line given (the shaky walk
gets both the zone and the line of the other scenes). It prints the violation start's error
against the truth and every event of another kind (a false event), per seed.

    PYTHONPATH=. python bench/video_events.py --encoded [--seeds 3 4] [--size 1920x1080]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

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
from video_pipeline.options import AnalyzeOptions, Line, Zone

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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


def _encoded_options(scenario: str, truth: synthetic.SceneTruth,
                     shaky: Sequence[synthetic.SceneTruth], mode: str) -> AnalyzeOptions:
    zone = truth.zone or next((t.zone for t in shaky if t.zone), None)
    line = truth.line or next((t.line for t in shaky if t.line), None)
    return AnalyzeOptions(
        mode="full" if mode == "full" else "fast",
        zones=(Zone("zone", tuple(zone)),) if zone and scenario in ("zone_entry", "shaky_walk")
        else (),
        lines=(Line("line", line),) if line and scenario in ("line_crossing", "shaky_walk")
        else ())


def run_encoded(seeds: Sequence[int], *, size: tuple[int, int], fps: float,
                duration: float) -> None:
    """Render, encode like a recorder, analyse end to end, report (see the docstring)."""
    from tests.support import video_media as vm
    from video_pipeline.analyze import analyze

    width, height = size
    geometry = {"width": width, "height": height, "fps": fps, "duration": duration}
    print(f"{'seed':>4s} {'scenario':14s} {'mode':5s} {'start error':>22s}  "
          f"{'false events':14s} {'wall s':>6s}")
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            shaky = [synthetic.truth(s, seed=seed, **geometry)
                     for s in ("zone_entry", "line_crossing")]
            for scenario in synthetic.SCENARIOS:
                truth = synthetic.truth(scenario, seed=seed, **geometry)
                clip = Path(tmp) / f"{scenario}_{seed}.mp4"
                vm.encode(synthetic.render(scenario, seed=seed, **geometry), clip,
                          width=width, height=height, fps=fps,
                          options=vm.x264_options(gop=round(fps), bitrate="8M"))
                for mode in ("fast", "full"):
                    options = _encoded_options(scenario, truth, shaky, mode)
                    start = time.perf_counter()
                    result = analyze(clip, Path(tmp) / f"out_{scenario}_{seed}_{mode}",
                                     options=options)
                    wall = time.perf_counter() - start
                    _report_encoded(seed, scenario, mode, result.timeline, truth, wall)
                clip.unlink()


def _report_encoded(seed: int, scenario: str, mode: str, timeline: dict[str, object],
                    truth: synthetic.SceneTruth, wall: float) -> None:
    kind = KIND.get(scenario)
    events = timeline["events"]
    assert isinstance(events, list)
    false = sorted({e["kind"] for e in events if e["kind"] not in (kind, "activity")})
    found = [e for e in events if e["kind"] == kind]
    if kind is None:
        error = "(no event expected)"
    elif not found:
        error = "MISSED"
    else:
        expected = truth.events[0]
        first = min(found, key=lambda e: e["start"])
        error = (f"{first['start'] - expected.start:+.3f} s "
                 f"({first['start_frame'] - expected.start_frame:+d} frames)")
    print(f"{seed:4d} {scenario:14s} {mode:5s} {error:>22s}  "
          f"{len(false)} {','.join(false) or '-':12s} {wall:6.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[3, 4])
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--encoded", action="store_true",
                        help="encode each scene like a recorder and analyse the file")
    parser.add_argument("--size", default="1920x1080", help="frame size with --encoded")
    args = parser.parse_args()
    if args.encoded:
        width, height = (int(v) for v in args.size.split("x"))
        run_encoded(args.seeds, size=(width, height), fps=30.0 if args.fps == 15.0 else args.fps,
                    duration=args.duration)
        return
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
