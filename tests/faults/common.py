"""Small HTTP helpers the fault scenarios share (tus upload steps against a LiveServer)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

import requests
from sqlalchemy import create_engine, text

from tests.support.api import encode_metadata
from tests.support.live import LiveServer

TUS = {"Tus-Resumable": "1.0.0"}
OFFSET_CT = "application/offset+octet-stream"


class Client:
    """One user's session against a live service."""

    def __init__(self, server: LiveServer, username: str = "enf-officer",
                 timeout: float = 30) -> None:
        self.server = server
        self.timeout = timeout
        self.auth = {"Authorization": f"Bearer {server.token(username)}"}

    def url(self, path: str) -> str:
        return self.server.url + path

    def case(self, number: str) -> str:
        r = requests.post(self.url("/cases"), headers=self.auth, timeout=self.timeout,
                          json={"case_number": number, "title": "扬尘污染"})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def create(self, case_id: str, length: int, *, name: str = "note.bin",
               sha256: str | None = None) -> requests.Response:
        meta = {"case_id": case_id, "filename": name, "kind": "electronic_data",
                "filetype": "application/octet-stream"}
        if sha256:
            meta["sha256"] = sha256
        return requests.post(self.url("/uploads"), timeout=self.timeout, headers={
            **self.auth, **TUS, "Upload-Length": str(length),
            "Upload-Metadata": encode_metadata(dict(meta))})

    def patch(self, location: str, offset: int, data: bytes) -> requests.Response:
        return requests.patch(self.url(location), data=data, timeout=self.timeout, headers={
            **self.auth, **TUS, "Upload-Offset": str(offset), "Content-Type": OFFSET_CT})

    def head(self, location: str) -> requests.Response:
        return requests.head(self.url(location), timeout=self.timeout,
                             headers={**self.auth, **TUS})

    def upload(self, case_id: str, data: bytes, *, name: str = "note.bin") -> str:
        """Create and send ``data`` in one PATCH; returns the item id (asserts success)."""
        r = self.create(case_id, len(data), name=name, sha256=hashlib.sha256(data).hexdigest())
        assert r.status_code == 201, r.text
        item_id = str(r.json()["upload"]["item_id"])
        r = self.patch(r.headers["Location"], 0, data)
        assert r.status_code == 204, r.text
        return item_id

    def items(self, case_id: str) -> list[dict[str, Any]]:
        r = requests.get(self.url(f"/cases/{case_id}/items"), headers=self.auth,
                         timeout=self.timeout)
        assert r.status_code == 200, r.text
        return list(r.json())

    def log_head(self) -> dict[str, Any]:
        r = requests.get(self.url("/log/head"), timeout=self.timeout)
        assert r.status_code == 200, r.text
        return dict(r.json())


def query(server: LiveServer, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Run ``sql`` on the server's own database (its SQLite file or PostgreSQL), committed;
    returns the rows (none for a statement that returns none)."""
    url = server.env.get("EVIDENCE_DATABASE_URL") or f"sqlite:///{server.var_dir / 'evidence.db'}"
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as conn:
            result = conn.execute(text(sql), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def registrations(server: LiveServer) -> list[tuple[Any, ...]]:
    """``(index, item_id, sha256)`` of every ``evidence.registered`` log entry."""
    return query(server, "SELECT \"index\", item_id, sha256 FROM log_entries "
                         "WHERE kind = 'evidence.registered' ORDER BY \"index\"")


def assert_unavailable(r: requests.Response, code: str | None = None) -> None:
    """A clean 503: ``Retry-After`` and a JSON reason (never a 500 or a bare page)."""
    assert r.status_code == 503, f"{r.status_code}: {r.text[:500]}"
    assert int(r.headers["Retry-After"]) > 0
    if r.request.method != "HEAD":
        error = r.json()["error"]
        assert error["message"], error
        if code:
            assert error["code"] == code, error


def wait_until(check: Callable[[], bool], *, timeout: float, poll: float = 0.1,
               what: str = "condition") -> float:
    """Poll ``check`` until it is true; returns the seconds it took (AssertionError on timeout)."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what} not reached in {timeout:.0f}s")
        time.sleep(poll)
    return time.monotonic() - start
