"""``contact_sheet.jpg``: the key frames as a grid of thumbnails, each with its time drawn."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
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


MAX_TILES = 400
"""At most this many tiles: past it, the last tile says how many more key frames
``timeline.json`` lists (a 2-hour file with a thousand shots must not build a sheet of
hundreds of megabytes)."""
_SMALL_FROM = 65
"""From this many tiles on, tiles are half as wide and rows ten tiles long."""
_READERS = 2
"""Key frames decoded at once for the sheet."""


def _label(image: ColourImage, lines: Sequence[str], *, scale: float = 0.45) -> None:
    font, thick = cv2.FONT_HERSHEY_SIMPLEX, 1
    step = round(40 * scale)
    height = step * len(lines) + 6
    overlay = image[-height:].copy()
    image[-height:] = (overlay * 0.35).astype(np.uint8)
    for k, text in enumerate(lines):
        y = image.shape[0] - height + step - 2 + step * k
        cv2.putText(image, text, (4, y), font, scale, (255, 255, 255), thick, cv2.LINE_AA)


def _reduced_read(source_width: int, width: int) -> int:
    """The ``imread`` flag that decodes a JPEG at 1/2, 1/4 or 1/8 size (libjpeg scales while
    decoding, at a fraction of the cost) when that is still at least ``width`` wide."""
    for factor, flag in ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4),
                         (2, cv2.IMREAD_REDUCED_COLOR_2)):
        if source_width // factor >= width:
            return flag
    return cv2.IMREAD_COLOR


def render(keyframes: Sequence[KeyFrame], *, base: Path, columns: int = 4,
           thumb_width: int = 320) -> ColourImage:
    """The grid image (BGR), built in place one tile at a time (each key frame decoded straight
    to 1/2, 1/4 or 1/8 size when still as wide as a tile). An empty list gives a single
    'no key frames' tile; more than :data:`MAX_TILES` key frames are shown as the first
    ``MAX_TILES - 1`` and a tile counting the rest; from 65 on, tiles are half as wide.

    Raises:
        OutputError: a key frame file cannot be read.
    """
    if not keyframes:
        blank = np.zeros((180, thumb_width, 3), np.uint8)
        _label(blank, ["no key frames"])
        return blank
    small = len(keyframes) >= _SMALL_FROM
    width, columns = (thumb_width // 2, 10) if small else (thumb_width, columns)
    scale = 0.33 if small else 0.45
    shown = list(keyframes) if len(keyframes) <= MAX_TILES else list(keyframes[:MAX_TILES - 1])
    tiles = len(shown) + (len(keyframes) > MAX_TILES)
    tile_h = max(2, max(round(kf.height * width / max(kf.width, 1)) for kf in shown))
    rows = -(-tiles // columns)
    sheet = np.zeros((rows * tile_h, columns * width, 3), np.uint8)

    def tile(kf: KeyFrame) -> ColourImage:
        image = cv2.imread(str(base / kf.file), _reduced_read(kf.width, width))
        if image is None:
            raise OutputError(f"cannot read key frame {kf.file}")
        height = min(tile_h, max(2, round(image.shape[0] * width / image.shape[1])))
        picture = np.asarray(cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA),
                             dtype=np.uint8)
        _label(picture, [f"{vtt_time(kf.time)}  #{kf.frame}", kf.label or kf.reason],
               scale=scale)
        return picture

    with ThreadPoolExecutor(max_workers=_READERS) as pool:  # JPEG decoding frees the GIL
        for k, picture in enumerate(pool.map(tile, shown)):
            row, col = divmod(k, columns)
            sheet[row * tile_h: row * tile_h + picture.shape[0],
                  col * width: (col + 1) * width] = picture
    if tiles > len(shown):
        row, col = divmod(len(shown), columns)
        cell = sheet[row * tile_h: (row + 1) * tile_h, col * width: (col + 1) * width]
        _label(cell, [f"+{len(keyframes) - len(shown)} more", "in timeline.json"], scale=scale)
    return sheet


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
