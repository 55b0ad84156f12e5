"""Video analysis throughput, cut accuracy and memory against PySceneDetect and ffmpeg.

Generates recorder-like 1080p30 H.264 (High profile, about 8 Mb/s, fixed 1 s GOP with
``-g 30 -keyint_min 30 -sc_threshold 0``, B-frames, grainy texture so quality pumps at each
I-frame, camera shake, bob and pans, cuts mid-GOP at known frames), then measures in one run:

* our ``fast`` mode (coarse to fine) vs PySceneDetect ``detect-content`` with default
  settings (``scenedetect.detect(path, ContentDetector())``) and vs its ``HistogramDetector``;
* our ``full`` mode vs ``ffmpeg -an -i FILE -f null -``;
* cut precision and recall within ±0.5 s for us and for PySceneDetect;
* the peak RSS of our analysing process (each of our runs is a fresh child process; the
  ffmpeg processes it starts are reported separately).

Our runs are whole ``analyze()`` calls (probe, cuts, key frames decoded at full resolution,
contact sheet, timeline) with the event detectors off, so that they compare with a scene
detector; one more fast run with the default detectors (activity, smoke) is reported too.

Usage: .venv/bin/python bench/video.py [--seconds 90] [--keep FILE] [--runs 1]

``--long-hours H`` instead measures memory on a long file: the clip (``--keep`` or a fresh
one, which then has a single cut mid-way, like a recording that rarely cuts) is repeated by
ffmpeg's ``-stream_loop`` with stream copy (no re-encode) into an H-hour file next to it
(so each copy's end is one more cut), analysed once in ``fast`` mode in a fresh child
process (peak RSS of that process, ``ru_maxrss`` of its largest ffmpeg child, the sampled
sum of its ffmpeg children, wall and CPU seconds), and the long file is deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import video_media as vm  # noqa: E402
from video_pipeline import ffmpeg as ff  # noqa: E402

WIDTH, HEIGHT, FPS = 1920, 1080, 30
TOLERANCE = 0.5


def cut_frames(seconds: float) -> tuple[int, ...]:
    """Cuts about every 6–9 s, on frames that are not key frames (mid-GOP), plus one
    exactly on a key frame."""
    offsets = (4.4, 11.73, 17.2, 24.57, 30.0, 36.37, 43.1, 49.83, 57.47, 63.2, 70.93, 77.6,
               84.27, 91.1, 97.77, 104.4, 111.13)
    return tuple(round(t * FPS) for t in offsets if t < seconds - 2.0)


def generate(path: Path, seconds: float,
             cuts: tuple[int, ...] | None = None) -> tuple[int, ...]:
    cuts = cut_frames(seconds) if cuts is None else cuts
    frames = vm.recorder_frames(width=WIDTH, height=HEIGHT, fps=FPS,
                                frame_count=round(seconds * FPS), cut_frames=cuts, seed=11,
                                grain=7.0)
    options = vm.x264_options(gop=FPS, bitrate="8M", preset="veryfast")
    vm.encode(frames, path, width=WIDTH, height=HEIGHT, fps=FPS, options=options)
    return cuts


def precision_recall(found: list[float], truth: list[float]) -> tuple[float, float]:
    """One-to-one matching within ±TOLERANCE s."""
    unmatched = list(truth)
    hits = 0
    for t in sorted(found):
        best = min(unmatched, key=lambda u: abs(u - t), default=None)
        if best is not None and abs(best - t) <= TOLERANCE:
            unmatched.remove(best)
            hits += 1
    precision = hits / len(found) if found else 1.0
    recall = hits / len(truth) if truth else 1.0
    return precision, recall


def _vm_hwm_mb() -> float:
    """This process's peak resident set (VmHWM, reset at exec, unlike ru_maxrss)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _ChildSampler(threading.Thread):
    """Samples the RSS of our ffmpeg child processes every 50 ms (largest one, and all)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.largest = self.total = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        me = psutil.Process()
        while not self.done.wait(0.05):
            sizes = []
            for proc in me.children(recursive=True):
                try:
                    sizes.append(proc.memory_info().rss / 2**20)
                except psutil.Error:
                    continue
            self.largest = max(self.largest, *sizes, 0.0)
            self.total = max(self.total, sum(sizes))


def child(mode: str, source: Path) -> None:
    """Run one analysis in this fresh process and print its figures as JSON (CPU seconds of
    this process and of its ffmpeg children; ``ffmpeg_maxrss_mb`` is the largest child's
    ``ru_maxrss``)."""
    from video_pipeline.analyze import analyze
    from video_pipeline.options import AnalyzeOptions

    events = mode == "fast-events"
    options = AnalyzeOptions(mode="full" if mode == "full" else "fast", activity=events,
                             smoke=events)
    sampler = _ChildSampler()
    sampler.start()
    with tempfile.TemporaryDirectory() as out:
        start, cpu_before = time.perf_counter(), _cpu(resource.RUSAGE_SELF)
        result = analyze(source, Path(out), options=options)
        elapsed = time.perf_counter() - start
    sampler.done.set()
    me, kids = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                    resource.RUSAGE_CHILDREN))
    print(json.dumps({
        "cpu_self": me.ru_utime + me.ru_stime - cpu_before,
        "cpu_children": kids.ru_utime + kids.ru_stime,
        "ffmpeg_maxrss_mb": kids.ru_maxrss / 1024, "keyframes": len(result.timeline["keyframes"]),
        "elapsed": elapsed, "cuts": [c["time"] for c in result.timeline["cuts"]],
        "events": len(result.timeline["events"]), "rss_mb": _vm_hwm_mb(),
        "ffmpeg_largest_mb": sampler.largest, "ffmpeg_total_mb": sampler.total}))


@dataclass(frozen=True)
class Run:
    """One timed run: wall seconds and the cut times it found (None: not a cut detector)."""

    name: str
    elapsed: float
    cuts: list[float] | None
    extra: dict[str, float] = field(default_factory=dict)


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_ours(name: str, mode: str, source: Path) -> Run:
    proc = subprocess.run([sys.executable, __file__, "--child", mode, str(source)],
                          capture_output=True, text=True, check=True, cwd=ROOT)
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    figures["cpu"] = figures["cpu_self"] + figures["cpu_children"]
    return Run(name, figures.pop("elapsed"), figures.pop("cuts"), figures)


def run_scenedetect(name: str, source: Path, detector_name: str) -> Run:
    from scenedetect import ContentDetector, HistogramDetector, detect

    detector = ContentDetector() if detector_name == "content" else HistogramDetector()
    cpu, start = _cpu(resource.RUSAGE_SELF), time.perf_counter()
    scenes = detect(str(source), detector)
    elapsed = time.perf_counter() - start
    return Run(name, elapsed, [s.seconds for s, _ in scenes[1:]],
               {"cpu": _cpu(resource.RUSAGE_SELF) - cpu})


def run_null_decode(name: str, source: Path) -> Run:
    cpu, start = _cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
    ff.run_null_decode(source)
    return Run(name, time.perf_counter() - start, None,
               {"cpu": _cpu(resource.RUSAGE_CHILDREN) - cpu})


def median(runs: Callable[[], Run], count: int) -> Run:
    """The run with the median wall time of ``count``."""
    results = sorted((runs() for _ in range(count)), key=lambda r: r.elapsed)
    return results[len(results) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--runs", type=int, default=1, help="repeat each timing, keep median")
    parser.add_argument("--keep", type=Path, help="write (or reuse) the clip here")
    parser.add_argument("--long-hours", type=float,
                        help="measure memory and time on a file this long (see above)")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        clip = args.keep or Path(tmp) / "recorder_1080p.mp4"
        start = time.perf_counter()
        # the long-file run repeats its clip: one cut in it, plus one where each copy ends
        cuts = (round(args.seconds * FPS / 2) + 7,) if args.long_hours else cut_frames(
            args.seconds)
        if not clip.exists():
            cuts = generate(clip, args.seconds, cuts)
        truth = [f / FPS for f in cuts]
        size = clip.stat().st_size
        print(f"clip: {args.seconds:.0f} s 1080p30 H.264 High, {size / 1e6:.1f} MB "
              f"({size * 8 / args.seconds / 1e6:.2f} Mb/s), {len(truth)} cuts "
              f"({sum(f % FPS != 0 for f in cuts)} mid-GOP), made in "
              f"{time.perf_counter() - start:.0f} s; load average {os.getloadavg()[0]:.2f}")
        if args.long_hours:
            long_run(clip, args.long_hours, (len(truth) + 1) / args.seconds)
        else:
            report(clip, truth, args.seconds, args.runs)


def loop_to(clip: Path, out: Path, seconds: float) -> None:
    """``out``: ``clip`` repeated to ``seconds`` by stream copy (timestamps run on)."""
    import ffmpeg as ffmpeg_python

    clip_s = float(ff.run_ffprobe(clip)["format"]["duration"])
    loops = max(0, int(seconds // clip_s))
    node = ffmpeg_python.input(str(clip), stream_loop=loops).output(
        str(out), map="0:v", c="copy", t=f"{seconds:.3f}")
    ff.run_graph(node, what=f"looping {clip.name} to {seconds:.0f} s")


def long_run(clip: Path, hours: float, cuts_per_second: float) -> None:
    """Analyse an ``hours``-long copy of ``clip`` once (``fast``); print memory and time."""
    seconds = hours * 3600.0
    long_file = clip.with_name(f"{clip.stem}_{hours:g}h.mp4")
    try:
        start = time.perf_counter()
        loop_to(clip, long_file, seconds)
        size = long_file.stat().st_size
        print(f"long file: {seconds:.0f} s, {size / 1e9:.2f} GB "
              f"({size * 8 / seconds / 1e6:.2f} Mb/s), about {cuts_per_second * seconds:.0f} "
              f"cuts, made in {time.perf_counter() - start:.0f} s by stream copy; "
              f"load average {os.getloadavg()[0]:.2f}")
        run = run_ours("ours: fast on the long file", "fast", long_file)
    finally:
        long_file.unlink(missing_ok=True)
    x = run.extra
    print(f"{run.name}: {run.elapsed:.0f} s wall ({seconds / run.elapsed:.1f}x real time; "
          f"{run.elapsed * 3600 / seconds / 60:.1f} min per hour of video), CPU "
          f"{x['cpu_self']:.0f} s in Python + {x['cpu_children']:.0f} s in ffmpeg; "
          f"{len(run.cuts or [])} cuts, {x['keyframes']:.0f} key frames; load average "
          f"{os.getloadavg()[0]:.2f}")
    print(f"peak RSS: python {x['rss_mb']:.0f} MB (target <= 300 MB); largest ffmpeg child "
          f"ru_maxrss {x['ffmpeg_maxrss_mb']:.0f} MB; ffmpeg children sampled "
          f"{x['ffmpeg_largest_mb']:.0f} MB largest, {x['ffmpeg_total_mb']:.0f} MB together")


def report(clip: Path, truth: list[float], seconds: float, runs: int) -> None:
    null = median(lambda: run_null_decode("ffmpeg -an -i FILE -f null -", clip), runs)
    content = median(lambda: run_scenedetect("PySceneDetect ContentDetector (default)", clip,
                                             "content"), runs)
    hist = median(lambda: run_scenedetect("PySceneDetect HistogramDetector (default)", clip,
                                          "histogram"), runs)
    fast = median(lambda: run_ours("ours: fast (coarse to fine)", "fast", clip), runs)
    full = median(lambda: run_ours("ours: full (every frame)", "full", clip), runs)
    events = median(lambda: run_ours("ours: fast + activity/smoke detectors", "fast-events",
                                      clip), runs)
    print(f"{'run':44s} {'wall s':>7s} {'CPU s':>6s} {'video x':>7s} {'fps':>6s} "
          f"{'P':>5s} {'R':>5s}")
    for run in (null, content, hist, fast, full, events):
        pr = precision_recall(run.cuts, truth) if run.cuts is not None else None
        scores = f"{pr[0]:5.2f} {pr[1]:5.2f}" if pr else " " * 11
        print(f"{run.name:44s} {run.elapsed:7.2f} {run.extra['cpu']:6.2f} "
              f"{seconds / run.elapsed:7.1f} {seconds * FPS / run.elapsed:6.0f} {scores}")
    print(f"fast vs ContentDetector throughput: {content.elapsed / fast.elapsed:.2f}x "
          f"(target >= 4x); CPU seconds: {content.extra['cpu'] / fast.extra['cpu']:.2f}x "
          f"fewer; load average now {os.getloadavg()[0]:.2f}")
    print(f"fast vs HistogramDetector throughput: {hist.elapsed / fast.elapsed:.2f}x")
    print(f"full vs ffmpeg null decode throughput: {null.elapsed / full.elapsed:.2f}x "
          "(target >= 0.8x)")
    for run in (fast, full, events):
        print(f"{run.name}: python peak RSS {run.extra['rss_mb']:.0f} MB (target <= 300 MB); "
              f"ffmpeg children sampled peak {run.extra['ffmpeg_largest_mb']:.0f} MB largest, "
              f"{run.extra['ffmpeg_total_mb']:.0f} MB together; "
              f"events found {run.extra['events']:.0f}")


if __name__ == "__main__":
    main()
