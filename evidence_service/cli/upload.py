"""``evidence upload``: resumable tus uploads with progress, several files in parallel.

Resuming: the upload URL of every file is remembered (keyed by the file's SHA-256 and case)
in the CLI state directory, so running the same command again after a crash, a kill or a
network drop continues each file from the offset the server has committed.
"""

from __future__ import annotations

import hashlib
import mimetypes
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import IO, Any

import requests
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)
from tusclient.client import TusClient
from tusclient.exceptions import TusCommunicationError, TusUploadFailed
from tusclient.fingerprint.interface import Fingerprint
from tusclient.storage.filestorage import FileStorage
from tusclient.uploader import Uploader

from evidence_service.cli.items import ServerOpt, TokenOpt, resolve_case
from evidence_service.cli.session import ApiSession, CliError, state_dir

console = Console()
_RETRYABLE_STATUS = {None, 408, 409, 423, 429, 500, 502, 503, 504}


class _KnownDigest(Fingerprint):
    """tus fingerprint = SHA-256 of the whole file plus the case (not tuspy's first-64-KiB MD5)."""

    def __init__(self, key: str) -> None:
        self._key = key

    def get_fingerprint(self, fs: IO[bytes]) -> str:
        return self._key


class _LockedStorage(FileStorage):  # type: ignore[misc]
    """tuspy's URL store, made safe for parallel uploads in one process."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self._lock = threading.Lock()

    def get_item(self, key: str) -> str | None:
        with self._lock:
            return super().get_item(key)  # type: ignore[no-any-return]

    def set_item(self, key: str, url: str) -> None:
        with self._lock:
            super().set_item(key, url)

    def remove_item(self, key: str) -> None:
        with self._lock:
            super().remove_item(key)


def _guess_kind(media_type: str) -> str:
    if media_type.startswith(("video/", "audio/", "image/")):
        return "audio_visual"
    if media_type in ("application/pdf", "text/plain") or "document" in media_type:
        return "documentary"
    return "electronic_data"


def sha256_file(path: Path, progress: Progress, task: TaskID) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(8 << 20):
            digest.update(block)
            progress.advance(task, len(block))
    return digest.hexdigest()


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, TusUploadFailed | TusCommunicationError):
        return getattr(exc, "status_code", None) in _RETRYABLE_STATUS
    return isinstance(exc, requests.RequestException)


class FileUpload:
    """One file's journey: hash, create or resume, send chunks, report the stored item."""

    def __init__(self, *, session: ApiSession, storage: _LockedStorage, path: Path,
                 case_id: str, metadata: dict[str, str], chunk_size: int,
                 limit_rate: int | None, retries: int) -> None:
        self.session, self.storage, self.path = session, storage, path
        self.case_id, self.metadata = case_id, metadata
        self.chunk_size, self.limit_rate, self.retries = chunk_size, limit_rate, retries

    def run(self, progress: Progress, task: TaskID) -> dict[str, Any]:
        size = self.path.stat().st_size
        progress.update(task, total=size, description=f"hash {self.path.name}")
        sha256 = sha256_file(self.path, progress, task)
        key = f"case:{self.case_id}/sha256:{sha256}/size:{size}"
        uploader = self._uploader(sha256, key)
        progress.update(task, completed=uploader.offset, description=self.path.name)
        if uploader.url is None:
            uploader.set_url(uploader.create_url())
            uploader.offset = 0
        started, start_offset = time.monotonic(), uploader.offset
        while uploader.offset < size:
            self._send_chunk(uploader)
            progress.update(task, completed=uploader.offset)
            self._throttle(started, uploader.offset - start_offset)
        item = self._finished_item(uploader.url)
        self.storage.remove_item(key)
        if item.get("sha256") != sha256:
            raise CliError(f"{self.path.name}: server recorded {item.get('sha256')}, "
                           f"local file is {sha256}")
        return item

    def _uploader(self, sha256: str, key: str) -> Uploader:
        meta = {**self.metadata, "case_id": self.case_id, "filename": self.path.name,
                "sha256": sha256}
        client = TusClient(self.session.server + "/uploads", headers=self.session.headers)
        for attempt in (1, 2):
            try:
                uploader = Uploader(file_path=str(self.path), client=client,
                                    chunk_size=self.chunk_size, metadata=meta, store_url=True,
                                    url_storage=self.storage, fingerprinter=_KnownDigest(key))
            except TusCommunicationError:
                if attempt == 2:
                    raise
                self.storage.remove_item(key)  # the remembered upload is gone on the server
                continue
            if uploader.url and self._upload_state(uploader.url) in ("rejected", "terminated"):
                self.storage.remove_item(key)
                continue
            return uploader
        raise CliError(f"{self.path.name}: could not start an upload")

    def _upload_state(self, url: str) -> str:
        r = requests.get(url, headers=self.session.headers, timeout=30)
        return str(r.json().get("status", "")) if r.status_code == 200 else "gone"

    def _send_chunk(self, uploader: Uploader) -> None:
        for attempt in Retrying(retry=retry_if_exception(_retryable), reraise=True,
                                stop=stop_after_attempt(self.retries + 1),
                                wait=wait_exponential(multiplier=0.5, max=30)):
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    uploader.offset = uploader.get_offset()  # resync after a failure
                    if uploader.offset >= uploader.get_file_size():
                        return
                uploader.upload_chunk()

    def _throttle(self, started: float, sent: int) -> None:
        if self.limit_rate:
            ahead = sent / self.limit_rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)

    def _finished_item(self, url: str) -> dict[str, Any]:
        r = requests.get(url, headers=self.session.headers, timeout=60)
        if r.status_code != 200:
            raise CliError(f"{self.path.name}: upload status {r.status_code}: {r.text[:200]}")
        upload = r.json()
        if upload["status"] != "completed":
            raise CliError(f"{self.path.name}: upload is {upload['status']}: {upload['reason']}")
        return self.session.get(f"/items/{upload['item_id']}")  # type: ignore[no-any-return]


def upload(
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    case: str = typer.Option(..., "--case", "-c", help="Case id or case number"),
    kind: str | None = typer.Option(None, help="Evidence kind (default: from the media type)"),
    recorder_id: str | None = typer.Option(None, help="Recorder or device serial"),
    badge: str | None = typer.Option(None, help="Officer badge number"),
    captured_at: str | None = typer.Option(None, help="ISO 8601 capture time with timezone"),
    location: str | None = typer.Option(None, help="Where it was captured"),
    classification: str = typer.Option("internal", help="public | internal | restricted"),
    tag: list[str] = typer.Option([], help="Tag as name=value (party, place, time, "
                                  "cause_of_action, inspection_number, penalty_number)"),
    parallel: int = typer.Option(3, min=1, max=16, help="Files uploaded at once"),
    chunk_mb: int = typer.Option(8, min=1, max=1024, help="Chunk size in MiB"),
    limit_rate: str | None = typer.Option(None, help="Bandwidth cap per file, e.g. 20M"),
    retries: int = typer.Option(8, min=0, help="Retries per chunk on network errors"),
    server: str | None = ServerOpt,
    token: str | None = TokenOpt,
) -> None:
    """Upload files into a case; rerun the same command to resume after any interruption."""
    session = ApiSession.open(server, token)
    case_id = resolve_case(session, case)
    common = {"classification": classification, "recorder_id": recorder_id,
              "badge_number": badge, "captured_at": captured_at, "location": location}
    for t in tag:
        name, sep, value = t.partition("=")
        if not sep:
            raise CliError(f"--tag must look like name=value, got {t!r}")
        common[f"tag_{name.strip()}"] = value.strip()
    storage = _LockedStorage(state_dir() / "uploads.json")
    rate = _parse_rate(limit_rate)
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn(), TimeRemainingColumn())
    failures = 0
    with Progress(*columns, console=console) as progress, ThreadPoolExecutor(parallel) as pool:
        futures = {}
        for path in files:
            media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            meta = {k: v for k, v in common.items() if v}
            meta |= {"filetype": media_type, "kind": kind or _guess_kind(media_type)}
            job = FileUpload(session=session, storage=storage, path=path, case_id=case_id,
                             metadata=meta, chunk_size=chunk_mb << 20, limit_rate=rate,
                             retries=retries)
            task = progress.add_task(path.name, total=path.stat().st_size)
            futures[pool.submit(job.run, progress, task)] = path
        for future in as_completed(futures):
            path = futures[future]
            try:
                item = future.result()
            except (CliError, TusUploadFailed, TusCommunicationError, OSError) as exc:
                failures += 1
                progress.console.print(f"[red]failed[/red] {path}: {_describe(exc)}")
                continue
            progress.console.print(f"[green]stored[/green] {path.name} item={item['id']} "
                                   f"sha256={item['sha256']}")
    storage.close()
    if failures:
        raise CliError(f"{failures} of {len(files)} files failed; rerun to resume them")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TusUploadFailed | TusCommunicationError):
        body = getattr(exc, "response_content", b"") or b""
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        return f"HTTP {getattr(exc, 'status_code', '?')}: {text[:300] or exc}"
    return str(exc)


def _parse_rate(value: str | None) -> int | None:
    if not value:
        return None
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    v = value.strip().lower()
    try:
        return int(float(v[:-1]) * units[v[-1]]) if v[-1] in units else int(v)
    except ValueError as exc:
        raise CliError(f"--limit-rate must look like 500k, 20M or 1G, got {value!r}") from exc
