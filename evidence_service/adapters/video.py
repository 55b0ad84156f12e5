"""The ``MediaAnalyzer`` port on top of ``video_pipeline`` (ffmpeg + OpenCV).

OpenCV and the pipeline are imported on first use, so a process that never analyses video
never loads them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from evidence_service.domain.errors import AnalysisFailed, InvalidInput, MediaRejected
from evidence_service.domain.models import AnalysisOptions
from evidence_service.ports import ProducedFile

_TYPES = {".json": "application/json", ".vtt": "text/vtt", ".jpg": "image/jpeg",
          ".jpeg": "image/jpeg", ".mp4": "video/mp4", ".png": "image/png"}


def _media_type(path: Path) -> str:
    return _TYPES.get(path.suffix.lower(), "application/octet-stream")


def _public(exc: Exception, source: Path, out_dir: Path) -> str:
    """The error text for users: no server paths, at most 2000 characters."""
    text = str(exc).replace(str(source), "the stored file").replace(str(out_dir), "the output")
    return text[:2000]


class VideoPipelineAnalyzer:
    """Runs ``video_pipeline.analyze`` / ``redact`` and maps its errors to ours."""

    def __init__(self, *, workers: int = 2) -> None:
        self._workers = workers

    def check(self, options: AnalysisOptions) -> None:
        """Raise InvalidInput unless every zone, line and mark parses."""
        self._pipeline_options(options)

    def _pipeline_options(self, options: AnalysisOptions) -> Any:
        import video_pipeline as vp

        try:
            marks = vp.parse_marks(";".join(options.marks)) if options.marks else ()
            return vp.AnalyzeOptions(
                mode=options.mode, workers=self._workers, marks=marks,
                zones=tuple(vp.parse_zone(z, default_name=f"zone{i + 1}")
                            for i, z in enumerate(options.zones)),
                lines=tuple(vp.parse_line(line, default_name=f"line{i + 1}")
                            for i, line in enumerate(options.lines)))
        except vp.InvalidOption as exc:
            raise InvalidInput(f"analysis options: {exc}") from exc

    def run(self, source: Path, out_dir: Path, *, options: AnalysisOptions,
            source_sha256: str, progress: Callable[[str, float], None]) -> list[ProducedFile]:
        """Analyse (or redact) ``source`` into ``out_dir``; see ``MediaAnalyzer``."""
        import video_pipeline as vp

        try:
            if options.task == "redact":
                out = out_dir / "redacted.mp4"
                result = vp.redact(source, out, source_sha256=source_sha256,
                                   progress=lambda f: progress("redact", f))
                return [ProducedFile("redacted", result.output, "video/mp4"),
                        ProducedFile("redaction_report", result.report, "application/json")]
            analysed = vp.analyze(source, out_dir, options=self._pipeline_options(options),
                                  progress=progress)
        except vp.MediaError as exc:
            raise MediaRejected(_public(exc, source, out_dir)) from exc
        except vp.InvalidOption as exc:
            raise InvalidInput(f"analysis options: {exc}") from exc
        except vp.PipelineError as exc:
            raise AnalysisFailed(f"{type(exc).__name__}: {_public(exc, source, out_dir)}"
                                 ) from exc
        if analysed.source_sha256 != source_sha256:
            raise AnalysisFailed("the analysed copy does not hash to the stored original")
        return [ProducedFile(o.kind, o.path, _media_type(o.path)) for o in analysed.outputs]
