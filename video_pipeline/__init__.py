"""Key frames, events and a timeline summary from recorder footage (ffmpeg + OpenCV).

This package knows nothing of the evidence service, its database or the chain: it takes a
media file path plus options and writes plain results.

Entry points: :func:`analyze` (timeline.json, chapters.vtt, contact sheet, summary.mp4, key
frames), :func:`probe` (what a file declares), :func:`redact` (a face-blurred disclosure copy
hash-linked to its source). Every error is a :class:`PipelineError`.
"""

from __future__ import annotations

from video_pipeline.analyze import AnalysisResult, OutputFile, analyze, sha256_file
from video_pipeline.detector import CameraMotion, Event, EventDetector, FrameSample, Region
from video_pipeline.errors import (
    CorruptMedia,
    EmptyMedia,
    InvalidOption,
    MediaError,
    MediaLimitExceeded,
    NotMedia,
    NoVideoStream,
    OutputError,
    PipelineError,
    ToolError,
    ToolNotFound,
)
from video_pipeline.options import (
    AnalyzeOptions,
    Line,
    Mark,
    Zone,
    parse_line,
    parse_marks,
    parse_time,
    parse_zone,
)
from video_pipeline.probe import MediaInfo, ProbeLimits, StreamInfo, VideoInfo, probe
from video_pipeline.redact import RedactionResult, redact
from video_pipeline.timeline import SCHEMA, SCHEMA_VERSION

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "AnalysisResult",
    "AnalyzeOptions",
    "CameraMotion",
    "CorruptMedia",
    "EmptyMedia",
    "Event",
    "EventDetector",
    "FrameSample",
    "InvalidOption",
    "Line",
    "Mark",
    "MediaError",
    "MediaInfo",
    "MediaLimitExceeded",
    "NoVideoStream",
    "NotMedia",
    "OutputError",
    "OutputFile",
    "PipelineError",
    "ProbeLimits",
    "RedactionResult",
    "Region",
    "StreamInfo",
    "ToolError",
    "ToolNotFound",
    "VideoInfo",
    "Zone",
    "analyze",
    "parse_line",
    "parse_marks",
    "parse_time",
    "parse_zone",
    "probe",
    "redact",
    "sha256_file",
]
