"""Cut scoring on synthetic arrays: cuts fire, pans, shake, grain and exposure drift do not."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from video_pipeline.detector import FrameSample
from video_pipeline.errors import ToolError
from video_pipeline.scenes import (
    CutParams,
    StreamingCutDetector,
    Window,
    colour_change,
    content_change,
    features,
    is_candidate,
    place_cuts,
    place_in_batch,
    place_in_window,
)

W, H = 320, 180


def _world(seed: int, tone: tuple[int, int, int]) -> np.ndarray:
    rng = np.random.default_rng(seed)
    world = np.zeros((H * 2, W * 2, 3), np.uint8)
    world[:] = tone
    for _ in range(60):
        colour = tuple(int(v) for v in rng.integers(20, 235, 3))
        x, y = int(rng.integers(0, W * 2)), int(rng.integers(0, H * 2))
        cv2.rectangle(world, (x, y), (x + int(rng.integers(10, 60)), y + int(rng.integers(10, 50))),
                      colour, -1)
    return world


def _sample(index: int, image: np.ndarray) -> FrameSample:
    bgr = np.ascontiguousarray(image)
    return FrameSample(index, index / 30, bgr, cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))


def _view(world: np.ndarray, x: int, y: int, *, gain: float = 1.0, grain: float = 0.0,
          seed: int = 0) -> np.ndarray:
    crop = world[y:y + H, x:x + W].astype(np.float32) * gain
    crop += np.random.default_rng(seed).normal(0, grain, crop.shape) if grain else 0.0
    return np.clip(crop, 0, 255).astype(np.uint8)


def _shot(world: np.ndarray, frames: range, *, pan: int = 2, grain: float = 4.0) -> list:
    rng = np.random.default_rng(frames.start)
    out = []
    for k in frames:
        jitter = rng.integers(-3, 4, 2)
        x = 100 + pan * (k - frames.start) + int(jitter[0])
        out.append(_sample(k, _view(world, x, 90 + int(jitter[1]), grain=grain, seed=k)))
    return out


def test_a_hard_cut_is_placed_on_the_first_frame_of_the_new_shot() -> None:
    a, b = _world(1, (100, 100, 110)), _world(2, (100, 100, 110))  # same ground tone
    window = [features(s) for s in _shot(a, range(0, 13)) + _shot(b, range(13, 31))]
    cuts = place_cuts(window, CutParams())
    assert [c.frame for c in cuts] == [13]


def test_a_pan_with_shake_and_grain_is_not_a_cut() -> None:
    window = [features(s) for s in _shot(_world(3, (70, 130, 80)), range(0, 31), pan=6)]
    assert place_cuts(window, CutParams()) == []


def test_quality_pumping_at_an_i_frame_is_not_a_cut() -> None:
    """The frame after the key frame is sharper/grainier than the one before: no cut."""
    world = _world(4, (170, 170, 165))
    frames = [_view(world, 100 + k, 90, grain=1.5, seed=k) for k in range(31)]
    blurred = [cv2.GaussianBlur(f, (0, 0), 1.2) for f in frames[:15]]  # soft P-frames
    sharp = [_view(world, 100 + k, 90, grain=9.0, seed=k) for k in range(15, 31)]  # crisp I
    window = [features(_sample(k, f)) for k, f in enumerate(blurred + sharp)]
    assert place_cuts(window, CutParams()) == []
    assert content_change(window[14], window[15]) < 0.1


def test_exposure_drift_changes_neither_measure_much() -> None:
    world = _world(5, (200, 160, 110))
    a = features(_sample(0, _view(world, 100, 90)))
    b = features(_sample(1, _view(world, 100, 90, gain=1.25)))
    assert colour_change(a, b) < CutParams().candidate_colour
    assert content_change(a, b) < 0.05


def test_flat_frames_do_not_differ_but_flat_and_textured_do() -> None:
    black = features(_sample(0, np.zeros((H, W, 3), np.uint8)))
    also_black = features(_sample(1, np.zeros((H, W, 3), np.uint8)))
    scene = features(_sample(2, _view(_world(6, (80, 80, 80)), 0, 0)))
    assert content_change(black, also_black) == 0.0
    assert content_change(black, scene) == 1.0


def test_candidates_between_anchors() -> None:
    a = features(_sample(0, _view(_world(7, (100, 100, 110)), 100, 90)))
    same = features(_sample(30, _view(_world(7, (100, 100, 110)), 108, 94, grain=4)))
    other = features(_sample(30, _view(_world(8, (60, 60, 160)), 100, 90)))
    assert not is_candidate(a, same, params=CutParams())
    assert is_candidate(a, other)


@pytest.mark.parametrize("cut_at", [12, 30, 31, 47])
def test_streaming_detector_finds_cuts_anywhere_even_on_window_edges(cut_at: int) -> None:
    a, b = _world(9, (100, 100, 110)), _world(10, (90, 110, 100))
    detector = StreamingCutDetector(anchor_every=30)
    for sample in _shot(a, range(0, cut_at)) + _shot(b, range(cut_at, 75)):
        detector.push(sample)
    assert [c.frame for c in detector.finish()] == [cut_at]


def test_two_cuts_in_one_window_are_both_found() -> None:
    a, b, c = _world(11, (100, 100, 110)), _world(12, (70, 130, 80)), _world(13, (60, 60, 160))
    samples = _shot(a, range(0, 8)) + _shot(b, range(8, 20)) + _shot(c, range(20, 31))
    cuts = place_cuts([features(s) for s in samples], CutParams())
    assert [c.frame for c in cuts] == [8, 20]


class _Windows:
    """Two candidate windows with a hard cut each (frames 13 and 75); ``read`` decodes one in
    full, as a window's own ffmpeg process would, and counts the calls."""

    def __init__(self) -> None:
        worlds = [_world(seed, tone) for seed, tone in ((21, (100, 100, 110)),
                                                        (22, (90, 110, 100)),
                                                        (23, (70, 130, 80)),
                                                        (24, (60, 60, 160)))]
        self.frames = (_shot(worlds[0], range(0, 13)) + _shot(worlds[1], range(13, 31))
                       + _shot(worlds[2], range(60, 75)) + _shot(worlds[3], range(75, 91)))
        by_index = {s.index: s for s in self.frames}
        self.windows: list[Window] = [
            (features(by_index[a]), features(by_index[b])) for a, b in ((0, 30), (60, 90))]
        self.reads: list[tuple[float, float]] = []

    def read(self, t0: float, t1: float) -> list[FrameSample]:
        self.reads.append((t0, t1))
        return self.between(t0, t1)

    def between(self, t0: float, t1: float) -> list[FrameSample]:
        return [s for s in self.frames if t0 - 1e-6 <= s.time <= t1 + 1e-6]


def _one_by_one(w: _Windows) -> list[tuple[int, float]]:
    return [(c.frame, c.score) for window in w.windows
            for c in place_in_window(window, read_window=w.read, params=CutParams())]


def test_a_batch_whose_windows_settle_decodes_nothing_again() -> None:
    """Frames up to each cut (where the packet sizes point) settle both windows: the cuts are
    those of decoding each window on its own, and no window is decoded again."""
    w = _Windows()
    groups = [(0, w.between(0.0, 13 / 30)), (1, w.between(2.0, 75 / 30))]
    cuts = place_in_batch(w.windows, groups, read_window=w.read, params=CutParams())
    assert w.reads == []
    assert [(c.frame, c.score) for c in cuts] == _one_by_one(w)
    assert [c.frame for c in cuts] == [13, 75]


def test_a_window_cut_short_before_its_cut_is_decoded_again() -> None:
    """A guess that stops short of the cut (frames 60-70 of a cut at 75) never settles: that
    window alone is decoded in full, and the cuts are unchanged."""
    w = _Windows()
    groups = [(0, w.between(0.0, 13 / 30)), (1, w.between(2.0, 70 / 30))]
    cuts = place_in_batch(w.windows, groups, read_window=w.read, params=CutParams())
    assert w.reads == [(2.0, 3.0)]
    assert [(c.frame, c.score) for c in cuts] == _one_by_one(w)


def test_a_failing_shared_decoder_leaves_the_rest_to_their_own() -> None:
    """The shared ffmpeg fails after the first window: the second is decoded on its own."""
    w = _Windows()

    def groups() -> Iterator[tuple[int, list[FrameSample]]]:
        yield 0, w.between(0.0, 13 / 30)
        raise ToolError("ffmpeg output a frame that no input logged")

    cuts = place_in_batch(w.windows, groups(), read_window=w.read, params=CutParams())
    assert w.reads == [(2.0, 3.0)]
    assert [c.frame for c in cuts] == [13, 75]
