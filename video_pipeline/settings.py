"""``VIDEO_*`` environment settings, read only by the CLI (library functions take arguments).

| variable | default | meaning |
|---|---|---|
| ``VIDEO_MODE`` | ``fast`` | ``fast`` (coarse to fine) or ``full`` (every frame) |
| ``VIDEO_WORKERS`` | 2 | ffmpeg processes decoding at once (key-frame slices, windows) |
| ``VIDEO_PROXY_WIDTH`` | 320 | width of the analysis proxies |
| ``VIDEO_PHASH_THRESHOLD`` | 6 | key frames within this many bits are near-duplicates |
| ``VIDEO_SUMMARY_BEFORE`` / ``VIDEO_SUMMARY_AFTER`` | 3.0 | seconds around each event |
| ``VIDEO_MAX_SIDE`` / ``_FPS`` / ``_DURATION`` | 8192 / 480 / 172800 | input limits |
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from video_pipeline.probe import ProbeLimits


class VideoSettings(BaseSettings):
    """Defaults for the CLI; command-line options win over them."""

    model_config = SettingsConfigDict(env_prefix="VIDEO_", extra="ignore")

    mode: Literal["fast", "full"] = "fast"
    workers: int = Field(default=2, ge=1, le=16)
    proxy_width: int = Field(default=320, ge=64, le=1920)
    phash_threshold: int = Field(default=6, ge=0, le=32)
    summary_before: float = Field(default=3.0, ge=0, le=60)
    summary_after: float = Field(default=3.0, ge=0, le=60)
    max_side: int = Field(default=8192, ge=16)
    max_fps: float = Field(default=480.0, gt=0)
    max_duration: float = Field(default=48 * 3600.0, gt=0)

    def limits(self) -> ProbeLimits:
        """The probe limits these settings describe."""
        return ProbeLimits(max_side=self.max_side, max_fps=self.max_fps,
                           max_duration=self.max_duration)


@lru_cache(maxsize=1)
def get_settings() -> VideoSettings:
    """The settings from the environment, read once.

    Raises:
        pydantic.ValidationError: a ``VIDEO_*`` variable has an invalid value.
    """
    return VideoSettings()
