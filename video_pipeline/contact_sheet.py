"""``contact_sheet.jpg``: the key frames as a grid of thumbnails, each with its time drawn."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from video_pipeline.errors import OutputError
from video_pipeline.timeline import vtt_time

if TYPE_CHECKING:
    from video_pipeline.detector import ColourImage
    from video_pipeline.keyframes import KeyFrame

_logger = logging.getLogger(__name__)


def _label(image: ColourImage, lines: Sequence[str]) -> None:
    font, scale, thick = cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1
    height = 18 * len(lines) + 6
    overlay = image[-height:].copy()
    image[-height:] = (overlay * 0.35).astype(np.uint8)
    for k, text in enumerate(lines):
        y = image.shape[0] - height + 16 + 18 * k
        cv2.putText(image, text, (6, y), font, scale, (255, 255, 255), thick, cv2.LINE_AA)


def render(keyframes: Sequence[KeyFrame], *, base: Path, columns: int = 4,
           thumb_width: int = 320) -> ColourImage:
    """The grid image (BGR). An empty list gives a single 'no key frames' tile.

    Raises:
        OutputError: a key frame file cannot be read.
    """
    tiles = []
    for kf in keyframes:
        image = cv2.imread(str(base / kf.file), cv2.IMREAD_COLOR)
        if image is None:
            raise OutputError(f"cannot read key frame {kf.file}")
        height = max(2, round(image.shape[0] * thumb_width / image.shape[1]))
        tile = np.asarray(cv2.resize(image, (thumb_width, height),
                                     interpolation=cv2.INTER_AREA), dtype=np.uint8)
        _label(tile, [f"{vtt_time(kf.time)}  #{kf.frame}", kf.label or kf.reason])
        tiles.append(tile)
    if not tiles:
        blank = np.zeros((180, thumb_width, 3), np.uint8)
        _label(blank, ["no key frames"])
        return blank
    tile_h = max(t.shape[0] for t in tiles)
    rows = []
    for start in range(0, len(tiles), columns):
        row = [cv2.copyMakeBorder(t, 0, tile_h - t.shape[0], 0, 0, cv2.BORDER_CONSTANT)
               for t in tiles[start:start + columns]]
        row += [np.zeros((tile_h, thumb_width, 3), np.uint8)] * (columns - len(row))
        rows.append(cv2.hconcat(row))
    return np.asarray(cv2.vconcat(rows), dtype=np.uint8)


def write(keyframes: Sequence[KeyFrame], out: Path, *, base: Path) -> None:
    """Render and save the contact sheet as JPEG.

    Raises:
        OutputError: reading a key frame or writing the sheet failed.
    """
    sheet = render(keyframes, base=base)
    ok, data = cv2.imencode(".jpg", sheet, [cv2.IMWRITE_JPEG_QUALITY, 88])
    if not ok:
        raise OutputError("contact sheet JPEG encoding failed")
    try:
        out.write_bytes(np.asarray(data).tobytes())
    except OSError as exc:
        raise OutputError(f"cannot write {out.name}: {exc.strerror}") from exc
    _logger.info("contact sheet: %d tiles", len(keyframes))
