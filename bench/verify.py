"""Public verification under load: ``GET /verify/{hash}`` at 200 concurrent clients vs /healthz.

Prints, from one run on this machine:
  * ``GET /verify/{sha256}`` latency (p50/p90/p99/max) and throughput: ``--requests``
    requests from ``--concurrency`` concurrent clients (asyncio tasks on uvloop, each with its
    own keep-alive HTTP/1.1 connection over 127.0.0.1), each request for a random one of
    ``--items`` registered and anchored items;
  * the baseline: ``GET /healthz`` (no database, the framework's floor) under the same load
    from the same client, and the ratio p99(verify) / p99(healthz);
  * the CPU seconds the service and this load generator used in each phase (both share the
    machine's cores).

Each phase follows a warm-up of ``--warmup`` requests. A phase stops early after
``--max-seconds``; every response must be 200 and every verdict ``verified``.

When ``wrk`` (Debian package ``wrk``, a C load generator) is on PATH, both phases are then
run again from it for ``--wrk-seconds`` each (one thread, ``--concurrency`` connections,
``bench/wrk_verify.lua`` picks a random item per request and checks every body), so the
figures do not depend on this script's own client.

``--workers N`` runs ``evidence serve --workers N`` (N API processes on one port); the CPU
figures then add up all of them.

Usage: .venv/bin/python bench/verify.py [--items 200] [--requests 20000] [--concurrency 200]
       [--workers 1] [--wrk-seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import uvloop
from live_service import api_pids, cpu_seconds, free_port, login, start_server

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD_BYTES = 64


def register_items(base: str, token: str, case_id: str, count: int) -> list[str]:
    """Register ``count`` small files through tus (POST, one PATCH); returns their SHA-256."""
    auth = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    local = threading.local()

    def one(n: int) -> str:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        s: requests.Session = local.session
        payload = (n.to_bytes(8, "big") + os.urandom(PAYLOAD_BYTES))[:PAYLOAD_BYTES]
        sha256 = hashlib.sha256(payload).hexdigest()
        meta = {"case_id": case_id, "filename": f"note-{n}.txt", "kind": "documentary",
                "sha256": sha256}
        header = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}"
                          for k, v in meta.items())
        r = s.post(f"{base}/uploads", timeout=60, headers={
            **auth, "Upload-Length": str(len(payload)), "Upload-Metadata": header})
        r.raise_for_status()
        r = s.patch(base + r.headers["Location"], data=payload, timeout=60, headers={
            **auth, "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"})
        if r.status_code != 204 or r.headers.get("Evidence-Sha256") != sha256:
            raise SystemExit(f"PATCH: {r.status_code} {r.text[:300]}")
        return sha256

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


def wait_anchored(base: str, size: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        head = requests.get(f"{base}/log/head", timeout=10).json()
        if head["anchored"] and head["anchored"]["tree_size"] >= size:
            return
        time.sleep(0.1)
    raise SystemExit(f"log not anchored to size {size} within {timeout}s")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Phase:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0


class Connection:
    """One keep-alive HTTP/1.1 connection: a minimal client, so the load generator stays cheap.

    (``httpx.AsyncClient`` with 200 connections cost this process about 4 ms of CPU per
    request, more than the service spends answering /healthz: it measured itself.)
    """

    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def get(self, path: str, headers: str = "") -> tuple[int, bytes]:
        """``headers``: extra header lines, each ending in CRLF."""
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        assert self._reader is not None
        self._writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {self._host}\r\n{headers}\r\n".encode())
        head = await self._reader.readuntil(b"\r\n\r\n")
        status, length, close = int(head[9:12]), 0, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
            elif name.lower() == b"connection" and value.strip().lower() == b"close":
                close = True
        body = await self._reader.readexactly(length)
        if close:
            await self.close()
        return status, body

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer, self._reader = None, None


async def load(conns: list[Connection], paths: list[str], *, count: int, max_seconds: float,
               expect: bytes, server_pids: list[int], headers: str = "") -> Phase:
    """``count`` GETs of random ``paths`` over ``conns`` (one client each); latencies."""
    phase = Phase()
    remaining = count
    deadline = time.perf_counter() + max_seconds

    async def worker(conn: Connection) -> None:
        nonlocal remaining
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            path = random.choice(paths)
            start = time.perf_counter()
            try:
                status, body = await conn.get(path, headers)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                phase.errors.append(f"{type(exc).__name__}: {exc}")
                await conn.close()
                continue
            phase.latencies.append(time.perf_counter() - start)
            if status != 200 or expect not in body:
                phase.errors.append(f"{status} {body[:200]!r}")

    cpu0, own0, start = cpu_seconds(server_pids), own_cpu_seconds(), time.perf_counter()
    await asyncio.gather(*(worker(conn) for conn in conns))
    phase.seconds = time.perf_counter() - start
    phase.server_cpu = cpu_seconds(server_pids) - cpu0
    phase.client_cpu = own_cpu_seconds() - own0
    return phase


def summary(phase: Phase) -> dict[str, Any]:
    lat = sorted(phase.latencies)

    def pct(q: float) -> float:  # nearest rank
        return round(lat[min(len(lat) - 1, max(0, int(q * len(lat) + 0.5) - 1))] * 1e3, 2)

    return {"requests": len(lat), "errors": len(phase.errors),
            "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99),
            "max_ms": round(lat[-1] * 1e3, 2), "requests_per_s": round(len(lat) / phase.seconds),
            "seconds": round(phase.seconds, 2),
            "server_cpu_ms_per_request": round(phase.server_cpu / len(lat) * 1e3, 3),
            "client_cpu_ms_per_request": round(phase.client_cpu / len(lat) * 1e3, 3)}


def phase_paths(digests: list[str]) -> dict[str, tuple[list[str], bytes]]:
    return {"healthz": (["/healthz"], b'"status":"ok"'),
            "verify": ([f"/verify/{d}" for d in digests], b'"verdict":"verified"')}


async def run_phases(port: int, digests: list[str], args: argparse.Namespace,
                     server_pids: list[int]) -> dict[str, Phase]:
    conns = [Connection("127.0.0.1", port) for _ in range(args.concurrency)]
    phases = phase_paths(digests)
    results: dict[str, Phase] = {}
    try:
        for name, (paths, expect) in phases.items():
            common = {"max_seconds": args.max_seconds, "expect": expect,
                      "server_pids": server_pids}
            warm = await load(conns, paths, count=args.warmup, **common)
            if warm.errors:
                raise SystemExit(f"{name} warm-up failed: {warm.errors[:3]}")
            results[name] = await load(conns, paths, count=args.requests, **common)
    finally:
        for conn in conns:
            await conn.close()
    return results


def run_wrk(port: int, digests: list[str], args: argparse.Namespace, server_pids: list[int],
            work: Path) -> dict[str, dict[str, Any]]:
    """Both phases again from ``wrk`` (closed loop, ``--concurrency`` connections)."""
    results = {}
    for name, (paths, expect) in phase_paths(digests).items():
        listing = work / f"{name}.paths"
        listing.write_text("\n".join(paths) + "\n")
        env = {**os.environ, "WRK_PATHS": str(listing), "WRK_EXPECT": expect.decode()}
        command = ["wrk", "-t1", f"-c{args.concurrency}", f"-d{args.wrk_seconds}s",
                   "--timeout", "10s", "-s", str(ROOT / "bench" / "wrk_verify.lua"),
                   f"http://127.0.0.1:{port}"]
        cpu0 = cpu_seconds(server_pids)
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        server_cpu = cpu_seconds(server_pids) - cpu0
        line = next(x for x in done.stdout.splitlines() if x.startswith("WRK_JSON "))
        raw = json.loads(line.removeprefix("WRK_JSON "))
        count, seconds = raw["requests"], raw["duration_us"] / 1e6
        results[name] = {
            "requests": count,
            "errors": raw["socket_errors"] + raw["status_errors"] + raw["wrong_bodies"],
            **{f"{q}_ms": round(raw[f"{q}_us"] / 1e3, 2) for q in ("p50", "p90", "p99", "max")},
            "requests_per_s": round(count / seconds), "seconds": round(seconds, 2),
            "server_cpu_ms_per_request": round(server_cpu / max(count, 1) * 1e3, 3)}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument("--max-seconds", type=float, default=300, help="cap for each phase")
    parser.add_argument("--interval", type=float, default=2.0, help="EVIDENCE_ANCHOR_INTERVAL")
    parser.add_argument("--workers", type=int, default=1, help="evidence serve --workers")
    parser.add_argument("--wrk-seconds", type=int, default=10,
                        help="seconds per wrk phase (0: skip wrk; skipped when not installed)")
    args = parser.parse_args()
    use_wrk = args.wrk_seconds > 0 and shutil.which("wrk") is not None
    with tempfile.TemporaryDirectory(dir=ROOT / "var" if (ROOT / "var").exists() else None) as d:
        var = Path(d) / "var"
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(var, port, free_port(), args.interval, workers=args.workers)
        wrk: dict[str, dict[str, Any]] = {}
        try:
            token = login(base, var, "enf-officer")
            r = requests.post(f"{base}/cases", timeout=10, headers={
                "Authorization": f"Bearer {token}"},
                json={"case_number": "BENCH-VERIFY", "title": "bench"})
            r.raise_for_status()
            digests = register_items(base, token, r.json()["id"], args.items)
            wait_anchored(base, args.items, 120)
            pids = api_pids(server.pid)
            phases = uvloop.run(run_phases(port, digests, args, pids))
            if use_wrk:
                wrk = run_wrk(port, digests, args, pids, Path(d))
        finally:
            server.terminate()
            server.wait(30)
    verify, healthz = summary(phases["verify"]), summary(phases["healthz"])
    for name, phase in phases.items():
        if phase.errors:
            print(f"{name}: {len(phase.errors)} errors, first: {phase.errors[:3]}",
                  file=sys.stderr)
    report: dict[str, Any] = {
        "items": args.items,
        "concurrency": args.concurrency,
        "api_processes": args.workers,
        "loadavg_after": Path("/proc/loadavg").read_text().split()[:3],
        "warmup_requests": args.warmup,
        "verify": verify,
        "healthz_baseline": healthz,
        "ratio_p99_verify_vs_healthz": round(verify["p99_ms"] / healthz["p99_ms"], 2),
        "ratio_throughput_verify_vs_healthz": round(
            verify["requests_per_s"] / healthz["requests_per_s"], 2),
    }
    if wrk:
        report["wrk"] = {"verify": wrk["verify"], "healthz_baseline": wrk["healthz"],
                         "ratio_p99_verify_vs_healthz": round(
                             wrk["verify"]["p99_ms"] / wrk["healthz"]["p99_ms"], 2)}
    print(json.dumps(report, indent=2))
    if any(r["errors"] for r in wrk.values()):
        raise SystemExit(f"wrk saw errors: {wrk}")


if __name__ == "__main__":
    main()
