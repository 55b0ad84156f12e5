"""Scene cuts, coarse to fine.

Coarse: consecutive key frames (or, in ``full`` mode, anchor frames one second apart) are
compared. A pair is a *candidate* when either measure says its content changed:

* colour: Bhattacharyya distance of hue–saturation histograms (16×3 bins for coloured
  pixels, 4 brightness bins for greyish ones whose hue is noise), so exposure drift barely
  counts;
* content: 1 − the best normalised cross-correlation of one blurred 64×36 grey thumbnail's
  centre inside the other (shake and moderate pans do not count).

Both measures ignore grain, so the quality pumping of an encoder at every I-frame does not
fire them. Pans and shake do move content between key frames a second apart, which is why a
candidate is only a suspicion.

Fine: every frame of the window between the two anchors is decoded. A cut is a single step
that carries most of the window's change (a pan spreads its change across many small steps)
and stands far above the window's typical step. It is placed at the first frame of the new
shot, to the frame.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from video_pipeline.detector import FrameSample
from video_pipeline.errors import PipelineError

_logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]
_THUMB = (64, 36)
_GREY_SAT = 48
"""Below this saturation a pixel's hue is noise: it counts by brightness (4 bins) instead."""


@dataclass(frozen=True, slots=True)
class CutParams:
    """Thresholds of the cut detector (defaults tuned on recorder-like footage, see tests)."""

    candidate_colour: float = 0.30
    candidate_content: float = 0.25
    step_colour: float = 0.25
    step_content: float = 0.30
    share: float = 0.5
    outlier: float = 6.0
    min_shot_frames: int = 8


@dataclass(frozen=True, slots=True)
class Features:
    """What the cut detector keeps of one frame (a 52-bin histogram and a 64×36 thumbnail)."""

    index: int
    time: float
    hist: FloatArray
    thumb: FloatArray


@dataclass(frozen=True, slots=True)
class Cut:
    """A cut placed to the frame: ``frame``/``time`` are the first frame of the new shot."""

    frame: int
    time: float
    score: float


def features(sample: FrameSample) -> Features:
    """The colour histogram and blurred grey thumbnail of one proxy frame.

    Coloured pixels count in 16 hue × 3 saturation bins; greyish ones (whose hue is only
    noise) in 4 brightness bins.
    """
    hsv = cv2.cvtColor(sample.bgr, cv2.COLOR_BGR2HSV)
    chroma = cv2.inRange(hsv, (0, _GREY_SAT, 0), (180, 255, 255))
    coloured = cv2.calcHist([hsv], [0, 1], chroma, [16, 3], [0, 180, _GREY_SAT, 256])
    greyish = cv2.calcHist([hsv], [2], cv2.bitwise_not(chroma), [4], [0, 256])
    counts = np.concatenate([coloured.ravel(), greyish.ravel()])
    hist: FloatArray = np.asarray(counts / max(float(counts.sum()), 1.0), dtype=np.float32)
    small = cv2.resize(sample.grey, _THUMB, interpolation=cv2.INTER_AREA).astype(np.float32)
    thumb: FloatArray = np.asarray(cv2.GaussianBlur(small, (3, 3), 0), dtype=np.float32)
    return Features(sample.index, sample.time, hist, thumb)


def colour_change(a: Features, b: Features) -> float:
    """Bhattacharyya distance of the colour histograms, in [0, 1] (brightness counts only,
    coarsely, for greyish pixels, so exposure drift barely moves it)."""
    return float(cv2.compareHist(a.hist, b.hist, cv2.HISTCMP_BHATTACHARYYA))


def content_change(a: Features, b: Features) -> float:
    """1 − the best normalised correlation of ``a``'s centre within ``b``, in [0, 2].

    The centre may move by up to a sixth of the frame each way, so shake and moderate pans
    between the two frames do not count as change; grain is averaged away by the thumbnail.
    Two flat (featureless) frames do not differ; a flat and a textured one differ fully.
    """
    mx, my = _THUMB[0] // 6, _THUMB[1] // 6
    template = a.thumb[my:-my, mx:-mx]
    flat_a, flat_b = float(template.std()) < 1.0, float(b.thumb.std()) < 1.0
    if flat_a or flat_b:
        return 0.0 if flat_a and flat_b else 1.0
    best = float(cv2.matchTemplate(b.thumb, template, cv2.TM_CCOEFF_NORMED).max())
    return 1.0 - best if np.isfinite(best) else 1.0


def is_candidate(a: Features, b: Features, *, params: CutParams | None = None) -> bool:
    """Whether the content changed enough between two anchors to look for a cut between."""
    params = params or CutParams()
    return (colour_change(a, b) >= params.candidate_colour
            or content_change(a, b) >= params.candidate_content)


def place_cuts(window: list[Features], params: CutParams, *,
               ends: tuple[Features, Features] | None = None) -> list[Cut]:
    """Cuts inside one window of consecutive frames (the anchors at both ends included).

    A step is a cut when it is large in absolute terms, carries at least ``share`` of the
    change between the window's ends (or stands ``outlier`` times above the median step), and
    lies ``min_shot_frames`` from a stronger cut. ``ends`` gives the anchors when ``window``
    stops short of the second one.
    """
    if len(window) < 2:
        return []
    first, last = ends or (window[0], window[-1])
    colour = np.array([colour_change(a, b) for a, b in itertools.pairwise(window)])
    content = np.array([content_change(a, b) for a, b in itertools.pairwise(window)])
    total_colour = max(colour_change(first, last), 1e-6)
    total_content = max(content_change(first, last), 1e-6)
    typical = float(np.median(content)) + 0.01
    found: list[Cut] = []
    for k in np.argsort(-(colour + content)):
        big = colour[k] >= params.step_colour or content[k] >= params.step_content
        sudden = (colour[k] >= params.share * total_colour
                  or content[k] >= params.share * total_content
                  or content[k] >= params.outlier * typical)
        if not (big and sudden and content[k] >= params.outlier * typical * 0.5):
            continue
        head = window[k + 1]
        if any(abs(head.index - c.frame) < params.min_shot_frames for c in found):
            continue
        found.append(Cut(frame=head.index, time=head.time, score=float(colour[k] + content[k])))
    return sorted(found, key=lambda c: c.frame)


Window = tuple[Features, Features]
"""Two consecutive anchors whose change makes them a cut candidate."""


def candidate_windows(anchors: Sequence[Features],
                      params: CutParams | None = None) -> list[Window]:
    """Each pair of consecutive anchors that may hold a cut."""
    params = params or CutParams()
    return [(a, b) for a, b in itertools.pairwise(anchors) if is_candidate(a, b, params=params)]


def read_until_settled(samples: Iterable[FrameSample], window: Window, *,
                       params: CutParams) -> list[Features]:
    """Features of a window's frames, stopping early at the first frame after the start
    that already looks like the end anchor (not a candidate against it): a cut after it
    would join two frames alike, which :func:`place_cuts` would not accept anyway, since a
    cut must carry most of the change between the anchors. The decoder behind ``samples``
    is then closed. A window that holds one cut ends on the cut's frame (about half of it);
    one whose change was gradual (a pan, an I-frame's quality pump) ends where the change
    is done."""
    iterator = iter(samples)
    try:
        return settle(iterator, window, params=params)[0]
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


def settle(samples: Iterable[FrameSample], window: Window, *,
           params: CutParams) -> tuple[list[Features], bool]:
    """:func:`read_until_settled` without closing ``samples``; also says whether the frames
    settled (False: ``samples`` ran out first)."""
    end = window[1]
    frames: list[Features] = []
    for sample in samples:
        feat = features(sample)
        frames.append(feat)
        if (len(frames) > 1 and feat.time < end.time
                and not is_candidate(feat, end, params=params)):
            return frames, True
    return frames, False


def place_in_batch(windows: Sequence[Window],
                   groups: Iterable[tuple[int, Iterable[FrameSample]]], *,
                   read_window: Callable[[float, float], Iterable[FrameSample]],
                   params: CutParams) -> list[Cut]:
    """Place the cuts of several windows whose frames come from one decoder, as
    ``(window index, frames)`` groups in window order, each cut short where the caller
    guessed the cut lies. A window whose frames settle within its group is judged on exactly
    the frames :func:`place_in_window` would read; any other (no frames, not settled by the
    guess, or the shared decoder failed) is decoded again in full by
    :func:`place_in_window`, so the guesses change the cost, never the cuts.

    Raises:
        PipelineError: whatever ``read_window`` raises (decoding failures).
    """
    settled: dict[int, list[Features]] = {}
    try:
        for k, samples in groups:
            frames, done = settle(samples, windows[k], params=params)
            if done:
                settled[k] = frames
    except PipelineError as exc:  # the windows left are decoded one by one, as usual
        _logger.info("shared window decode failed (%s); decoding the rest one by one", exc)
    found: list[Cut] = []
    for k, window in enumerate(windows):
        if k in settled:
            found += place_cuts(settled[k], params, ends=window)
        else:
            _logger.debug("window %.3f–%.3f did not settle by its guess", window[0].time,
                          window[1].time)
            found += place_in_window(window, read_window=read_window, params=params)
    return found


def place_in_windows(windows: Iterable[Window], *,
                     read_window: Callable[[float, float], Iterable[FrameSample]],
                     params: CutParams | None = None, workers: int = 1) -> list[Cut]:
    """Decode each window at full frame rate through ``read_window(t0, t1)`` (both ends
    inclusive; ``workers`` windows at a time, each stopping once settled) and place its
    cuts to the frame.

    Raises:
        PipelineError: whatever ``read_window`` raises (decoding failures).
    """
    chosen = params or CutParams()

    def one(window: Window) -> list[Cut]:
        return place_in_window(window, read_window=read_window, params=chosen)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        found = [cut for placed in pool.map(one, windows) for cut in placed]
    return dedupe_cuts(found, chosen)


def place_in_window(window: Window, *,
                    read_window: Callable[[float, float], Iterable[FrameSample]],
                    params: CutParams) -> list[Cut]:
    """Decode one candidate window (until settled) and place its cuts to the frame.

    Raises:
        PipelineError: whatever ``read_window`` raises (decoding failures).
    """
    frames = read_until_settled(read_window(window[0].time, window[1].time), window,
                                params=params)
    placed = place_cuts(frames, params, ends=window)
    _logger.debug("candidate %.3f–%.3f: %d of its frames, %d cut(s)", window[0].time,
                  window[1].time, len(frames), len(placed))
    return placed


def refine_cuts(anchors: Sequence[Features], *,
                read_window: Callable[[float, float], Iterable[FrameSample]],
                params: CutParams | None = None) -> list[Cut]:
    """Coarse to fine over a list of anchors: :func:`candidate_windows` then
    :func:`place_in_windows`.

    Raises:
        PipelineError: whatever ``read_window`` raises (decoding failures).
    """
    windows = candidate_windows(anchors, params)
    return place_in_windows(windows, read_window=read_window, params=params)


def dedupe_cuts(cuts: list[Cut], params: CutParams) -> list[Cut]:
    """Cuts in frame order, the stronger of two closer than ``min_shot_frames`` kept."""
    out: list[Cut] = []
    for cut in sorted(cuts, key=lambda c: c.frame):
        if out and cut.frame - out[-1].frame < params.min_shot_frames:
            if cut.score > out[-1].score:
                out[-1] = cut
            continue
        out.append(cut)
    return out


class StreamingCutDetector:
    """``full`` mode: every frame is seen once; windows of ``anchor_every`` frames are judged
    as they complete, so memory holds one window of features, never the whole stream."""

    def __init__(self, *, anchor_every: int, params: CutParams | None = None) -> None:
        self._every = max(2, anchor_every)
        self._params = params or CutParams()
        self._window: list[Features] = []
        self.cuts: list[Cut] = []

    def push(self, sample: FrameSample) -> Features:
        """Add the next frame; returns its features (the caller may keep them)."""
        feat = features(sample)
        self._window.append(feat)
        if len(self._window) > self._every:
            self._judge()
        return feat

    def _judge(self) -> None:
        window = self._window
        if is_candidate(window[0], window[-1], params=self._params):
            self.cuts.extend(place_cuts(window, self._params))
        self._window = [window[-1]]

    def finish(self) -> list[Cut]:
        """Judge the last partial window and return every cut, in order."""
        if len(self._window) > 1:
            self._judge()
        return dedupe_cuts(self.cuts, self._params)


def iter_features(samples: Iterable[FrameSample]) -> Iterator[Features]:
    """Features of each sample, lazily."""
    for sample in samples:
        yield features(sample)
