"""What one small object costs this disk as a file: create, sync, rename (as ``put_many`` of the
filesystem store writes loose objects), against one SQLite transaction (as it packs them).

Prints, per round of ``--count`` 64-byte objects in a fresh store under ``--dir``: microseconds
of wall and system time per file, and per packed object.

Usage: .venv/bin/python bench/small_files.py [--count 2000] [--rounds 3] [--dir var]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import tempfile
import time
from pathlib import Path

from evidence_service.adapters.storage import FilesystemObjectStore
from evidence_service.adapters.storage import filesystem as fs_module
from evidence_service.domain.rules import content_key


def _objects(count: int, size: int) -> list[tuple[str, bytes]]:
    blobs = [os.urandom(size) for _ in range(count)]
    return [(content_key(hashlib.sha256(b).hexdigest()), b) for b in blobs]


def _timed(call: object) -> tuple[float, float]:
    start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_stime
    call()  # type: ignore[operator]
    return (time.perf_counter() - start,
            resource.getrusage(resource.RUSAGE_SELF).ru_stime - before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path("var"))
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        store = FilesystemObjectStore(Path(d) / "objects")
        packed_max = fs_module.PACKED_MAX_BYTES
        for n in range(args.rounds):
            files, packed = _objects(args.count, 64), _objects(args.count, 64)
            fs_module.PACKED_MAX_BYTES = 0  # every object a file, as before packing
            fw, fs = _timed(lambda: store.put_many(files))  # noqa: B023
            fs_module.PACKED_MAX_BYTES = packed_max
            pw, ps = _timed(lambda: store.put_many(packed))  # noqa: B023
            print(f"round {n + 1}: as files {1e6 * fw / args.count:.0f} us/object "
                  f"(system {1e6 * fs / args.count:.0f}); packed {1e6 * pw / args.count:.1f} "
                  f"us/object (system {1e6 * ps / args.count:.1f})")


if __name__ == "__main__":
    main()
