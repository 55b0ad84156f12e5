"""``python -m video_pipeline``: analyze, probe and redact from the command line.

The entry point catches :class:`~video_pipeline.errors.PipelineError` once, prints it
plainly and exits 2 (1 for anything unexpected, with Python's traceback).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from video_pipeline.analyze import analyze as run_analysis
from video_pipeline.errors import InvalidOption, PipelineError
from video_pipeline.options import AnalyzeOptions, parse_line, parse_marks, parse_zone
from video_pipeline.probe import probe as run_probe
from video_pipeline.redact import redact as run_redact
from video_pipeline.settings import VideoSettings, get_settings

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Key frames, cuts, events and a timeline from recorder footage.")
_err = Console(stderr=True)
_out = Console()
_logger = logging.getLogger(__name__)


def _settings() -> VideoSettings:
    """The ``VIDEO_*`` settings; a bad value is an InvalidOption like a bad flag."""
    try:
        return get_settings()
    except ValidationError as exc:
        raise InvalidOption(f"bad VIDEO_* setting: {exc.errors()[0]['loc']} "
                            f"{exc.errors()[0]['msg']}") from exc


@contextmanager
def _progress(title: str) -> Iterator[Progress]:
    columns = (TextColumn("[bold]{task.description}"), BarColumn(),
               TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn())
    with Progress(*columns, console=_err, transient=True) as bar:
        yield bar


FileArg = Annotated[Path, typer.Argument(exists=False, dir_okay=False, help="media file")]


@app.command()
def analyze(
    file: FileArg,
    out: Annotated[Path, typer.Option("--out", help="output directory")],
    zone: Annotated[list[str] | None, typer.Option(
        "--zone", help="[NAME=]x1,y1,x2,y2,x3,y3,... normalised (repeatable)")] = None,
    line: Annotated[list[str] | None, typer.Option(
        "--line", help="[NAME=]x1,y1,x2,y2 normalised (repeatable)")] = None,
    marks: Annotated[str, typer.Option(
        "--marks", help="officer marks: TIME[=LABEL];... (seconds or [HH:]MM:SS.fff)")] = "",
    mode: Annotated[str | None, typer.Option(
        "--mode", help="fast (coarse to fine) or full [default: VIDEO_MODE or fast]")] = None,
) -> None:
    """Analyse FILE and write timeline.json, chapters.vtt, contact sheet, summary, key frames."""
    settings = _settings()
    mode = mode or settings.mode
    if mode not in ("fast", "full"):
        raise InvalidOption(f"--mode must be fast or full, not {mode!r}")
    options = AnalyzeOptions(
        mode="full" if mode == "full" else "fast", workers=settings.workers,
        proxy_width=settings.proxy_width, phash_threshold=settings.phash_threshold,
        summary_before=settings.summary_before, summary_after=settings.summary_after,
        zones=tuple(parse_zone(z, default_name=f"zone{k + 1}") for k, z in enumerate(zone or [])),
        lines=tuple(parse_line(ln, default_name=f"line{k + 1}")
                    for k, ln in enumerate(line or [])),
        marks=parse_marks(marks))
    with _progress("analyse") as bar:
        tasks: dict[str, int] = {}

        def report(stage: str, fraction: float) -> None:
            if stage not in tasks:
                tasks[stage] = int(bar.add_task(stage, total=1.0))
            bar.update(tasks[stage], completed=fraction)  # type: ignore[arg-type]

        result = run_analysis(file, out, options=options, limits=settings.limits(),
                              progress=report)
    doc = result.timeline
    _out.print(f"source sha256 {result.source_sha256}")
    _out.print(f"{len(doc['segments'])} shots, {len(doc['cuts'])} cuts, "
               f"{len(doc['events'])} events, {len(doc['keyframes'])} key frames")
    if doc["violation_start"]:
        v = doc["violation_start"]
        _out.print(f"violation start: {v['kind']} at {v['time']:.3f} s (frame {v['frame']})")
    for item in result.outputs:
        typer.echo(f"{item.sha256}  {item.path}")


@app.command()
def probe(file: FileArg) -> None:
    """Print what FILE declares (streams, timing, rotation, recorder metadata) as JSON."""
    info = run_probe(file, limits=_settings().limits())
    _out.print_json(json.dumps(info.to_dict()))


@app.command()
def redact(
    file: FileArg,
    out: Annotated[Path, typer.Option("--out", help="the redacted copy (.mp4)")],
    source_sha256: Annotated[str | None, typer.Option(
        "--source-sha256", help="the source's recorded SHA-256 (hashed here if omitted)")] = None,
) -> None:
    """Write a disclosure copy of FILE with faces blurred, hash-linked to FILE."""
    with _progress("redact") as bar:
        task = bar.add_task("redact", total=1.0)
        result = run_redact(file, out, source_sha256=source_sha256,
                            limits=_settings().limits(),
                            progress=lambda f: bar.update(task, completed=f))
    typer.echo(f"{result.output_sha256}  {result.output}")
    _out.print(f"report {result.report}; source sha256 {result.source_sha256}; "
               f"{result.frames_with_faces} of {result.frames} frames had faces blurred")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; a PipelineError is printed plainly and gives exit status 2."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app(args=argv, standalone_mode=False)
    except PipelineError as exc:
        _err.print(f"error: {type(exc).__name__}: {exc}", style="bold red", markup=False,
                   highlight=False)
        return 2
    except typer.Abort:
        return 130
    except Exception as exc:  # click usage errors carry their own exit code
        code = getattr(exc, "exit_code", None)
        if code is None:
            raise
        if hasattr(exc, "show"):
            exc.show()
        return int(code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
