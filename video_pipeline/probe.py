"""What a media file declares: streams, timing, rotation, recorder metadata.

:func:`probe` asks ffprobe (one call: format, streams and the first two minutes of video
packet timestamps). Without ffprobe (imageio-ffmpeg's bundle) it parses ``ffmpeg -i`` and
reads packet timestamps with ``-c copy -f framemd5``; what that loses is listed in
``docs/timeline-format.md`` (codec profile, frame count, per-stream bit rate).

Streams that cannot be decoded are listed with ``decodable=False``; nothing is guessed.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import statistics
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

from video_pipeline import ffmpeg as ff
from video_pipeline.errors import (
    CorruptMedia,
    EmptyMedia,
    MediaLimitExceeded,
    NotMedia,
    NoVideoStream,
    ToolError,
    ToolNotFound,
)
from video_pipeline.probe_banner import parse_banner

_logger = logging.getLogger(__name__)

VFR_WINDOW_S = 120.0
"""Packet timestamps of this many leading seconds decide whether the frame rate varies."""

_RECORDER_KEYS: dict[str, tuple[str, ...]] = {
    "device_serial": ("device_serial", "serial", "serial_number", "device_id", "recorder_id",
                      "com.apple.quicktime.serialnumber"),
    "officer_id": ("officer_id", "officer", "badge", "badge_number", "user_id"),
    "location": ("com.apple.quicktime.location.iso6709", "location", "location-eng", "gps"),
    "make": ("make", "com.apple.quicktime.make", "manufacturer"),
    "model": ("model", "com.apple.quicktime.model"),
}


@dataclass(frozen=True, slots=True)
class ProbeLimits:
    """What we accept before decoding anything (absurd declarations are refused)."""

    max_side: int = 8192
    max_fps: float = 480.0
    max_duration: float = 48 * 3600.0


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """One stream as declared; ``decodable`` is False when no decoder could open it."""

    index: int
    kind: str
    codec: str | None
    decodable: bool
    note: str = ""


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """The analysed video stream. ``width``/``height`` are upright (after rotation)."""

    index: int
    codec: str
    profile: str | None
    coded_width: int
    coded_height: int
    width: int
    height: int
    rotation: int
    fps: float
    r_frame_rate: str
    avg_frame_rate: str
    time_base: str
    start_time: float
    frame_count: int | None
    vfr: bool | None
    vfr_basis: str
    frame_interval_min: float | None = None
    frame_interval_max: float | None = None


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """Probe facts about one file (JSON-ready through :meth:`to_dict`)."""

    path: str
    size: int
    container: str
    duration: float
    creation_time: datetime | None
    video: VideoInfo
    streams: tuple[StreamInfo, ...]
    recorder: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    probed_with: str = "ffprobe"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``creation_time`` as ISO 8601 UTC)."""
        out = asdict(self)
        out["creation_time"] = self.creation_time.isoformat() if self.creation_time else None
        out["streams"] = [asdict(s) for s in self.streams]
        return out


def probe(path: Path, *, limits: ProbeLimits | None = None) -> MediaInfo:
    """Probe ``path``.

    Raises:
        EmptyMedia: the file has no bytes.
        NotMedia: no readable container.
        CorruptMedia: truncated (for example no ``moov`` atom, or less data than declared).
        NoVideoStream: no decodable video stream (audio only, data only).
        MediaLimitExceeded: dimensions, frame rate or duration beyond ``limits``.
        ToolError: ffprobe/ffmpeg failed for another reason.
    """
    limits = limits or ProbeLimits()
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise NotMedia(f"cannot read {path}: {exc.strerror}") from exc
    if size == 0:
        raise EmptyMedia(f"{path.name} is empty (0 bytes)")
    try:
        raw, packets, tb_text, how = _read_raw(path)
    except ToolError as exc:
        raise _classify_open_failure(path, exc) from exc
    info = _build(path, size=size, raw=raw, packets=packets, tb_text=tb_text, how=how)
    _check_limits(info, limits)
    _check_truncation(info, raw)
    _logger.info("probed %s: %s %dx%d %.3f fps %.1f s", path.name, info.video.codec,
                 info.video.width, info.video.height, info.video.fps, info.duration)
    return info


def _read_raw(path: Path) -> tuple[dict[str, Any], list[int], str, str]:
    try:
        raw = ff.run_ffprobe(path, show_entries="packet=pts,stream_index",
                             read_intervals=f"%+{VFR_WINDOW_S:g}")
    except ToolNotFound:
        raw = parse_banner(ff.read_banner(path))
        if not any(s.get("codec_type") == "video" for s in raw["streams"]):
            return raw, [], "", "ffmpeg-banner"
        tb_text, pts = ff.read_packet_pts(path, seconds=VFR_WINDOW_S)
        return raw, pts, tb_text, "ffmpeg-banner"
    video = [s for s in raw.get("streams", []) if s.get("codec_type") == "video"]
    if not video:
        return raw, [], "", "ffprobe"
    index = video[0].get("index")
    pts = [int(p["pts"]) for p in raw.get("packets", [])
           if "pts" in p and p.get("stream_index") == index]
    return raw, pts, str(video[0].get("time_base", "")), "ffprobe"


_ISO_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot")


def _looks_like_mp4(path: Path) -> bool:
    """Whether the file starts like an ISO-BMFF/QuickTime file (a known top-level box)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError:
        return False
    return len(head) == 8 and head[4:8] in _ISO_BOXES


def _classify_open_failure(path: Path, exc: ToolError) -> Exception:
    tail = exc.stderr_tail.lower()
    if "moov atom not found" in tail and not _looks_like_mp4(path):
        return NotMedia(f"{path.name} is not a media file ffmpeg can read: {_last_line(exc)}")
    if "moov atom not found" in tail or "truncat" in tail or "partial file" in tail:
        return CorruptMedia(f"{path.name} is truncated or damaged: {_last_line(exc)}")
    if "invalid data found" in tail or "could not find codec" in tail:
        return NotMedia(f"{path.name} is not a media file ffmpeg can read: {_last_line(exc)}")
    return exc


def _last_line(exc: ToolError) -> str:
    lines = exc.stderr_tail.strip().splitlines()
    return lines[-1] if lines else "no detail"


def _stream_info(stream: dict[str, Any]) -> StreamInfo:
    kind = str(stream.get("codec_type") or "unknown")
    codec = stream.get("codec_name")
    note = ""
    decodable = codec not in (None, "", "none", "unknown")
    if kind == "video" and decodable and not (stream.get("width") and stream.get("pix_fmt")):
        decodable, note = False, "decoder could not read the frame size or pixel format"
    if kind == "data" or kind == "attachment":
        decodable, note = False, f"{kind} stream (timecode, metadata or attachment)"
    if not decodable and not note:
        note = "no decoder for this codec in this ffmpeg build"
    return StreamInfo(index=int(stream.get("index", -1)), kind=kind,
                      codec=str(codec) if codec else None, decodable=decodable, note=note)


def _pick_video(raw: dict[str, Any], streams: list[StreamInfo]) -> dict[str, Any]:
    for stream, info in zip(raw.get("streams", []), streams, strict=True):
        attached = int((stream.get("disposition") or {}).get("attached_pic", 0))
        if info.kind == "video" and info.decodable and not attached:
            return dict(stream)
    kinds = ", ".join(f"#{s.index} {s.kind} {s.codec or '?'}" for s in streams) or "none"
    raise NoVideoStream(f"no decodable video stream (streams: {kinds})")


def _rate(text: str | None) -> float:
    try:
        value = Fraction(text or "0/1")
    except (ValueError, ZeroDivisionError):
        return 0.0
    return float(value)


def _rotation(stream: dict[str, Any]) -> int:
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            return round(float(side["rotation"])) % 360
    tag = (stream.get("tags") or {}).get("rotate")
    return round(float(tag)) % 360 if tag else 0


def judge_vfr(pts: list[int],
              tb_text: str) -> tuple[bool | None, str, float | None, float | None]:
    """Whether packet timestamps show a variable frame rate: ``(vfr, basis, min, max)``.

    ``vfr`` is None when there are too few timestamps to tell; ``basis`` says what was seen.
    An interval counts as different when it is off the median by more than 2 % (and more
    than 1.5 ticks); more than 0.5 % of such intervals (at least two) make it variable.
    """
    if len(pts) < 3 or not tb_text:
        return None, "too few packet timestamps to tell", None, None
    tb = float(Fraction(tb_text))
    times = sorted(pts)
    gaps = [(b - a) * tb for a, b in itertools.pairwise(times) if b > a]
    if not gaps:
        return None, "packet timestamps do not advance", None, None
    typical = statistics.median(gaps)
    spread = sum(1 for g in gaps if abs(g - typical) > max(0.02 * typical, 1.5 * tb))
    vfr = spread > max(1, len(gaps) // 200)
    basis = (f"{len(times)} video packet timestamps of the first {VFR_WINDOW_S:g} s: "
             f"{spread} of {len(gaps)} intervals differ from the median {typical * 1000:.3f} ms")
    return vfr, basis, min(gaps), max(gaps)


def _creation_time(raw: dict[str, Any], video: dict[str, Any]) -> datetime | None:
    for tags in ((raw.get("format") or {}).get("tags") or {}, video.get("tags") or {}):
        text = tags.get("creation_time")
        if not text:
            continue
        try:
            stamp = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
        except ValueError:
            continue
        return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
    return None


def _recorder(tags: dict[str, str]) -> dict[str, str]:
    lowered = {k.lower(): v for k, v in tags.items()}
    found: dict[str, str] = {}
    for name, keys in _RECORDER_KEYS.items():
        for key in keys:
            if lowered.get(key):
                found[name] = lowered[key]
                break
    return found


def _build(path: Path, *, size: int, raw: dict[str, Any], packets: list[int], tb_text: str,
           how: str) -> MediaInfo:
    streams = [_stream_info(s) for s in raw.get("streams", [])]
    video = _pick_video(raw, streams)
    fmt = raw.get("format") or {}
    rotation = _rotation(video)
    coded_w, coded_h = int(video.get("width", 0)), int(video.get("height", 0))
    upright = (coded_h, coded_w) if rotation % 180 == 90 else (coded_w, coded_h)
    avg, real = str(video.get("avg_frame_rate", "0/0")), str(video.get("r_frame_rate", "0/0"))
    fps = _rate(avg) or _rate(real)
    vfr, basis, gap_min, gap_max = judge_vfr(packets, tb_text)
    duration = float(fmt.get("duration") or video.get("duration") or "nan")
    tags = {str(k): str(v) for k, v in (fmt.get("tags") or {}).items()}
    tags.update({f"video:{k}": str(v) for k, v in (video.get("tags") or {}).items()})
    nb = video.get("nb_frames")
    return MediaInfo(
        path=str(path), size=size, container=str(fmt.get("format_name", "?")),
        duration=duration, creation_time=_creation_time(raw, video), streams=tuple(streams),
        recorder=_recorder(tags), tags=tags, probed_with=how,
        video=VideoInfo(
            index=int(video.get("index", 0)), codec=str(video.get("codec_name")),
            profile=video.get("profile"), coded_width=coded_w, coded_height=coded_h,
            width=upright[0], height=upright[1], rotation=rotation, fps=fps,
            r_frame_rate=real, avg_frame_rate=avg, time_base=tb_text,
            start_time=float(video.get("start_time") or fmt.get("start_time") or 0.0),
            frame_count=int(nb) if nb and str(nb).isdigit() else None, vfr=vfr,
            vfr_basis=basis, frame_interval_min=gap_min, frame_interval_max=gap_max))


def _check_limits(info: MediaInfo, limits: ProbeLimits) -> None:
    v = info.video
    if not (0 < v.width <= limits.max_side and 0 < v.height <= limits.max_side):
        raise MediaLimitExceeded(
            f"declared frame size {v.coded_width}x{v.coded_height} is outside 1..{limits.max_side}")
    if not (0 < v.fps <= limits.max_fps):
        raise MediaLimitExceeded(
            f"declared frame rate {v.fps:g} is outside (0, {limits.max_fps:g}]")
    if not math.isfinite(info.duration) or not 0 < info.duration <= limits.max_duration:
        raise MediaLimitExceeded(
            f"declared duration {info.duration:g} s is outside (0, {limits.max_duration:g}]")


def _check_truncation(info: MediaInfo, raw: dict[str, Any]) -> None:
    """Refuse files much smaller than their streams' declared bit rate × duration."""
    rates = [int(s["bit_rate"]) for s in raw.get("streams", [])
             if str(s.get("bit_rate", "")).isdigit()]
    if info.probed_with != "ffprobe" or not rates or "mp4" not in info.container:
        return
    expected = sum(rates) * info.duration / 8
    if info.size < 0.9 * expected:
        raise CorruptMedia(
            f"{Path(info.path).name} is truncated: its streams declare about "
            f"{expected / 1e6:.1f} MB over {info.duration:.1f} s but the file has "
            f"{info.size / 1e6:.1f} MB")
