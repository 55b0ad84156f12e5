"""A thin test client for the HTTP API: login, cases and tus uploads."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi.testclient import TestClient

TUS = {"Tus-Resumable": "1.0.0"}
OFFSET_CT = {"Content-Type": "application/offset+octet-stream"}


def encode_metadata(meta: dict[str, str | bytes]) -> str:
    """Encode a tus ``Upload-Metadata`` header."""
    parts = []
    for key, value in meta.items():
        raw = value if isinstance(value, bytes) else value.encode("utf-8")
        parts.append(f"{key} {base64.b64encode(raw).decode('ascii')}")
    return ",".join(parts)


@dataclass
class Api:
    """Wraps a TestClient with the tokens of the test world's users."""

    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)
    departments: dict[str, str] = field(default_factory=dict)

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def create_case(self, user: str, number: str = "ENF-2026-001", **extra: Any) -> str:
        r = self.client.post("/cases", headers=self.auth(user),
                             json={"case_number": number, "title": "占道经营", **extra})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def tus_create(self, user: str, case_id: str, length: int, *,
                   filename: str | bytes = "clip.mp4", kind: str = "audio_visual",
                   headers: dict[str, str] | None = None, **meta: str | bytes) -> httpx.Response:
        metadata: dict[str, str | bytes] = {"case_id": case_id, "filename": filename,
                                            "kind": kind, "filetype": "video/mp4", **meta}
        h = {**TUS, **self.auth(user), "Upload-Length": str(length),
             "Upload-Metadata": encode_metadata(metadata), **(headers or {})}
        return self.client.post("/uploads", headers=h)

    def tus_patch(self, user: str, location: str, offset: int, data: bytes) -> httpx.Response:
        h = {**TUS, **OFFSET_CT, **self.auth(user), "Upload-Offset": str(offset)}
        return self.client.patch(location, headers=h, content=data)

    def tus_head(self, user: str, location: str) -> httpx.Response:
        return self.client.head(location, headers={**TUS, **self.auth(user)})

    def post_batch(self, user: str, case_id: str, files: dict[str, bytes],
                   metadata: dict[str, str | bytes] | None = None) -> httpx.Response:
        """``POST /cases/{id}/batches`` with a pax tar of ``files`` (name -> bytes), each file
        ``documentary``/``text/plain`` unless ``metadata`` says otherwise."""
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, data in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        defaults: dict[str, str | bytes] = metadata or {"kind": "documentary",
                                                         "filetype": "text/plain"}
        return self.client.post(f"/cases/{case_id}/batches", content=out.getvalue(), headers={
            **self.auth(user), "Content-Type": "application/x-tar",
            "Batch-Metadata": encode_metadata(defaults)})

    def upload(self, user: str, case_id: str, data: bytes, *, chunk: int = 1 << 20,
               declare_sha256: bool = True, **meta: str | bytes) -> dict[str, Any]:
        """Upload ``data`` in chunks; returns the stored item as JSON."""
        if declare_sha256:
            meta.setdefault("sha256", hashlib.sha256(data).hexdigest())
        r = self.tus_create(user, case_id, len(data), **meta)
        assert r.status_code == 201, r.text
        location, item_id = r.headers["Location"], r.json()["upload"]["item_id"]
        offset = 0
        while offset < len(data):
            r = self.tus_patch(user, location, offset, data[offset:offset + chunk])
            assert r.status_code == 204, r.text
            offset = int(r.headers["Upload-Offset"])
        r = self.client.get(f"/items/{item_id}", headers=self.auth(user))
        assert r.status_code == 200, r.text
        return dict(r.json())
