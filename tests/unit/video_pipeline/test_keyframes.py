"""Sharpness, perceptual hashes and near-duplicate removal."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from video_pipeline.keyframes import (
    best_per_shot,
    dedupe,
    hamming,
    perceptual_hash,
    sharpness,
)


def _scene(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.full((180, 320, 3), 90, np.uint8)
    for _ in range(25):
        x, y = int(rng.integers(0, 300)), int(rng.integers(0, 160))
        colour = tuple(int(v) for v in rng.integers(0, 255, 3))
        cv2.rectangle(image, (x, y), (x + 40, y + 30), colour, -1)
    return image


def test_blur_lowers_sharpness() -> None:
    grey = cv2.cvtColor(_scene(1), cv2.COLOR_BGR2GRAY)
    assert sharpness(grey) > 3 * sharpness(cv2.GaussianBlur(grey, (0, 0), 3))


def test_sharpness_is_the_variance_of_the_laplacian() -> None:
    rng = np.random.default_rng(4)
    for grey in (cv2.cvtColor(_scene(5), cv2.COLOR_BGR2GRAY),
                 rng.integers(0, 256, (180, 320), dtype=np.uint8),  # Laplacian up to ±1020
                 np.full((9, 7), 77, np.uint8)):
        expected = float(cv2.Laplacian(grey, cv2.CV_64F).var())
        assert sharpness(grey) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_phash_is_imagehash_phash() -> None:
    """The hash is computed without scipy, as ``imagehash.phash`` computes it."""
    import imagehash
    from PIL import Image

    rng = np.random.default_rng(7)
    # at most 256 wide: wider frames are shrunk to 256 first (by design)
    images = [_scene(k)[:, :256] for k in range(6)] + [
        rng.integers(0, 256, (int(rng.integers(20, 300)), int(rng.integers(20, 257)), 3),
                     dtype=np.uint8) for _ in range(30)]
    for image in images:
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        assert perceptual_hash(image) == str(imagehash.phash(Image.fromarray(rgb)))


def test_phash_is_64_bits_and_stable_under_small_changes() -> None:
    image = _scene(2)
    grain = np.random.default_rng(0).normal(0, 3, image.shape)
    noisy = np.clip(image + grain, 0, 255).astype(np.uint8)
    a, b, c = perceptual_hash(image), perceptual_hash(noisy), perceptual_hash(_scene(3))
    assert len(a) == 16 and int(a, 16) >= 0
    assert hamming(a, b) <= 4
    assert hamming(a, c) > 12


def test_dedupe_keeps_the_better_reason_of_near_duplicates() -> None:
    a = perceptual_hash(_scene(4))
    b = perceptual_hash(np.clip(_scene(4).astype(np.int16) + 4, 0, 255).astype(np.uint8))
    other = perceptual_hash(_scene(5))
    kept = dedupe([(a, "shot"), (b, "mark"), (other, "shot")], threshold=6)
    assert kept == [1, 2]


def test_dedupe_with_zero_threshold_keeps_distinct_hashes() -> None:
    assert dedupe([("0" * 16, "shot"), ("0" * 15 + "1", "shot")], threshold=0) == [0, 1]


def test_best_per_shot_picks_the_sharpest_time_or_the_middle() -> None:
    scored = [(0.0, 5.0), (1.0, 9.0), (2.0, 1.0), (3.0, 4.0)]
    moments = best_per_shot(scored, [(0.0, 2.5), (2.5, 3.5), (3.5, 4.5)])
    assert [m.time for m in moments] == [1.0, 3.0, 4.0]
    assert [m.reason for m in moments] == ["shot"] * 3
