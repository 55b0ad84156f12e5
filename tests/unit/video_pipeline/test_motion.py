from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from video_pipeline import synthetic
from video_pipeline.detector import FrameSample
from video_pipeline.motion import MotionEstimator, compensate, register


def _grey() -> np.ndarray:
    frame = next(synthetic.render("shaky_walk", fps=10, duration=2, seed=1))
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def _moved(grey: np.ndarray, *, angle: float, shift: tuple[float, float]) -> np.ndarray:
    matrix = cv2.getRotationMatrix2D((160, 90), angle, 1.0)
    matrix[:, 2] += shift
    return cv2.warpAffine(grey, matrix, (320, 180), borderMode=cv2.BORDER_REFLECT), matrix


def _sample(i: int, grey: np.ndarray) -> FrameSample:
    return FrameSample(i, i / 10, cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), grey)


@pytest.mark.parametrize(("angle", "shift"), [(0.0, (6.0, -4.0)), (2.0, (-3.0, 2.5))])
def test_estimator_recovers_a_known_shift_and_rotation(angle: float,
                                                        shift: tuple[float, float]) -> None:
    grey = _grey()
    cur, matrix = _moved(grey, angle=angle, shift=shift)
    estimator = MotionEstimator()
    assert estimator.update(_sample(0, grey)).inlier_ratio == 0.0
    motion = estimator.update(_sample(1, cur))
    assert motion.inlier_ratio > 0.8
    h = motion.homography
    assert h[:2, 2] == pytest.approx(matrix[:, 2], abs=0.3)
    assert math.degrees(math.atan2(h[0, 1], h[0, 0])) == pytest.approx(angle, abs=0.1)


def test_textureless_frames_give_the_identity_with_ratio_zero() -> None:
    flat = np.full((180, 320), 120, np.uint8)
    estimator = MotionEstimator()
    estimator.update(_sample(0, flat))
    motion = estimator.update(_sample(1, flat))
    assert motion.inlier_ratio == 0.0
    assert np.array_equal(motion.homography, np.eye(3))


def test_register_finds_a_large_shift_without_a_guess() -> None:
    grey = _grey()
    cur, matrix = _moved(grey, angle=1.0, shift=(40.0, -15.0))
    motion = register(grey, cur)
    assert motion.inlier_ratio > 0.3
    assert motion.homography[:2, 2] == pytest.approx(matrix[:, 2], abs=1.0)


def test_compensate_aligns_the_previous_frame_and_marks_the_border() -> None:
    grey = _grey()
    cur, matrix = _moved(grey, angle=0.0, shift=(5.0, 3.0))
    warped = compensate(grey, np.vstack([matrix, [0, 0, 1]]))
    assert np.isnan(warped[0, 0]) and np.isnan(warped[2, 100])
    inner = np.abs(warped[10:-10, 10:-10] - cur[10:-10, 10:-10].astype(np.float32))
    assert float(np.mean(inner)) < 1.0


def test_min_inlier_ratio_is_checked() -> None:
    with pytest.raises(ValueError, match=r"min_inlier_ratio must be in \[0, 1\]"):
        MotionEstimator(min_inlier_ratio=1.5)
