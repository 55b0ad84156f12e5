"""``evidence offload``: a docking station's (or a recorder card's) whole content into a case.

Small files go in tar batches through ``POST /cases/{id}/batches``: one request, one
transaction and one log append for up to ``--batch-files`` files, instead of two requests
per file through tus. Files above ``--batch-max-mb`` go through the resumable tus path of
``evidence upload`` (:class:`resumable.FileUpload`), so one command offloads a whole card.

Each batch is written to a temporary tar file (memory stays flat) while its files are read
and hashed once; every member carries its SHA-256 (pax header ``EVIDENCE.sha256``, which the
server checks), its media type and its evidence kind. Common capture metadata goes once per
batch in ``Batch-Metadata``.

Running the same command again after a crash, a kill or a lost reply registers nothing twice:

- a batch's ``Batch-Id`` is a UUID5 over the case and the batch's sorted
  (member name, size, mtime_ns, sha256) list, so a finished batch is answered with its first
  result (``replayed``) and reported as "already registered";
- a large file resumes from the server's offset (tus URL store), and a finished one is
  remembered in the CLI state directory (``offloaded.json``: case, member name, size and
  mtime) and skipped without being read again.

A connection error or a 5xx is retried with exponential backoff (``Retry-After`` honoured);
a 4xx is never retried: the server's message is printed and the command stops.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import tarfile
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
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
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_exponential

from evidence_service.cli.items import ServerOpt, TokenOpt, resolve_case
from evidence_service.cli.session import ApiSession, CliError, checked_json, state_dir
from evidence_service.cli.upload import (
    BadgeOpt,
    CapturedAtOpt,
    CaseOpt,
    ClassificationOpt,
    KindOpt,
    LocationOpt,
    RecorderOpt,
    TagOpt,
    common_metadata,
    file_metadata,
)

console = Console(soft_wrap=True)  # one line per batch, whatever the terminal width
MIB = 1 << 20
_PAX_SHA256 = "EVIDENCE.sha256"  # per-file pax headers: EVIDENCE.<key> (see api/routes/batches)
_PLACEHOLDER = "0" * 64  # written first, replaced by the digest once the data is read
_READ = 1 << 20
#: UUID5 namespace of offload batch ids; changing it would make reruns register duplicates.
BATCH_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:evidence-service:offload-batch:v1")
_BACKOFF = wait_exponential(multiplier=0.5, max=30)
_MAX_RETRY_AFTER = 300.0


@dataclass(frozen=True)
class SourceFile:
    """A file to offload, named as it will appear in the archive."""

    path: Path
    name: str  # POSIX path relative to the argument it was found under
    size: int
    mtime_ns: int


@dataclass
class Walk:
    """What :func:`collect` found: the files to send and the paths it could not read."""

    files: list[SourceFile] = field(default_factory=list)
    skipped: int = 0  # hidden entries, symlinks, devices and pipes (a warning each)
    unreadable: list[str] = field(default_factory=list)


def collect(paths: list[Path], warn: Callable[[str], None]) -> Walk:
    """Walk ``paths`` in sorted order; hidden entries and symlinks inside them are skipped.

    A path given on the command line is taken as it is (a symlinked mount point is followed);
    a directory's members are named relative to it, a file by its own name. A directory that
    cannot be listed is recorded in ``Walk.unreadable``; raises OSError only when a path given
    cannot be examined at all.
    """
    walk = Walk()
    for root in paths:
        st = root.stat()
        if stat.S_ISDIR(st.st_mode):
            _walk_dir(root, "", walk, warn)
        elif stat.S_ISREG(st.st_mode):
            walk.files.append(SourceFile(root, root.name, st.st_size, st.st_mtime_ns))
        else:
            walk.skipped += 1
            warn(f"skipped {root}: not a regular file or directory")
    return walk


def _walk_dir(directory: Path, prefix: str, walk: Walk, warn: Callable[[str], None]) -> None:
    try:
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        walk.unreadable.append(f"{directory}: {exc.strerror or exc}")
        return
    for entry in entries:
        name = prefix + entry.name
        if entry.name.startswith("."):
            walk.skipped += 1
            warn(f"skipped hidden {name}")
        elif entry.is_symlink():
            walk.skipped += 1
            warn(f"skipped symlink {name}")
        elif entry.is_dir(follow_symlinks=False):
            _walk_dir(Path(entry.path), name + "/", walk, warn)
        elif entry.is_file(follow_symlinks=False):
            st = entry.stat(follow_symlinks=False)
            walk.files.append(SourceFile(Path(entry.path), name, st.st_size, st.st_mtime_ns))
        else:
            walk.skipped += 1
            warn(f"skipped {name}: not a regular file")


def plan_batches(files: list[SourceFile], *, max_files: int,
                 max_bytes: int) -> list[list[SourceFile]]:
    """Split ``files`` (in order) into batches of at most ``max_files`` files and
    ``max_bytes`` bytes; a name already in a batch (two cards given at once) starts a new one,
    because the server refuses a repeated member name.

    Greedy and deterministic: the same files are always split the same way, so a rerun gives
    every batch the id it had before.
    """
    batches: list[list[SourceFile]] = []
    current: list[SourceFile] = []
    names: set[str] = set()
    size = 0
    for f in files:
        if current and (len(current) >= max_files or size + f.size > max_bytes
                        or f.name in names):
            batches.append(current)
            current, names, size = [], set(), 0
        current.append(f)
        names.add(f.name)
        size += f.size
    if current:
        batches.append(current)
    return batches


@dataclass(frozen=True)
class BatchEntry:
    """One member as it went into the archive (what the batch id is computed over)."""

    name: str
    size: int
    mtime_ns: int
    sha256: str


def batch_id(case_id: str, entries: list[BatchEntry]) -> str:
    """The deterministic ``Batch-Id``: the same files offloaded into the same case again
    give the same id, so the server replays the first registration."""
    listing = sorted((e.name, e.size, e.mtime_ns, e.sha256) for e in entries)
    name = json.dumps([case_id, listing], ensure_ascii=True, separators=(",", ":"))
    return str(uuid.uuid5(BATCH_NAMESPACE, name))


def write_archive(out: IO[bytes], files: list[SourceFile], *, kind: str | None,
                  on_read: Callable[[int], None]) -> list[BatchEntry]:
    """Write ``files`` as an uncompressed pax archive to the seekable ``out``.

    Each file is read once: its bytes are copied and hashed together, then the digest is
    written over a placeholder in the member's pax header (same length, so nothing moves).
    Raises OSError when a file cannot be read or shrank while being read.
    """
    entries = []
    for f in files:
        media_type, member_kind = file_metadata(f.name, kind)
        info = tarfile.TarInfo(f.name)
        info.size, info.mtime, info.mode = f.size, f.mtime_ns // 1_000_000_000, 0o444
        info.pax_headers = {_PAX_SHA256: _PLACEHOLDER, "EVIDENCE.filetype": media_type,
                            "EVIDENCE.kind": member_kind}
        header = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
        # our record is the first of the pax data (tarfile adds path etc. after it), so the
        # first match is ours even if a file name happened to contain the same text
        marker = f"{_PAX_SHA256}={_PLACEHOLDER}\n".encode()
        digest_at = out.tell() + header.index(marker) + len(_PAX_SHA256) + 1
        out.write(header)
        sha256 = _copy(f, out, on_read)
        out.write(b"\0" * (-f.size % tarfile.BLOCKSIZE))
        end = out.tell()
        out.seek(digest_at)
        out.write(sha256.encode())
        out.seek(end)
        entries.append(BatchEntry(f.name, f.size, f.mtime_ns, sha256))
    out.write(b"\0" * (2 * tarfile.BLOCKSIZE))  # end-of-archive marker
    return entries


def _copy(f: SourceFile, out: IO[bytes], on_read: Callable[[int], None]) -> str:
    digest = hashlib.sha256()
    left = f.size
    with f.path.open("rb") as src:
        while left:
            block = src.read(min(_READ, left))
            if not block:
                raise OSError(f"{f.name} shrank while it was read; offload it again")
            digest.update(block)
            out.write(block)
            left -= len(block)
            on_read(len(block))
    return digest.hexdigest()


class _ServerError(CliError):
    """A 5xx answer: retried, after ``Retry-After`` seconds when the server gives them."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class _Unreachable(CliError):
    """The server could not be reached (or stopped answering) through all the retries."""


class _Refused(CliError):
    """A 4xx: the request itself is wrong (case, rights, metadata); never retried."""


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return min(float(value), _MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min((when - datetime.now(UTC)).total_seconds(), _MAX_RETRY_AFTER))


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, _ServerError | requests.RequestException)


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, _ServerError) and exc.retry_after is not None:
        return exc.retry_after
    return float(_BACKOFF(state))


class _ProgressReader:
    """The archive as a request body: read in blocks, advancing a progress task."""

    def __init__(self, fh: IO[bytes], size: int, advance: Callable[[int], None]) -> None:
        self._fh, self._size, self._advance = fh, size, advance

    def __len__(self) -> int:  # requests sends Content-Length instead of chunks
        return self._size

    def read(self, n: int = -1) -> bytes:
        block = self._fh.read(_READ if n is None or n < 0 else min(n, _READ))
        self._advance(len(block))
        return block


@dataclass
class BatchSender:
    """Posts archives to ``POST /cases/{id}/batches`` with retries on network errors and 5xx."""

    session: ApiSession
    case_id: str
    metadata: str  # the Batch-Metadata header ("" for none)
    retries: int
    progress: Progress

    def send(self, archive: Path, bid: str, task: TaskID,
             label: str) -> tuple[bool, dict[str, Any]]:
        """Send one archive; returns (replayed, the server's answer).

        Raises _Refused with the server's message on a 4xx (never retried), _ServerError
        or _Unreachable when a 5xx or a network error outlasted the retries.
        """
        url = f"{self.session.server}/cases/{self.case_id}/batches"
        headers = {**self.session.headers, "Content-Type": "application/x-tar", "Batch-Id": bid}
        if self.metadata:
            headers["Batch-Metadata"] = self.metadata
        size = archive.stat().st_size
        retrying = Retrying(retry=retry_if_exception(_retryable), reraise=True, wait=_wait,
                            stop=stop_after_attempt(self.retries + 1),
                            before_sleep=lambda state: self._announce(state, label))
        try:
            for attempt in retrying:
                with attempt, archive.open("rb") as fh:
                    self.progress.reset(task, total=size)
                    body = _ProgressReader(fh, size,
                                           lambda n: self.progress.advance(task, n))
                    r = requests.post(url, data=body, headers=headers, timeout=(30, 900))
                    if r.status_code >= 500:
                        raise _ServerError(_server_message(r),
                                           _retry_after(r.headers.get("Retry-After")))
                    if r.status_code >= 400:
                        raise _Refused(_server_message(r))
                    answer: dict[str, Any] = r.json()
                    return answer.get("replayed") is True, answer
        except requests.RequestException as exc:
            raise _Unreachable(f"cannot reach {self.session.server}: {_reason(exc)}") from exc
        raise AssertionError("unreachable: tenacity re-raises the last error")

    def _announce(self, state: RetryCallState, label: str) -> None:
        exc = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0
        reason = _reason(exc) if isinstance(exc, requests.RequestException) else str(exc)
        self.progress.console.print(f"{label}: [yellow]retrying[/yellow] in {delay:.1f}s "
                                    f"({reason})")


def _reason(exc: BaseException) -> str:
    """The root cause of a requests error ("Connection refused"), not urllib3's whole story."""
    if isinstance(exc, requests.Timeout):
        return "no answer in time"
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
        cause = cause.__cause__ or cause.__context__
    return type(exc).__name__


def _server_message(r: requests.Response) -> str:
    try:
        checked_json(r)
    except CliError as exc:
        return str(exc)
    return f"server answered {r.status_code}"  # not reached: only called for >= 400


def _encode_metadata(meta: dict[str, str]) -> str:
    """A tus ``Upload-Metadata`` style header: ``key base64value`` pairs, comma-separated."""
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode('ascii')}"
                    for k, v in meta.items())


class _Offloaded:
    """Large files already registered (``offloaded.json`` in the CLI state directory).

    Keyed by case, member name, size and mtime, so a rerun skips them without reading them
    again; the tus URL store covers a file whose upload was interrupted.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._done: dict[str, dict[str, str]] = (
            json.loads(path.read_text()) if path.exists() else {})

    @staticmethod
    def key(case_id: str, f: SourceFile) -> str:
        return f"case:{case_id}/name:{f.name}/size:{f.size}/mtime_ns:{f.mtime_ns}"

    def get(self, key: str) -> dict[str, str] | None:
        return self._done.get(key)

    def put(self, key: str, item: dict[str, Any]) -> None:
        with self._lock:
            self._done[key] = {"item_id": str(item["id"]), "sha256": str(item["sha256"])}
            tmp = self._path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self._done))
            tmp.replace(self._path)


@dataclass
class _Tally:
    registered: int = 0
    replayed: int = 0
    failures: list[str] = field(default_factory=list)


def offload(
    paths: list[Path] = typer.Argument(..., exists=True, readable=True,
                                       help="Directories (a card, DCIM/…) or files"),
    case: str = CaseOpt,
    kind: str | None = KindOpt,
    recorder_id: str | None = RecorderOpt,
    badge: str | None = BadgeOpt,
    captured_at: str | None = CapturedAtOpt,
    location: str | None = LocationOpt,
    classification: str = ClassificationOpt,
    tag: list[str] = TagOpt,
    batch_files: int = typer.Option(1000, min=1, help="Most files in one batch"),
    batch_mb: int = typer.Option(256, min=1, help="Most MiB of file data in one batch"),
    batch_max_mb: int = typer.Option(64, min=0, help="Larger files (MiB) go through the "
                                     "resumable tus upload instead of a batch"),
    chunk_mb: int = typer.Option(8, min=1, max=1024, help="tus chunk size in MiB"),
    retries: int = typer.Option(8, min=0, help="Retries per request on network errors/5xx"),
    spool_dir: Path | None = typer.Option(None, file_okay=False, help="Where batch archives "
                                          "are built (default: the system temp directory)"),
    server: str | None = ServerOpt,
    token: str | None = TokenOpt,
) -> None:
    """Offload a card or a docking station's folders into a case: small files in tar batches,
    large ones resumable. Rerun the same command after any interruption: nothing is
    registered twice."""
    session = ApiSession.open(server, token)
    # a case id goes to the server as is (it answers for an unknown one); a number is looked up
    case_id = _canonical_uuid(case) or resolve_case(session, case)
    common = common_metadata(recorder_id=recorder_id, badge=badge, captured_at=captured_at,
                              location=location, classification=classification, tags=tag)
    walk = collect(paths, lambda m: console.print(f"[yellow]warning:[/yellow] {m}"))
    if not walk.files and not walk.unreadable:
        console.print("nothing to offload")
        return
    limit = batch_max_mb * MIB
    small = [f for f in walk.files if f.size <= limit]
    large = [f for f in walk.files if f.size > limit]
    batches = plan_batches(small, max_files=batch_files, max_bytes=batch_mb * MIB)
    tally = _Tally(failures=[f"cannot read {u}" for u in walk.unreadable])
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn(), TimeRemainingColumn())
    refused: _Refused | None = None
    with Progress(*columns, console=console, transient=True) as progress:
        sender = BatchSender(session=session, case_id=case_id, retries=retries,
                             metadata=_encode_metadata(common), progress=progress)
        try:
            for n, batch in enumerate(batches, 1):
                _offload_batch(sender, batch, f"batch {n}/{len(batches)}", kind=kind,
                               spool_dir=spool_dir, tally=tally)
        except _Refused as exc:  # every further request would be refused alike: stop
            refused = exc
        if large and refused is None:
            _offload_large(session, case_id, large, progress, tally, kind=kind,
                           common=common, chunk_size=chunk_mb * MIB, retries=retries)
    _summary(walk, batches, large, tally)
    if refused is not None:
        raise CliError(f"{refused}\nnothing of that batch was registered (batches before it "
                       "were); fix the cause and rerun the same command") from refused
    if tally.failures:
        raise CliError(f"{len(tally.failures)} failed:\n  "
                       + "\n  ".join(tally.failures) + "\nrerun the same command to finish")


def _canonical_uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _offload_batch(sender: BatchSender, batch: list[SourceFile], label: str, *,
                   kind: str | None, spool_dir: Path | None, tally: _Tally) -> None:
    """Build, send and report one batch; a 4xx propagates as _Refused, other failures are
    recorded in ``tally``."""
    progress = sender.progress
    total = sum(f.size for f in batch)
    task = progress.add_task(f"read {label}", total=total)
    try:
        with tempfile.NamedTemporaryFile(dir=spool_dir, prefix="offload-",
                                         suffix=".tar") as tmp:
            entries = write_archive(tmp, batch, kind=kind,
                                    on_read=lambda n: progress.advance(task, n))
            tmp.flush()
            bid = batch_id(sender.case_id, entries)
            progress.update(task, description=f"send {label}")
            replayed, answer = sender.send(Path(tmp.name), bid, task, label)
    except _Refused as exc:
        raise _Refused(f"{label} refused: {exc}") from exc
    except (_ServerError, _Unreachable, OSError) as exc:
        tally.failures.append(f"{label}: {exc}")
        return
    finally:
        progress.remove_task(task)
    if answer.get("count") != len(entries):
        tally.failures.append(f"{label}: the server registered {answer.get('count')} of "
                              f"{len(entries)} files")
        return
    state = "[yellow]already registered[/yellow]" if replayed else "[green]registered[/green]"
    if replayed:
        tally.replayed += len(entries)
    else:
        tally.registered += len(entries)
    progress.console.print(f"{label}: {len(entries)} files, {_size(total)}, "
                           f"batch_id={bid} {state}")


def _offload_large(session: ApiSession, case_id: str, large: list[SourceFile],
                   progress: Progress, tally: _Tally, *, kind: str | None,
                   common: dict[str, str], chunk_size: int, retries: int) -> None:
    """Send files above --batch-max-mb one by one through tus, as ``evidence upload`` does."""
    from evidence_service.cli import resumable  # tus client loaded only when needed

    storage = resumable.LockedStorage(state_dir() / "uploads.json")
    done = _Offloaded(state_dir() / "offloaded.json")
    try:
        for f in large:
            key = _Offloaded.key(case_id, f)
            known = done.get(key)
            if known is not None:
                tally.replayed += 1
                progress.console.print(f"{f.name}: {_size(f.size)}, item={known['item_id']} "
                                       "[yellow]already registered[/yellow]")
                continue
            media_type, member_kind = file_metadata(f.name, kind)
            job = resumable.FileUpload(
                session=session, storage=storage, path=f.path, case_id=case_id,
                metadata={**common, "filetype": media_type, "kind": member_kind},
                chunk_size=chunk_size, limit_rate=None, retries=retries)
            task = progress.add_task(f.name, total=f.size)
            try:
                item = job.run(progress, task)
            except resumable.UploadErrors as exc:
                tally.failures.append(f"{f.name}: {resumable.describe(exc)}")
                continue
            finally:
                progress.remove_task(task)
            done.put(key, item)
            tally.registered += 1
            progress.console.print(f"{f.name}: {_size(f.size)}, item={item['id']} "
                                   f"sha256={item['sha256']} [green]registered[/green]")
    finally:
        storage.close()


def _summary(walk: Walk, batches: list[list[SourceFile]], large: list[SourceFile],
             tally: _Tally) -> None:
    skipped = f", {walk.skipped} skipped" if walk.skipped else ""
    console.print(f"offloaded {tally.registered + tally.replayed} of {len(walk.files)} files "
                  f"(batches: {len(batches)}, resumable: {len(large)}): "
                  f"{tally.registered} registered now, {tally.replayed} already registered"
                  f"{skipped}")


def _size(size: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", MIB), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


__all__ = ["BATCH_NAMESPACE", "BatchEntry", "BatchSender", "SourceFile", "Walk", "batch_id",
           "collect", "file_metadata", "offload", "plan_batches", "write_archive"]
