"""Every error ``video_pipeline`` raises, under one root.

::

    PipelineError
    ├── MediaError                 the input file cannot be analysed (the caller's file is at fault)
    │   ├── EmptyMedia             zero-length file
    │   ├── NotMedia               no container ffmpeg can read
    │   ├── NoVideoStream          audio only, or data only
    │   ├── MediaLimitExceeded     absurd declared dimensions, frame rate or duration
    │   └── CorruptMedia           truncated or damaged: decoding failed part-way
    ├── InvalidOption (ValueError) a zone, line, mark or other option that cannot be parsed
    ├── ToolError                  ffmpeg/ffprobe failed on input it should handle (stderr attached)
    │   └── ToolNotFound           no ffmpeg on PATH and no imageio-ffmpeg binary
    └── OutputError                the output directory cannot be written

Catch :class:`PipelineError` once at the edge (the CLI does); catch a subclass where the
caller can do something about it.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Root of every error raised by ``video_pipeline``."""


class MediaError(PipelineError):
    """The input cannot be analysed; the file, not the pipeline, is at fault."""


class EmptyMedia(MediaError):
    """The input file has no bytes."""


class NotMedia(MediaError):
    """The input is not a media container ffmpeg can read."""


class NoVideoStream(MediaError):
    """The container holds no decodable video stream (for example audio only)."""


class MediaLimitExceeded(MediaError):
    """Declared dimensions, frame rate or duration are beyond what we accept."""


class CorruptMedia(MediaError):
    """The file is truncated or damaged: decoding failed or produced no frames."""


class InvalidOption(PipelineError, ValueError):
    """An option (zone, line, mark, mode) could not be parsed."""


class ToolError(PipelineError):
    """ffmpeg or ffprobe failed; ``stderr_tail`` holds the end of its output."""

    def __init__(self, message: str, *, stderr_tail: str = "") -> None:
        self.stderr_tail = stderr_tail
        text = message if not stderr_tail else f"{message}\n--- ffmpeg said ---\n{stderr_tail}"
        super().__init__(text)


class ToolNotFound(ToolError):
    """Neither ffmpeg on PATH nor the imageio-ffmpeg binary is available."""


class OutputError(PipelineError):
    """An output file or directory could not be written."""
