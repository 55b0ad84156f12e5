"""Load: public verification, 20 concurrent 200 MB tus uploads, custody timeline reads.

One run against ``evidence serve`` on embedded defaults (SQLite, filesystem store, embedded
anvil), in three phases:

1. ``GET /verify/{sha256}`` from ``--concurrency`` concurrent clients (the minimal asyncio
   client of ``bench/verify.py``), with ``GET /healthz`` under the same load as baseline;
   every answer must be 200 and ``verified``.
2. Custody timeline reads, idle: ``GET /items/{id}/custody`` (authenticated) from
   ``--readers`` concurrent clients for ``--read-seconds``: the baseline of phase 3.
3. ``--uploads`` concurrent uploads of ``--size-mb`` each through the real tus API (tuspy,
   ``--chunk-mb`` PATCH requests, the SHA-256 declared up front so the service checks every
   byte), while the same timeline reads run until the last upload ends. Reports the upload
   throughput (all bytes / wall time), each upload's rate, the error count (target 0) and the
   timeline latency percentiles during ingest against phase 2.

Upload bodies are generated on the fly (a random 1 MiB block, stamped with the file and block
number so every file and block differs); nothing is written on the client side, and the
service's ``var`` directory is removed at the end.

Usage: .venv/bin/python bench/load.py [--uploads 20] [--size-mb 200] [--concurrency 200]
       [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import random
import struct
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
import uvloop
from live_service import api_pids, cpu_seconds, free_port, login, start_server
from tusclient.client import TusClient
from verify import Connection, Phase, load, register_items, run_phases, summary, wait_anchored

ROOT = Path(__file__).resolve().parent.parent
_BLOCK = 1 << 20


class SyntheticFile(io.RawIOBase):
    """A seekable, read-only file of ``size`` bytes that exists only as it is read.

    Block ``i`` of file ``n`` is one random 1 MiB block with its first 16 bytes replaced by
    ``(n, i)``, so no two files or blocks are alike and the service cannot deduplicate them.
    """

    def __init__(self, template: bytes, number: int, size: int) -> None:
        self._template, self._number, self._size, self._pos = template, number, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        end = self._size if size is None or size < 0 else min(self._size, self._pos + size)
        out = bytearray()
        while self._pos < end:
            block, within = divmod(self._pos, _BLOCK)
            data = struct.pack(">QQ", self._number, block) + self._template[16:]
            piece = data[within:within + end - self._pos]
            out += piece
            self._pos += len(piece)
        return bytes(out)

    def sha256(self) -> str:
        digest, self._pos = hashlib.sha256(), 0
        while chunk := self.read(8 << 20):
            digest.update(chunk)
        self._pos = 0
        return digest.hexdigest()


class TimelineReads:
    """Closed-loop ``GET /items/{id}/custody`` readers on their own event loop thread."""

    def __init__(self, port: int, token: str, item_ids: list[str], readers: int,
                 server_pids: list[int]) -> None:
        self._port, self._readers, self._pids = port, readers, server_pids
        self._paths = [f"/items/{i}/custody" for i in item_ids]
        self._headers = f"Authorization: Bearer {token}\r\n"

    def run(self, *, seconds: float | None = None,
            until: threading.Event | None = None) -> Phase:
        return uvloop.run(self._run(seconds, until))

    async def _run(self, seconds: float | None, until: threading.Event | None) -> Phase:
        conns = [Connection("127.0.0.1", self._port) for _ in range(self._readers)]
        stop = asyncio.Event()

        async def stopper() -> None:
            if seconds is not None:
                await asyncio.sleep(seconds)
            else:
                assert until is not None
                while not until.is_set():
                    await asyncio.sleep(0.05)
            stop.set()

        async def rounds() -> Phase:  # short rounds until told to stop, merged
            merged = Phase()
            while not stop.is_set():
                part = await load(conns, self._paths, count=self._readers * 5, max_seconds=30,
                                  expect=b'"kind":"uploaded"', server_pids=self._pids,
                                  headers=self._headers)
                merged.latencies += part.latencies
                merged.errors += part.errors
            return merged

        cpu0, start = cpu_seconds(self._pids), time.perf_counter()
        task = asyncio.ensure_future(stopper())
        phase = await rounds()
        await task
        phase.seconds = time.perf_counter() - start
        phase.server_cpu = cpu_seconds(self._pids) - cpu0
        for conn in conns:
            await conn.close()
        return phase


def upload_all(base: str, token: str, case_id: str, args: argparse.Namespace
               ) -> dict[str, Any]:
    """``--uploads`` concurrent tus uploads of ``--size-mb`` each; throughput and errors."""
    template = random.randbytes(_BLOCK)
    size = args.size_mb << 20
    files = [SyntheticFile(template, n, size) for n in range(args.uploads)]
    with ThreadPoolExecutor(min(len(files), 4)) as pool:  # declared up front: checked
        digests = list(pool.map(SyntheticFile.sha256, files))
    results: list[dict[str, Any]] = []

    def one(n: int) -> dict[str, Any]:
        client = TusClient(f"{base}/uploads", headers={"Authorization": f"Bearer {token}"})
        uploader = client.uploader(
            file_stream=files[n], chunk_size=args.chunk_mb << 20, retries=0,
            metadata={"case_id": case_id, "filename": f"load-{n}.bin", "kind": "electronic_data",
                      "sha256": digests[n]})
        start = time.perf_counter()
        try:
            uploader.upload()
            response = uploader.request.response_headers if uploader.request else {}
            stored = {k.lower(): v for k, v in response.items()}.get("evidence-sha256")
            error = None if stored == digests[n] else f"stored sha256 {stored!r}"
        except Exception as exc:  # every failure counts as an error of this run
            error = f"{type(exc).__name__}: {exc}"
        return {"seconds": time.perf_counter() - start, "error": error}

    start = time.perf_counter()
    with ThreadPoolExecutor(args.uploads) as pool:
        results = list(pool.map(one, range(args.uploads)))
    wall = time.perf_counter() - start
    errors = [r["error"] for r in results if r["error"]]
    rates = sorted(size / r["seconds"] / 1e6 for r in results)
    return {"uploads": args.uploads, "size_mb": args.size_mb, "chunk_mb": args.chunk_mb,
            "errors": len(errors), "first_errors": errors[:3],
            "wall_seconds": round(wall, 2),
            "throughput_mb_per_s": round(size * (len(results) - len(errors)) / wall / 1e6, 1),
            "per_upload_mb_per_s": {"min": round(rates[0], 1),
                                    "median": round(rates[len(rates) // 2], 1),
                                    "max": round(rates[-1], 1)}}


def item_ids(base: str, token: str, case_id: str, count: int) -> list[str]:
    r = requests.get(f"{base}/cases/{case_id}/items", timeout=30,
                     headers={"Authorization": f"Bearer {token}"})
    r.raise_for_status()
    body = r.json()
    rows = body["items"] if isinstance(body, dict) else body
    return [row["id"] for row in rows][:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200, help="small items to verify/read")
    parser.add_argument("--requests", type=int, default=20_000, help="verify requests")
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--chunk-mb", type=int, default=8, help="tus PATCH size")
    parser.add_argument("--readers", type=int, default=20, help="concurrent timeline readers")
    parser.add_argument("--read-seconds", type=float, default=10, help="idle baseline length")
    parser.add_argument("--workers", type=int, default=1, help="evidence serve --workers")
    parser.add_argument("--interval", type=float, default=2.0, help="EVIDENCE_ANCHOR_INTERVAL")
    parser.add_argument("--max-seconds", type=float, default=300, help="cap per verify phase")
    args = parser.parse_args()
    report: dict[str, Any] = {"api_processes": args.workers}
    with tempfile.TemporaryDirectory(dir=ROOT / "var" if (ROOT / "var").exists() else None) as d:
        var = Path(d) / "var"
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(var, port, free_port(), args.interval, workers=args.workers)
        try:
            pids = api_pids(server.pid)
            token = login(base, var, "enf-officer")
            r = requests.post(f"{base}/cases", timeout=10, headers={
                "Authorization": f"Bearer {token}"},
                json={"case_number": "BENCH-LOAD", "title": "bench"})
            r.raise_for_status()
            case_id = r.json()["id"]
            digests = register_items(base, token, case_id, args.items)
            wait_anchored(base, args.items, 120)
            ids = item_ids(base, token, case_id, args.items)

            phases = uvloop.run(run_phases(port, digests, args, pids))
            report["verify"] = summary(phases["verify"])
            report["verify_healthz_baseline"] = summary(phases["healthz"])

            reads = TimelineReads(port, token, ids, args.readers, pids)
            idle = reads.run(seconds=args.read_seconds)
            done = threading.Event()
            busy: list[Phase] = []
            reader = threading.Thread(target=lambda: busy.append(reads.run(until=done)))
            reader.start()
            try:
                cpu0 = cpu_seconds(pids)
                report["uploads"] = upload_all(base, token, case_id, args)
                report["uploads"]["server_cpu_seconds"] = round(cpu_seconds(pids) - cpu0, 1)
            finally:
                done.set()
                reader.join()
            report["timeline_idle"] = summary(idle)
            report["timeline_during_ingest"] = summary(busy[0])
            for name in ("timeline_idle", "timeline_during_ingest"):  # shared with uploads:
                report[name].pop("client_cpu_ms_per_request")  # not measured per phase
            report["timeline_during_ingest"].pop("server_cpu_ms_per_request")  # see uploads
            report["timeline_p99_ratio_ingest_vs_idle"] = round(
                report["timeline_during_ingest"]["p99_ms"] / report["timeline_idle"]["p99_ms"], 2)
            errors = {"verify": phases["verify"].errors, "healthz": phases["healthz"].errors,
                      "timeline_idle": idle.errors, "timeline_during_ingest": busy[0].errors}
        finally:
            server.terminate()
            server.wait(60)
    report["loadavg_after"] = Path("/proc/loadavg").read_text().split()[:3]
    print(json.dumps(report, indent=2))
    for name, found in errors.items():
        if found:
            print(f"{name}: {len(found)} errors, first: {found[:3]}", file=sys.stderr)
    if report["uploads"]["errors"] or any(errors.values()):
        raise SystemExit("errors in this run (see above)")


if __name__ == "__main__":
    main()
