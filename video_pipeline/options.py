"""Analysis options and the text forms the CLI accepts for zones, lines and marks.

* zone: ``[NAME=]x1,y1,x2,y2,x3,y3[,...]``: a polygon of at least three points;
* line: ``[NAME=]x1,y1,x2,y2``: a segment;
* marks: ``TIME[=LABEL][;TIME[=LABEL]...]`` (also comma-separated), TIME in seconds
  (``65.2``) or ``[HH:]MM:SS[.fff]`` (``1:05.2``).

Coordinates are normalised to the upright frame (0..1, origin top left) of the first frame,
which is the reference the zone and line detectors register later frames to.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Literal

from video_pipeline.errors import InvalidOption

Mode = Literal["fast", "full"]
_NAME = re.compile(r"^[A-Za-z0-9_.\- ]{1,40}$")
_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")


@dataclass(frozen=True, slots=True)
class Zone:
    """A named polygon in normalised coordinates."""

    name: str
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class Line:
    """A named segment in normalised coordinates."""

    name: str
    points: tuple[tuple[float, float], tuple[float, float]]


@dataclass(frozen=True, slots=True)
class Mark:
    """An officer's mark: a time in the recording (seconds) and an optional label."""

    time: float
    label: str = ""


@dataclass(frozen=True, slots=True)
class AnalyzeOptions:
    """Everything :func:`video_pipeline.analyze` can be told."""

    mode: Mode = "fast"
    zones: tuple[Zone, ...] = ()
    lines: tuple[Line, ...] = ()
    marks: tuple[Mark, ...] = ()
    activity: bool = True
    smoke: bool = True
    proxy_width: int = 320
    workers: int = 2
    phash_threshold: int = 6
    summary_before: float = 3.0
    summary_after: float = 3.0
    summary_width: int = 1280
    extra: dict[str, str] = field(default_factory=dict)


def _split_name(text: str, default: str) -> tuple[str, str]:
    if "=" not in text:
        return default, text
    name, _, rest = text.partition("=")
    name = name.strip()
    if not _NAME.match(name):
        raise InvalidOption(f"bad name {name!r}: use letters, digits, space, _ . - (≤ 40)")
    return name, rest


def _numbers(text: str, what: str) -> list[float]:
    try:
        values = [float(v) for v in text.replace(";", ",").split(",") if v.strip()]
    except ValueError as exc:
        raise InvalidOption(f"{what}: coordinates must be numbers, got {text!r}") from exc
    if len(values) % 2:
        raise InvalidOption(f"{what}: an odd number of coordinates ({len(values)})")
    if not all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in values):
        raise InvalidOption(f"{what}: coordinates are normalised, each in [0, 1]")
    return values


def parse_zone(text: str, *, default_name: str = "zone") -> Zone:
    """``[NAME=]x1,y1,x2,y2,x3,y3[,...]``.

    Raises:
        InvalidOption: fewer than three points, values outside [0, 1], or a bad name.
    """
    name, rest = _split_name(text.strip(), default_name)
    values = _numbers(rest, f"zone {name!r}")
    if len(values) < 6:
        raise InvalidOption(f"zone {name!r}: a polygon needs at least 3 points")
    points = tuple((values[i], values[i + 1]) for i in range(0, len(values), 2))
    return Zone(name=name, points=points)


def parse_line(text: str, *, default_name: str = "line") -> Line:
    """``[NAME=]x1,y1,x2,y2``.

    Raises:
        InvalidOption: not exactly two distinct points, values outside [0, 1], or a bad name.
    """
    name, rest = _split_name(text.strip(), default_name)
    values = _numbers(rest, f"line {name!r}")
    if len(values) != 4:
        raise InvalidOption(f"line {name!r}: needs exactly 2 points (4 numbers)")
    a, b = (values[0], values[1]), (values[2], values[3])
    if a == b:
        raise InvalidOption(f"line {name!r}: its two points are the same")
    return Line(name=name, points=(a, b))


def parse_time(text: str) -> float:
    """Seconds (``65.2``) or ``[HH:]MM:SS[.fff]`` (``1:05.2``) as seconds.

    Raises:
        InvalidOption: not a time, or negative.
    """
    text = text.strip()
    if match := _CLOCK.match(text):
        hours, minutes, seconds = int(match[1] or 0), int(match[2]), float(match[3])
        if minutes >= 60 or seconds >= 60:
            raise InvalidOption(f"bad time {text!r}: minutes and seconds must be below 60")
        return hours * 3600 + minutes * 60 + seconds
    try:
        value = float(text)
    except ValueError as exc:
        raise InvalidOption(f"bad time {text!r}: use seconds or [HH:]MM:SS[.fff]") from exc
    if not math.isfinite(value) or value < 0:
        raise InvalidOption(f"bad time {text!r}: must be a finite time >= 0")
    return value


def parse_marks(text: str) -> tuple[Mark, ...]:
    """``TIME[=LABEL]`` items separated by ``;`` or ``,``, sorted by time.

    Raises:
        InvalidOption: an item's time cannot be parsed.
    """
    marks = []
    for item in re.split(r"[;,]", text):
        if not item.strip():
            continue
        when, _, label = item.partition("=")
        marks.append(Mark(time=parse_time(when), label=label.strip()))
    return tuple(sorted(marks, key=lambda m: m.time))
