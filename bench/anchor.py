"""Anchoring throughput: registrations anchored per second end to end vs one transaction per hash.

Prints, from one run on this machine:
  * end to end: ``--items`` small files (64 bytes each) registered through the real tus API
    (POST /uploads, then one PATCH; ``--threads`` clients) by ``evidence serve`` with its
    embedded anvil, timed from the first upload until ``GET /log/head`` shows an anchored
    head covering all of them -> anchored registrations per second;
  * the baseline: ``--baseline-tx`` ``anchor(treeSize, root)`` transactions sent one after
    another, each waited for, signed by the same anchoring account: one transaction per
    hash, the naive design -> transactions per second; and the ratio of the two;
  * the proof of a sample item: JSON size of ``GET /evidence/{id}/proof`` and its inclusion
    path length, and the offline verification time of that bundle (median of ``--verify-runs``
    ``evidence_verify.verify_bundle`` calls, no file, no RPC) and of the inclusion proof alone.

With ``--batch-size N`` the files go ``N`` at a time through ``POST /cases/{id}/batches`` (a
tar archive per request, as a recorder docking station offloads a shift), ``--threads``
batches in flight, each file's SHA-256 declared; everything else is the same. The archives
are built before the clock starts: a station packs them on its own CPU, and here the client
shares the service's two cores.

The baseline runs after the service has stopped (the embedded anvil is the service's child
and dies with it), on an anvil this script starts with the same binary and the same settings
as the embedded one: automine (one block per transaction), dev mnemonic, chain 31337, state
dumped to a file every 2 s. The registry is deployed on it exactly as the service deploys it.

Usage: .venv/bin/python bench/anchor.py [--items 2000] [--baseline-tx 300] [--threads 8]
       [--workers 1] [--batch-size 0]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import statistics
import tarfile
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from live_service import free_port, login, start_server
from web3 import Web3

import evidence_verify
import ledger_node
from contracts import load_artifact

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD_BYTES = 64


class Registrar:
    """Registers small files through tus: POST /uploads, then one PATCH with every byte."""

    def __init__(self, base: str, token: str, case_id: str) -> None:
        self._base, self._case = base, case_id
        self._auth = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
        self._local = threading.local()

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session  # type: ignore[no-any-return]

    def register(self, n: int) -> str:
        payload = (n.to_bytes(8, "big") + os.urandom(PAYLOAD_BYTES))[:PAYLOAD_BYTES]
        meta = {"case_id": self._case, "filename": f"note-{n}.txt", "kind": "documentary",
                "filetype": "text/plain", "sha256": hashlib.sha256(payload).hexdigest()}
        header = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}"
                          for k, v in meta.items())
        s = self._session()
        r = s.post(f"{self._base}/uploads", timeout=60, headers={
            **self._auth, "Upload-Length": str(len(payload)), "Upload-Metadata": header})
        if r.status_code != 201:
            raise SystemExit(f"POST /uploads: {r.status_code} {r.text[:300]}")
        r = s.patch(self._base + r.headers["Location"], data=payload, timeout=60, headers={
            **self._auth, "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": "0"})
        if r.status_code != 204 or r.headers.get("Evidence-Upload-Status") != "completed":
            raise SystemExit(f"PATCH: {r.status_code} {r.headers} {r.text[:300]}")
        return r.headers["Evidence-Item-Id"]


class BatchRegistrar(Registrar):
    """Registers files ``batch_size`` at a time: one tar archive per ``POST /cases/{id}/batches``
    (what a docking station sends), each file with its SHA-256 declared in a pax header."""

    def __init__(self, base: str, token: str, case_id: str, batch_size: int) -> None:
        super().__init__(base, token, case_id)
        self.batch_size = batch_size
        self._defaults = "kind " + base64.b64encode(b"documentary").decode() + \
            ",filetype " + base64.b64encode(b"text/plain").decode()

    def archive(self, b: int) -> bytes:
        """Batch ``b``'s tar archive (built before the clock starts: a docking station packs
        its files on its own CPU, not the service's)."""
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for n in range(b * self.batch_size, (b + 1) * self.batch_size):
                payload = (n.to_bytes(8, "big") + os.urandom(PAYLOAD_BYTES))[:PAYLOAD_BYTES]
                info = tarfile.TarInfo(f"DCIM/note-{n}.txt")
                info.size = len(payload)
                info.pax_headers = {"EVIDENCE.sha256": hashlib.sha256(payload).hexdigest()}
                tar.addfile(info, io.BytesIO(payload))
        return out.getvalue()

    def register_batch(self, archive: bytes) -> list[str]:
        r = self._session().post(
            f"{self._base}/cases/{self._case}/batches", data=archive, timeout=300,
            headers={"Authorization": self._auth["Authorization"],
                     "Content-Type": "application/x-tar", "Batch-Id": str(uuid.uuid4()),
                     "Batch-Metadata": self._defaults})
        if r.status_code != 201:
            raise SystemExit(f"POST batches: {r.status_code} {r.text[:300]}")
        return [item["id"] for item in r.json()["items"]]


def wait_anchored(base: str, size: int, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    with requests.Session() as s:
        while time.monotonic() < deadline:
            head = s.get(f"{base}/log/head", timeout=10).json()
            if head["anchored"] and head["anchored"]["tree_size"] >= size:
                return head  # type: ignore[no-any-return]
            time.sleep(0.05)
    raise SystemExit(f"log not anchored to size {size} within {timeout}s")


def anchor_events(rpc_url: str, contract: str) -> list[Any]:
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 10}))
    registry = ledger_node.registry_contract(w3, contract)
    return list(registry.events.Anchored().get_logs(from_block=0, to_block="latest"))


def baseline(count: int, first_size: int, state_dir: Path) -> tuple[float, str]:
    """Seconds for ``count`` sequential anchor transactions on a fresh anvil; its binary."""
    config = ledger_node.NodeConfig.throwaway(state_dir=state_dir)
    node = ledger_node.AnvilNode(config)
    node.start()
    try:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 10}))
        deployer = ledger_node.dev_account(ledger_node.DEV_MNEMONIC, index=0)
        signer = ledger_node.dev_account(ledger_node.DEV_MNEMONIC, index=1)
        record = ledger_node.deploy_registry(w3, deployer=deployer, anchorer=signer.address)
        contract = w3.eth.contract(address=Web3.to_checksum_address(record.address),
                                   abi=load_artifact().abi)
        start = time.perf_counter()
        for i in range(count):
            root = hashlib.sha256(f"baseline-{i}".encode()).digest()
            tx = contract.functions.anchor(first_size + i, root).build_transaction({
                "from": signer.address,
                "nonce": w3.eth.get_transaction_count(signer.address, "pending")})
            tx_hash = w3.eth.send_raw_transaction(signer.sign_transaction(tx).raw_transaction)
            receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
            if receipt["status"] != 1:
                raise SystemExit(f"baseline anchor {first_size + i} reverted")
        return time.perf_counter() - start, str(config.binary or ledger_node.find_anvil_binary())
    finally:
        node.stop()


def median_seconds(fn: Any, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--baseline-tx", type=int, default=300)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--interval", type=float, default=2.0, help="EVIDENCE_ANCHOR_INTERVAL")
    parser.add_argument("--verify-runs", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=600, help="give up after (seconds)")
    parser.add_argument("--workers", type=int, default=1, help="evidence serve --workers")
    parser.add_argument("--batch-size", type=int, default=0,
                        help="register files this many at a time through POST "
                             "/cases/{id}/batches (0: one tus upload per file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=ROOT / "var" if (ROOT / "var").exists() else None) as d:
        work = Path(d)
        var = work / "var"
        port, ledger_port = free_port(), free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(var, port, ledger_port, args.interval, workers=args.workers)
        try:
            token = login(base, var, "enf-officer")
            auth = {"Authorization": f"Bearer {token}"}
            r = requests.post(f"{base}/cases", headers=auth, timeout=10,
                              json={"case_number": "BENCH-ANCHOR", "title": "bench"})
            r.raise_for_status()
            case_id = r.json()["id"]
            if args.batch_size:
                batcher = BatchRegistrar(base, token, case_id, args.batch_size)
                archives = [batcher.archive(b) for b in range(-(-args.items // args.batch_size))]
            start = time.perf_counter()
            with ThreadPoolExecutor(args.threads) as pool:
                if args.batch_size:
                    item_ids = [i for ids in pool.map(batcher.register_batch, archives)
                                for i in ids]
                else:
                    registrar = Registrar(base, token, case_id)
                    item_ids = list(pool.map(registrar.register, range(args.items)))
            args.items = len(item_ids)
            t_uploaded = time.perf_counter() - start
            head = wait_anchored(base, args.items, args.timeout)
            t_anchored = time.perf_counter() - start
            sample = item_ids[len(item_ids) // 2]
            r = requests.get(f"{base}/evidence/{sample}/proof", headers=auth, timeout=10)
            r.raise_for_status()
            proof_json = r.content
            deployment = json.loads((var / "ledger" / "deployment.json").read_text())
            events = anchor_events(f"http://127.0.0.1:{ledger_port}", deployment["address"])
        finally:
            server.terminate()
            server.wait(30)
        anchored_size = int(head["anchored"]["tree_size"])
        t_base, binary = baseline(args.baseline_tx, anchored_size + 1, work / "base-ledger")
    bundle = json.loads(proof_json)
    report = evidence_verify.verify_bundle(bundle)
    assert report.verdict == "verified", report
    parsed = evidence_verify.parse_bundle(bundle)

    def inclusion() -> None:
        evidence_verify.verify_inclusion(
            leaf_index=parsed.leaf_index, tree_size=parsed.tree_size,
            leaf_hash=parsed.leaf_hash, path=parsed.inclusion_path, root=parsed.root)

    t_bundle = median_seconds(lambda: evidence_verify.verify_bundle(bundle), args.verify_runs)
    t_inclusion = median_seconds(inclusion, args.verify_runs)
    anchored_per_s = args.items / t_anchored
    baseline_tx_per_s = args.baseline_tx / t_base
    result = {
        "items": args.items,
        "threads": args.threads,
        "mode": f"batches of {args.batch_size}" if args.batch_size else "tus, one file each",
        "api_processes": args.workers,
        "anchor_interval_s": args.interval,
        "seconds_to_register": round(t_uploaded, 2),
        "seconds": round(t_anchored, 2),
        "registered_per_s": round(args.items / t_uploaded, 1),
        "anchored_per_s": round(anchored_per_s, 1),
        "anchor_transactions": len(events),
        "items_per_anchor_tx": round(anchored_size / max(len(events), 1), 1),
        "baseline_tx": args.baseline_tx,
        "baseline_seconds": round(t_base, 2),
        "baseline_tx_per_s": round(baseline_tx_per_s, 1),
        "ratio": round(anchored_per_s / baseline_tx_per_s, 2),
        "anvil_binary": binary,
        "proof_sample_leaf_index": parsed.leaf_index,
        "proof_tree_size": parsed.tree_size,
        "proof_bytes": len(proof_json),
        "proof_inclusion_path_length": len(parsed.inclusion_path),
        "verify_bundle_ms": round(t_bundle * 1e3, 4),
        "verify_inclusion_ms": round(t_inclusion * 1e3, 4),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
