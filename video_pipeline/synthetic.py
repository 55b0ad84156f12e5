"""Synthetic recorder-like footage with exact ground truth (PySceneDetect-style test media).

A procedurally drawn street/site is painted once on a world canvas larger than the frame; a
body-worn camera then looks at it through a moving window: walking bob, random jitter, small
rotations, slow pans and auto-exposure drift, plus sensor noise. Objects live in world
coordinates, so the truth is known exactly whatever the camera does.

Scenarios (:data:`SCENARIOS`):

* ``shaky_walk``: strong shake and wide pans, nothing happens (no event is expected);
* ``zone_entry``: a person-like figure walks into a polygon (``truth.zone``);
* ``line_crossing``: a vehicle-like box drives across a line segment (``truth.line``, drawn
  bottom to top, crossed ``left_to_right`` in :mod:`video_pipeline.detectors.line` terms);
* ``smoke_plume``: a grey, low-saturation plume starts and grows.

Zone and line geometry is given in normalised coordinates of frame 0, the reference frame.
Everything is deterministic for a given seed. :func:`render` yields BGR uint8 frames;
:func:`truth` computes the same scene's ground truth without rendering.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

_logger = logging.getLogger(__name__)

SCENARIOS = ("shaky_walk", "zone_entry", "line_crossing", "smoke_plume")
"""The scenario names :func:`render` and :func:`truth` accept."""

_MARGIN = 0.3  # world canvas margin on each side, as a fraction of the frame size
Point = tuple[float, float]
Affine = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class TruthEvent:
    """One expected event: ``start`` in seconds and ``start_frame`` the first frame showing it."""

    kind: str
    start: float
    start_frame: int
    detail: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SceneTruth:
    """The ground truth of one synthetic scene (geometry normalised to frame 0)."""

    scenario: str
    width: int
    height: int
    fps: float
    duration: float
    frame_count: int
    events: tuple[TruthEvent, ...]
    zone: tuple[Point, ...] | None = None
    line: tuple[Point, Point] | None = None


@dataclass(frozen=True, slots=True)
class _Params:
    scenario: str
    width: int
    height: int
    fps: float
    duration: float
    seed: int
    event_at: float

    @property
    def frame_count(self) -> int:
        return max(1, round(self.duration * self.fps))

    @property
    def origin(self) -> Point:
        """World coordinates of frame 0's top-left corner (camera at rest)."""
        return (_MARGIN * self.width, _MARGIN * self.height)


def _check(
    scenario: str, *, width: int, height: int, fps: float, duration: float, seed: int,
    event_at: float | None,
) -> _Params:
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; expected one of {', '.join(SCENARIOS)}")
    if width < 64 or height < 36:
        raise ValueError(f"frame size {width}x{height} is too small (at least 64x36)")
    if fps <= 0 or duration <= 0:
        raise ValueError("fps and duration must be positive")
    at = duration * 0.5 if event_at is None else event_at
    if not 0.5 <= at <= duration - 0.5:
        raise ValueError(f"event_at {at} must lie at least 0.5 s inside the {duration} s clip")
    return _Params(scenario, width, height, fps, duration, seed, at)


def _frame_time(p: _Params, t: float) -> tuple[float, int]:
    """The first frame at or after ``t``: its time and index."""
    index = math.ceil(t * p.fps - 1e-9)
    return index / p.fps, index


# --- geometry of the scenarios, in world coordinates -------------------------------------------

def _ground_y(p: _Params) -> float:
    return p.origin[1] + 0.78 * p.height


def _person_box(p: _Params, t: float) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of the walking figure."""
    w, h = 0.05 * p.width, 0.32 * p.height
    speed = 0.12 * p.width
    zone_left = _zone_world(p)[0][0]
    left = zone_left - w + speed * (t - p.event_at)
    bottom = _ground_y(p)
    return (left, bottom - h, left + w, bottom)


def _zone_world(p: _Params) -> tuple[Point, ...]:
    ox, oy = p.origin
    left, right = ox + 0.5 * p.width, ox + 0.8 * p.width
    top, bottom = oy + 0.35 * p.height, oy + 0.95 * p.height
    return ((left, top), (right, top + 0.05 * p.height), (right + 0.05 * p.width, bottom),
            (left, bottom))


def _line_world(p: _Params) -> tuple[Point, Point]:
    ox, oy = p.origin
    bottom = (ox + 0.56 * p.width, oy + 0.98 * p.height)
    return (bottom, (ox + 0.52 * p.width, oy + 0.45 * p.height))


def _vehicle_box(p: _Params, t: float) -> tuple[float, float, float, float]:
    w, h = 0.16 * p.width, 0.12 * p.height
    cy = _ground_y(p) + 0.03 * p.height - h / 2
    (ax, ay), (bx, by) = _line_world(p)
    cross_x = ax + (bx - ax) * (cy - ay) / (by - ay)
    cx = cross_x + 0.3 * p.width * (t - p.event_at)
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def _smoke_centre(p: _Params, t: float) -> tuple[Point, float]:
    """Plume centre and radius at ``t`` (radius 0 before it starts)."""
    ox, oy = p.origin
    age = max(0.0, t - p.event_at)
    radius = 0.16 * p.width * math.sqrt(min(1.0, age / 4.0))
    return (ox + 0.35 * p.width, oy + 0.45 * p.height - 0.02 * p.height * age), radius


# --- the camera ---------------------------------------------------------------------------------

def _camera(p: _Params, t: float, rng: np.random.Generator) -> tuple[Affine, float]:
    """World→frame affine transform and exposure gain at ``t`` (``rng`` adds per-frame jitter)."""
    strong = p.scenario == "shaky_walk"
    s = p.width / 320.0
    bob, jitter, rot = (6.0, 2.5, 2.0) if strong else (3.0, 1.2, 0.8)
    pan = (0.2 if strong else 0.06) * p.width
    dx = pan * math.sin(2 * math.pi * t / 7.0) + s * (0.6 * bob * math.sin(2 * math.pi * t)
                                                    + jitter * rng.normal())
    dy = s * (bob * math.sin(4 * math.pi * t + 0.7) + jitter * rng.normal())
    theta = math.radians(rot * math.sin(2 * math.pi * 0.8 * t) + 0.3 * rot * rng.normal())
    cx, cy = p.origin[0] + p.width / 2 + dx, p.origin[1] + p.height / 2 + dy
    c, si = math.cos(theta), math.sin(theta)
    matrix = np.array([[c, -si, 0.0], [si, c, 0.0]], dtype=np.float64)
    matrix[:, 2] = np.array([p.width / 2, p.height / 2]) - matrix[:, :2] @ np.array([cx, cy])
    gain = 1.0 + (0.15 if strong else 0.08) * math.sin(2 * math.pi * t / 5.0)
    return matrix, gain


def _reference_points(p: _Params, points: tuple[Point, ...]) -> tuple[Point, ...]:
    """World points in normalised coordinates of frame 0."""
    matrix, _ = _camera(p, 0.0, np.random.default_rng(p.seed))
    out = []
    for x, y in points:
        fx, fy = matrix @ np.array([x, y, 1.0])
        out.append((float(fx) / p.width, float(fy) / p.height))
    return tuple(out)


# --- painting -----------------------------------------------------------------------------------

def _paint_world(p: _Params) -> npt.NDArray[np.uint8]:
    """The static, textured, colourful world canvas (sky, buildings, trees, road, ground)."""
    rng = np.random.default_rng([p.seed, 1])
    cw, ch = round(p.width * (1 + 2 * _MARGIN)), round(p.height * (1 + 2 * _MARGIN))
    world = np.zeros((ch, cw, 3), np.uint8)
    horizon, ground = int(_ground_y(p) - 0.45 * p.height), int(_ground_y(p))
    world[:horizon] = (200, 150, 90)
    world[horizon:] = (60, 120, 80)
    x = 0
    while x < cw:
        bw, bh = int(rng.integers(p.width // 12, p.width // 5)), int(rng.integers(p.height // 5,
                                                                              p.height // 2))
        colour = tuple(int(v) for v in rng.integers(40, 230, 3))
        cv2.rectangle(world, (x, ground - bh), (x + bw, ground), colour, -1)
        step = max(4, p.width // 40)
        for wx in range(x + 3, x + bw - step // 2, step):
            for wy in range(ground - bh + 3, ground - 6, step):
                shade = tuple(int(v) for v in rng.integers(20, 255, 3))
                cv2.rectangle(world, (wx, wy), (wx + step // 2, wy + step // 2), shade, -1)
        x += bw + int(rng.integers(2, p.width // 20))
    for _ in range(14):
        centre = (int(rng.integers(0, cw)), int(rng.integers(horizon - p.height // 6, ground)))
        radius = int(rng.integers(p.width // 40, p.width // 16))
        cv2.circle(world, centre, radius, (30, int(rng.integers(90, 170)), 40), -1)
    cv2.rectangle(world, (0, ground - p.height // 20), (cw, ch), (90, 90, 100), -1)
    for lx in range(0, cw, p.width // 10):
        cv2.rectangle(world, (lx, ground + p.height // 12), (lx + p.width // 20,
                                                           ground + p.height // 12 + 2),
                      (230, 230, 230), -1)
    grain = rng.normal(0.0, 10.0, world.shape)
    return np.clip(world + grain, 0, 255).astype(np.uint8)


def _paint_objects(world: npt.NDArray[np.uint8], p: _Params, t: float) -> None:
    if p.scenario == "zone_entry":
        left, top, right, bottom = _person_box(p, t)
        w = right - left
        head = round(w * 0.45)
        cv2.circle(world, (round(left + w / 2), round(top + head)), head, (60, 90, 170), -1)
        cv2.rectangle(world, (round(left), round(top + 2 * head)), (round(right), round(bottom)),
                      (40, 20, 150), -1)
    elif p.scenario == "line_crossing":
        left, top, right, bottom = (round(v) for v in _vehicle_box(p, t))
        cv2.rectangle(world, (left, top), (right, bottom), (0, 200, 240), -1)
        cv2.rectangle(world, (left + (right - left) // 5, top + 2),
                      (right - (right - left) // 5, top + (bottom - top) // 3), (60, 40, 30), -1)
    elif p.scenario == "smoke_plume":
        _paint_smoke(world, p, t)


def _paint_smoke(world: npt.NDArray[np.uint8], p: _Params, t: float) -> None:
    (cx, cy), radius = _smoke_centre(p, t)
    if radius < 1.0:
        return
    h, w = world.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    dist = np.sqrt((xs - cx) ** 2 + ((ys - cy) * 1.3) ** 2) / radius
    ripple = 0.08 * np.sin(xs * 0.21 + t * 2.0) * np.cos(ys * 0.17 - t)
    core = np.clip(1.0 - dist, 0.0, 1.0) ** 0.4
    alpha = np.clip(0.85 * core + ripple, 0.0, 0.85) * (dist < 1.0)
    grey = np.float32(170.0)
    blend = world.astype(np.float32) * (1 - alpha[..., None]) + grey * alpha[..., None]
    world[:] = blend.astype(np.uint8)


# --- public API ---------------------------------------------------------------------------------

def render(
    scenario: str, *, width: int = 320, height: int = 180, fps: float = 15.0,
    duration: float = 6.0, seed: int = 0, event_at: float | None = None,
) -> Iterator[npt.NDArray[np.uint8]]:
    """Yield the scenario's frames (H×W×3 BGR uint8), ``round(duration * fps)`` of them.

    ``event_at`` (default mid-clip) is when the scenario's event starts.

    Raises:
        ValueError: unknown scenario, frame too small, non-positive fps or duration, or
            ``event_at`` closer than 0.5 s to either end of the clip.
    """
    p = _check(scenario, width=width, height=height, fps=fps, duration=duration, seed=seed,
               event_at=event_at)
    world = _paint_world(p)
    camera_rng, noise_rng = np.random.default_rng(p.seed), np.random.default_rng([p.seed, 2])
    _logger.debug("rendering %s: %dx%d, %d frames", scenario, width, height, p.frame_count)
    for index in range(p.frame_count):
        t = index / p.fps
        scene = world.copy()
        _paint_objects(scene, p, t)
        matrix, gain = _camera(p, t, camera_rng)
        frame = cv2.warpAffine(scene, matrix, (p.width, p.height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)
        noisy = frame.astype(np.float32) * gain + noise_rng.normal(0.0, 2.0, frame.shape)
        yield np.clip(noisy, 0, 255).astype(np.uint8)


def truth(
    scenario: str, *, width: int = 320, height: int = 180, fps: float = 15.0,
    duration: float = 6.0, seed: int = 0, event_at: float | None = None,
) -> SceneTruth:
    """The ground truth of the scene :func:`render` draws with the same arguments.

    Raises:
        ValueError: as :func:`render`.
    """
    p = _check(scenario, width=width, height=height, fps=fps, duration=duration, seed=seed,
               event_at=event_at)
    events: tuple[TruthEvent, ...] = ()
    zone = line = None
    if scenario != "shaky_walk":
        start, frame = _frame_time(p, p.event_at)
        kind = {"zone_entry": "zone", "line_crossing": "line", "smoke_plume": "smoke"}[scenario]
        detail = {"direction": "left_to_right"} if kind == "line" else {}
        events = (TruthEvent(kind, start, frame, detail),)
    if scenario == "zone_entry":
        zone = _reference_points(p, _zone_world(p))
    elif scenario == "line_crossing":
        a, b = _reference_points(p, _line_world(p))
        line = (a, b)
    return SceneTruth(scenario, width, height, fps, duration, p.frame_count, events, zone, line)
