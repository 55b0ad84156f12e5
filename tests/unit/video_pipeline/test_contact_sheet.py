"""The contact sheet stays small however many key frames a long recording yields."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from video_pipeline import contact_sheet
from video_pipeline.errors import OutputError
from video_pipeline.keyframes import KeyFrame


def _keyframes(base: Path, count: int) -> list[KeyFrame]:
    (base / "keyframes").mkdir(exist_ok=True)
    image = np.full((90, 160, 3), 120, np.uint8)
    cv2.imwrite(str(base / "keyframes" / "k.jpg"), image)
    return [KeyFrame("keyframes/k.jpg", k * 2.0, k * 60, "shot", f"shot {k + 1}", "0" * 16,
                     "0" * 64, 160, 90) for k in range(count)]


@pytest.mark.parametrize(("count", "shape"), [(3, (180, 1280, 3)), (70, (630, 1600, 3))])
def test_grid_size_follows_the_tile_count(tmp_path: Path, count: int,
                                          shape: tuple[int, int, int]) -> None:
    sheet = contact_sheet.render(_keyframes(tmp_path, count), base=tmp_path)
    assert sheet.shape == shape


def test_past_the_cap_the_last_tile_counts_the_rest(tmp_path: Path) -> None:
    frames = _keyframes(tmp_path, contact_sheet.MAX_TILES + 150)
    sheet = contact_sheet.render(frames, base=tmp_path)
    assert sheet.shape == (contact_sheet.MAX_TILES // 10 * 90, 1600, 3)
    last = sheet[-90:, -160:]
    assert last[:40].max() == 0  # the count tile has no picture, only its label
    assert last[-30:].max() > 200


def test_an_unreadable_key_frame_is_an_output_error(tmp_path: Path) -> None:
    frames = _keyframes(tmp_path, 2)
    (tmp_path / "keyframes" / "k.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(OutputError, match="cannot read key frame"):
        contact_sheet.render(frames, base=tmp_path)


def test_full_hd_key_frames_are_read_reduced_and_still_fill_their_tiles(tmp_path: Path) -> None:
    """A 1920x1080 key frame is decoded at a quarter size (480 wide) for a 320-wide tile:
    the tile is still whole and keeps the picture (red left half, blue right half)."""
    (tmp_path / "keyframes").mkdir()
    image = np.zeros((1080, 1920, 3), np.uint8)
    image[:, :960] = (0, 0, 230)
    image[:, 960:] = (230, 0, 0)
    cv2.imwrite(str(tmp_path / "keyframes" / "big.jpg"), image)
    frames = [KeyFrame("keyframes/big.jpg", k * 2.0, k * 60, "shot", f"shot {k + 1}",
                       "0" * 16, "0" * 64, 1920, 1080) for k in range(5)]
    sheet = contact_sheet.render(frames, base=tmp_path)
    assert sheet.shape == (360, 1280, 3)
    for row, col in ((0, 0), (0, 3), (1, 0)):
        tile = sheet[row * 180: row * 180 + 100, col * 320: (col + 1) * 320].astype(int)
        assert tile[:, :150, 2].mean() > 200 and tile[:, :150, 0].mean() < 30
        assert tile[:, 170:, 0].mean() > 200 and tile[:, 170:, 2].mean() < 30
    assert sheet[180:, 640:].max() == 0  # five tiles: the rest of the second row is empty
