"""``evidence upload``: resumable uploads into a case, several files at once, with progress."""

from __future__ import annotations

import mimetypes
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from evidence_service.cli.items import ServerOpt, TokenOpt, resolve_case
from evidence_service.cli.session import ApiSession, CliError, state_dir

console = Console()


#: Options `evidence upload` and `evidence offload` share.
CaseOpt = typer.Option(..., "--case", "-c", help="Case id or case number")
KindOpt = typer.Option(None, help="Evidence kind (default: from the media type)")
RecorderOpt = typer.Option(None, help="Recorder or device serial")
BadgeOpt = typer.Option(None, help="Officer badge number")
CapturedAtOpt = typer.Option(None, help="ISO 8601 capture time with timezone")
LocationOpt = typer.Option(None, help="Where it was captured")
ClassificationOpt = typer.Option("internal", help="public | internal | restricted")
TagOpt = typer.Option([], help="Tag as name=value (party, place, time, cause_of_action, "
                                 "inspection_number, penalty_number)")


def _guess_kind(media_type: str) -> str:
    if media_type.startswith(("video/", "audio/", "image/")):
        return "audio_visual"
    if media_type in ("application/pdf", "text/plain") or "document" in media_type:
        return "documentary"
    return "electronic_data"


def file_metadata(name: str, kind: str | None) -> tuple[str, str]:
    """(media type, evidence kind) of a file, guessed from its name unless ``kind`` is given."""
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return media_type, kind or _guess_kind(media_type)


def common_metadata(*, recorder_id: str | None, badge: str | None, captured_at: str | None,
                    location: str | None, classification: str,
                    tags: list[str]) -> dict[str, str]:
    """The metadata every file of one command shares (tus keys); raises CliError."""
    common = {"classification": classification, "recorder_id": recorder_id,
              "badge_number": badge, "captured_at": captured_at, "location": location}
    for t in tags:
        name, sep, value = t.partition("=")
        if not sep:
            raise CliError(f"--tag must look like name=value, got {t!r}")
        common[f"tag_{name.strip()}"] = value.strip()
    return {k: v for k, v in common.items() if v}


def upload(
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    case: str = CaseOpt,
    kind: str | None = KindOpt,
    recorder_id: str | None = RecorderOpt,
    badge: str | None = BadgeOpt,
    captured_at: str | None = CapturedAtOpt,
    location: str | None = LocationOpt,
    classification: str = ClassificationOpt,
    tag: list[str] = TagOpt,
    parallel: int = typer.Option(3, min=1, max=16, help="Files uploaded at once"),
    chunk_mb: int = typer.Option(8, min=1, max=1024, help="Chunk size in MiB"),
    limit_rate: str | None = typer.Option(None, help="Bandwidth cap per file, e.g. 20M"),
    retries: int = typer.Option(8, min=0, help="Retries per chunk on network errors"),
    server: str | None = ServerOpt,
    token: str | None = TokenOpt,
) -> None:
    """Upload files into a case; rerun the same command to resume after any interruption."""
    from evidence_service.cli import resumable  # tus client loaded only for uploads

    session = ApiSession.open(server, token)
    case_id = resolve_case(session, case)
    common = common_metadata(recorder_id=recorder_id, badge=badge, captured_at=captured_at,
                             location=location, classification=classification, tags=tag)
    storage = resumable.LockedStorage(state_dir() / "uploads.json")
    rate = _parse_rate(limit_rate)
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn(), TimeRemainingColumn())
    failures = 0
    with Progress(*columns, console=console) as progress, ThreadPoolExecutor(parallel) as pool:
        futures = {}
        for path in files:
            media_type, file_kind = file_metadata(path.name, kind)
            meta = {**common, "filetype": media_type, "kind": file_kind}
            job = resumable.FileUpload(session=session, storage=storage, path=path, case_id=case_id,
                             metadata=meta, chunk_size=chunk_mb << 20, limit_rate=rate,
                             retries=retries)
            task = progress.add_task(path.name, total=path.stat().st_size)
            futures[pool.submit(job.run, progress, task)] = path
        for future in as_completed(futures):
            path = futures[future]
            try:
                item = future.result()
            except resumable.UploadErrors as exc:
                failures += 1
                progress.console.print(f"[red]failed[/red] {path}: {resumable.describe(exc)}")
                continue
            progress.console.print(f"[green]stored[/green] {path.name} item={item['id']} "
                                   f"sha256={item['sha256']}")
    storage.close()
    if failures:
        raise CliError(f"{failures} of {len(files)} files failed; rerun to resume them")


def _parse_rate(value: str | None) -> int | None:
    if not value:
        return None
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    v = value.strip().lower()
    try:
        return int(float(v[:-1]) * units[v[-1]]) if v[-1] in units else int(v)
    except ValueError as exc:
        raise CliError(f"--limit-rate must look like 500k, 20M or 1G, got {value!r}") from exc
