"""The verification portal's in-browser hashing: throughput and renderer memory.

A court hashes the file in its own browser (hash-wasm SHA-256 and SM3, streamed in 8 MiB
slices); this measures that path in headless Chromium against the same file hashed here by
the service's own ``DualHasher`` (the baseline, same machine, same run), and samples the
browser's total RSS while it hashes, to show memory stays flat however large the file.

Prints: baseline MB/s, browser MB/s and their ratio, and the browser's peak RSS growth.

Usage: .venv/bin/python bench/web_hash.py [--size-mb 1024]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from evidence_service.domain.hashing import DualHasher

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.support.live import LiveServer  # noqa: E402

MIB = 1 << 20
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def make_file(path: Path, size: int) -> None:
    block = os.urandom(16 * MIB)
    with path.open("wb") as fh:
        for _ in range(size // len(block)):
            fh.write(block)
        fh.write(block[: size % len(block)])


def baseline(path: Path) -> tuple[float, str, str]:
    hasher = DualHasher()
    started = time.perf_counter()
    with path.open("rb") as fh:
        while chunk := fh.read(8 * MIB):
            hasher.update(chunk)
    return time.perf_counter() - started, hasher.sha256().value, hasher.sm3().value


def tree_rss(pid: int) -> int:
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="web-hash-") as tmp:
        work = Path(tmp)
        path = work / "evidence.bin"
        make_file(path, args.size_mb * MIB)
        size = path.stat().st_size
        base_s, sha256, sm3 = baseline(path)
        server = LiveServer(var_dir=work / "var", env={"EVIDENCE_LEDGER__MODE": "off",
                                                       "EVIDENCE_ANALYSIS__ENABLED": "false"})
        server.start()
        try:
            with sync_playwright() as driver:
                context = driver.chromium.launch_persistent_context(
                    str(work / "profile"), executable_path=args.chromium, headless=True,
                    args=FLAGS)
                page = context.new_page()
                page.goto(server.url + "/ui/verify")
                browser_pid = _browser_pid(context)
                idle = tree_rss(browser_pid)
                peak = [idle]
                done = threading.Event()

                def sample() -> None:
                    while not done.is_set():
                        peak[0] = max(peak[0], tree_rss(browser_pid))
                        time.sleep(0.1)

                sampler = threading.Thread(target=sample, daemon=True)
                sampler.start()
                started = time.perf_counter()
                page.set_input_files("#file", str(path))
                page.wait_for_selector("#result[data-verdict]", timeout=600_000)
                browser_s = time.perf_counter() - started
                done.set()
                sampler.join()
                assert page.text_content("#sha256") == sha256
                assert page.text_content("#sm3") == sm3
                context.close()
        finally:
            server.stop()
    mb = size / 1e6
    print(f"file: {size / MIB:.0f} MiB (random bytes)")
    print(f"baseline DualHasher (SHA-256 + SM3, this process): {mb / base_s:.0f} MB/s")
    print(f"browser hash-wasm (SHA-256 + SM3, 8 MiB slices, incl. file read and the "
          f"/verify lookup): {mb / browser_s:.0f} MB/s  ratio {base_s / browser_s:.2f}")
    print(f"browser RSS (all chromium processes): idle {idle / MIB:.0f} MiB, peak "
          f"{peak[0] / MIB:.0f} MiB (+{(peak[0] - idle) / MIB:.0f} MiB for a "
          f"{size / MIB:.0f} MiB file)")


def _browser_pid(_context: object) -> int:
    """The chromium browser process playwright started (the oldest chromium descendant;
    renderers and utilities are its children, counted by :func:`tree_rss`)."""
    children = [p for p in psutil.Process().children(recursive=True)
                if "chrom" in p.name().lower()]
    return min(children, key=lambda p: p.create_time()).pid if children else os.getpid()


if __name__ == "__main__":
    main()
