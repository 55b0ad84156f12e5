"""Ingest throughput and memory: a large file through the API on loopback vs ``sha256sum``.

Prints, from one run on this machine:
  * sha256sum of the file (the baseline), in MB/s;
  * the API ingest (tus PATCH streaming from disk over 127.0.0.1) in MB/s, and the ratio;
  * the service's peak RSS (VmHWM) during the run;
  * what SM3 costs: DualHasher throughput with and without SM3 on the same bytes;
  * a second baseline, the disk: the same number of bytes written to a new file in the
    service's directory with an ``fdatasync`` every 16 MiB, as the service checkpoints its
    spool (median of three). A durable ingest cannot beat it, whatever the CPU.

Baseline and API figures are medians (three sha256sum runs, ``--runs`` uploads; the same
bytes uploaded again still stream through the whole ingest path, only the final link is
skipped because the content address exists).

Usage: .venv/bin/python bench/ingest.py [--size-mb 2048] [--chunk-mb 256] [--runs 3]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from evidence_service.domain.hashing import DualHasher

ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20


def make_file(path: Path, size: int) -> None:
    block = os.urandom(16 * MIB)
    with path.open("wb") as fh:
        written = 0
        while written < size:
            n = min(len(block), size - written)
            fh.write(block[:n] if n < len(block) else block)
            written += n
            block = hashlib.sha512(block[:64]).digest() + block[64:]  # vary the content


def durable_write(path: Path, size: int) -> None:
    """Write ``size`` bytes to a new file, ``fdatasync`` every 16 MiB and at the end."""
    block = os.urandom(4 * MIB)
    with path.open("wb", buffering=0) as fh:
        written, synced = 0, 0
        while written < size:
            written += fh.write(block[:min(len(block), size - written)])
            if written - synced >= 16 * MIB:
                os.fdatasync(fh.fileno())
                synced = written
        os.fdatasync(fh.fileno())
    path.unlink()


def timed(fn, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def sha256sum(path: Path) -> str:
    out = subprocess.run(["sha256sum", str(path)], check=True, capture_output=True, text=True)
    return out.stdout.split()[0]


def start_server(var: Path, port: int) -> subprocess.Popen[bytes]:
    # video analysis is measured on its own (bench/video.py): the uploaded file is random
    # bytes declared as video, and its (failing) analysis would load OpenCV into the process
    env = {**os.environ, "EVIDENCE_VAR_DIR": str(var), "EVIDENCE_LOG_LEVEL": "WARNING",
           "EVIDENCE_ANALYSIS__ENABLED": "false"}
    evidence = str(Path(sys.executable).with_name("evidence"))
    proc = subprocess.Popen([evidence, "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit("service did not start")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def upload(port: int, token: str, case_id: str, path: Path, chunk: int) -> dict[str, str]:
    size = path.stat().st_size
    meta = {"case_id": case_id, "filename": path.name, "kind": "audio_visual",
            "filetype": "video/mp4"}
    header = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items())
    auth = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    r = requests.post(f"http://127.0.0.1:{port}/uploads", timeout=30, headers={
        **auth, "Upload-Length": str(size), "Upload-Metadata": header})
    r.raise_for_status()
    location = r.headers["Location"]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    offset, headers = 0, {}
    with path.open("rb") as fh:
        while offset < size:
            n = min(chunk, size - offset)
            fh.seek(offset)
            conn.putrequest("PATCH", location)
            for k, v in {**auth, "Content-Type": "application/offset+octet-stream",
                         "Upload-Offset": str(offset), "Content-Length": str(n)}.items():
                conn.putheader(k, v)
            conn.endheaders()
            remaining = n
            while remaining:
                block = fh.read(min(4 * MIB, remaining))
                conn.send(block)
                remaining -= len(block)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 204:
                raise SystemExit(f"PATCH failed: {resp.status}")
            headers = {k.lower(): v for k, v in resp.getheaders()}
            offset = int(headers["upload-offset"])
    return headers


def hasher_rate(path: Path, with_sm3: bool) -> float:
    hasher = DualHasher(with_sm3=with_sm3)
    start = time.perf_counter()
    with path.open("rb") as fh:
        while block := fh.read(MIB):
            hasher.update(block)
    return path.stat().st_size / (time.perf_counter() - start) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=2048)
    parser.add_argument("--chunk-mb", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3, help="API uploads; the median is kept")
    args = parser.parse_args()
    size = args.size_mb * MIB
    with tempfile.TemporaryDirectory(dir=ROOT / "var" if (ROOT / "var").exists() else None) as d:
        work = Path(d)
        path = work / "shift.mp4"
        make_file(path, size)
        sha256sum(path)  # warm the page cache so both sides read from memory
        base_runs = [timed(sha256sum, path) for _ in range(3)]
        t_base, expected = sorted(base_runs)[1]  # median of three
        disk_runs = sorted(timed(durable_write, work / "disk.bin", size)[0] for _ in range(3))
        t_disk = disk_runs[1]
        port = 18000 + os.getpid() % 1000
        server = start_server(work / "var", port)
        try:
            creds = dict(line.split("\t")[:2] for line in
                         (work / "var" / "demo-credentials.txt").read_text().splitlines()[1:])
            token = requests.post(f"http://127.0.0.1:{port}/auth/login", timeout=10, json={
                "username": "enf-officer", "password": creds["enf-officer"]}).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            case_id = requests.post(f"http://127.0.0.1:{port}/cases", headers=auth, timeout=10,
                                    json={"case_number": "BENCH-1", "title": "bench"}).json()["id"]
            api_runs = [timed(upload, port, token, case_id, path, args.chunk_mb * MIB)
                        for _ in range(args.runs)]
            t_api, headers = sorted(api_runs, key=lambda run: run[0])[len(api_runs) // 2]
            rss = peak_rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(30)
        assert headers.get("evidence-sha256") == expected, "service hash differs from sha256sum"
        sha_only, dual = hasher_rate(path, False), hasher_rate(path, True)
    mb = size / 1e6
    report = {
        "size_mb": args.size_mb,
        "api_runs_s": [round(t, 2) for t, _ in api_runs],
        "sha256sum_mb_s": round(mb / t_base, 1),
        "api_ingest_mb_s": round(mb / t_api, 1),
        "ratio_api_vs_sha256sum": round(t_base / t_api, 2),
        "disk_durable_write_mb_s": round(mb / t_disk, 1),
        "ratio_api_vs_disk": round(t_disk / t_api, 2),
        "service_peak_rss_mb": round(rss, 1),
        "hasher_sha256_only_mb_s": round(sha_only, 1),
        "hasher_sha256_plus_sm3_mb_s": round(dual, 1),
        "sm3_cost_pct": round(100 * (1 - dual / sha_only), 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
