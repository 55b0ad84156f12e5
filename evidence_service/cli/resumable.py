"""The resumable part of ``evidence upload``: tus (tuspy) with retries and a URL store.

Imported only when an upload runs, so ``evidence serve`` does not load the tus client.
Resuming: the upload URL of every file is remembered (keyed by the file's SHA-256, size and
case) in the CLI state directory, so the same command run again after a crash, a kill or a
network drop continues each file from the offset the server has committed.
"""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path
from typing import IO, Any

import requests
from rich.progress import Progress, TaskID
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential
from tusclient.client import TusClient
from tusclient.exceptions import TusCommunicationError, TusUploadFailed
from tusclient.fingerprint.interface import Fingerprint
from tusclient.storage.filestorage import FileStorage
from tusclient.uploader.uploader import Uploader

from evidence_service.cli.session import ApiSession, CliError

_RETRYABLE_STATUS = {None, 408, 409, 423, 429, 500, 502, 503, 504}
UploadErrors = (CliError, TusUploadFailed, TusCommunicationError, OSError)


class _KnownDigest(Fingerprint):
    """tus fingerprint = SHA-256 of the whole file plus the case (not tuspy's first-64-KiB MD5)."""

    def __init__(self, key: str) -> None:
        self._key = key

    def get_fingerprint(self, fs: IO[bytes]) -> str:
        return self._key


class LockedStorage(FileStorage):
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

    def __init__(self, *, session: ApiSession, storage: LockedStorage, path: Path,
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
        assert uploader.url is not None
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


def describe(exc: BaseException) -> str:
    """A one-line reason for a failed file, with the server's message when there is one."""
    if isinstance(exc, TusUploadFailed | TusCommunicationError):
        body = getattr(exc, "response_content", b"") or b""
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        return f"HTTP {getattr(exc, 'status_code', '?')}: {text[:300] or exc}"
    return str(exc)
