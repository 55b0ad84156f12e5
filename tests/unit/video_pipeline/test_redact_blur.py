"""Blurring boxes: inside changes beyond recognition, outside stays untouched."""

from __future__ import annotations

import numpy as np

from video_pipeline.redact import blur_boxes


def test_blur_changes_only_the_enlarged_box() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (200, 300, 3), dtype=np.uint8)
    original = image.copy()
    blur_boxes(image, [(100, 50, 80, 80)], margin=0.25)
    assert np.array_equal(image[:, :75], original[:, :75])
    assert np.array_equal(image[:, 205:], original[:, 205:])
    inside = image[60:120, 110:170].astype(np.float32)
    assert inside.std() < 0.3 * original[60:120, 110:170].astype(np.float32).std()


def test_boxes_outside_the_frame_are_ignored() -> None:
    image = np.zeros((50, 50, 3), np.uint8)
    blur_boxes(image, [(60, 60, 10, 10), (-30, -30, 5, 5)])
    assert not image.any()
