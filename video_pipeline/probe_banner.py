"""Parse what ``ffmpeg -i FILE`` prints into the shape of ffprobe's JSON.

Used only when ffprobe is missing (imageio-ffmpeg ships ffmpeg alone). The banner gives the
container, duration, start, tags, each stream's codec, size, frame rates, time base and
display-matrix rotation. It does not give the codec profile as a field, ``nb_frames``, or
per-stream bit rates in exact form, so those are left out rather than guessed.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

_INPUT = re.compile(r"^Input #0, (?P<fmt>[^,]+(?:,[^,]+)*?), from '")
_DURATION = re.compile(
    r"^\s*Duration: (?:(?P<h>\d+):(?P<m>\d+):(?P<s>[\d.]+)|N/A)(?:, start: (?P<start>-?[\d.]+))?")
_STREAM = re.compile(r"^\s*Stream #0:(?P<idx>\d+)[^:]*: (?P<kind>\w+): (?P<rest>.*)$")
_SIZE = re.compile(r"(?<![\w.])(\d{1,6})x(\d{1,6})(?![\w.])")
_FPS = re.compile(r"([\d.]+)(k?) fps")
_TBR = re.compile(r"([\d.]+)(k?) tbr")
_TBN = re.compile(r"([\d.]+)(k?) tbn")
_ROTATION = re.compile(r"displaymatrix: rotation of (-?[\d.]+) degrees")
_TAG = re.compile(r"^\s+(?P<key>[^:]+?)\s*: (?P<value>.*)$")


def _number(match: re.Match[str] | None) -> float | None:
    if match is None:
        return None
    value = float(match[1])
    return value * 1000 if match[2] == "k" else value


def _rate_text(value: float | None) -> str:
    """The banner prints rounded rates (``29.97 fps``); keep them as a fraction, no closer."""
    if not value:
        return "0/0"
    rate = Fraction(value).limit_denominator(1001)
    return f"{rate.numerator}/{rate.denominator}"


def _stream(idx: int, kind: str, rest: str) -> dict[str, Any]:
    codec = rest.split(" ", 1)[0].rstrip(",")
    stream: dict[str, Any] = {"index": idx, "codec_type": kind.lower(), "codec_name": codec,
                              "tags": {}, "disposition": {}}
    if "(attached pic)" in rest:
        stream["disposition"]["attached_pic"] = 1
    if kind.lower() != "video":
        return stream
    size = _SIZE.search(rest)
    if size:
        stream["width"], stream["height"] = int(size[1]), int(size[2])
        pix = rest.split(", ")
        stream["pix_fmt"] = pix[1].split("(")[0] if len(pix) > 1 else None
    fps, tbr = _number(_FPS.search(rest)), _number(_TBR.search(rest))
    tbn = _number(_TBN.search(rest))
    stream["avg_frame_rate"] = _rate_text(fps)
    stream["r_frame_rate"] = _rate_text(tbr or fps)
    if tbn:
        stream["time_base"] = f"1/{round(tbn)}"
    return stream


def parse_banner(text: str) -> dict[str, Any]:
    """ffprobe-like ``{"format": {...}, "streams": [...]}`` from an ``ffmpeg -i`` banner."""
    fmt: dict[str, Any] = {"tags": {}}
    streams: list[dict[str, Any]] = []
    tags: dict[str, Any] = fmt["tags"]
    for line in text.splitlines():
        if line.startswith(("Output #", "Stream mapping")):
            break
        if m := _INPUT.match(line):
            fmt["format_name"] = m["fmt"]
        elif m := _DURATION.match(line):
            if m["h"] is not None:
                fmt["duration"] = str(int(m["h"]) * 3600 + int(m["m"]) * 60 + float(m["s"]))
            if m["start"] is not None:
                fmt["start_time"] = m["start"]
        elif m := _STREAM.match(line):
            streams.append(_stream(int(m["idx"]), m["kind"], m["rest"]))
            tags = streams[-1]["tags"]
        elif (m := _ROTATION.search(line)) and streams:
            streams[-1]["side_data_list"] = [{"rotation": float(m[1])}]
        elif (m := _TAG.match(line)) and m["key"].strip() not in ("Metadata", "Side data"):
            tags[m["key"].strip()] = m["value"].strip()
    return {"format": fmt, "streams": streams}
