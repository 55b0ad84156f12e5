"""Where the CLI talks to (server URL) and with which credentials (saved token)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from evidence_service.domain.errors import AuthenticationError, EvidenceError

DEFAULT_SERVER = "http://127.0.0.1:8000"


class CliError(EvidenceError):
    """A CLI command failed; the message is printed as is."""


def state_dir() -> Path:
    """Per-user CLI state (saved tokens, resumable-upload URLs)."""
    base = os.environ.get("EVIDENCE_CLI_STATE") or os.path.join(
        os.environ.get("XDG_STATE_HOME", str(Path.home() / ".local" / "state")), "evidence")
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _token_file() -> Path:
    return state_dir() / "tokens.json"


def save_token(server: str, token: str) -> None:
    """Remember a token for ``server`` (file mode 0600)."""
    path = _token_file()
    tokens = json.loads(path.read_text()) if path.exists() else {}
    tokens[server.rstrip("/")] = token
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(tokens))
    tmp.chmod(0o600)
    tmp.replace(path)


def load_token(server: str) -> str | None:
    path = _token_file()
    if not path.exists():
        return None
    token = json.loads(path.read_text()).get(server.rstrip("/"))
    return str(token) if token else None


@dataclass
class ApiSession:
    """An authenticated connection to one server."""

    server: str
    token: str

    @classmethod
    def open(cls, server: str | None, token: str | None) -> ApiSession:
        """Resolve server and token from options, the environment or ``evidence login``.

        Raises AuthenticationError when no token is known.
        """
        server = (server or os.environ.get("EVIDENCE_SERVER") or DEFAULT_SERVER).rstrip("/")
        token = token or os.environ.get("EVIDENCE_TOKEN") or load_token(server)
        if not token:
            raise AuthenticationError(
                f"no token for {server}: run 'evidence login' or set EVIDENCE_TOKEN")
        return cls(server=server, token=token)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **params: Any) -> Any:
        """GET a JSON resource; raises CliError with the server's message on failure."""
        try:
            r = requests.get(self.server + path, headers=self.headers, params=params, timeout=30)
        except requests.RequestException as exc:
            raise CliError(f"cannot reach {self.server}: {exc}") from exc
        return checked_json(r)


    def post(self, path: str, body: Any = None, *, timeout: float = 120) -> Any:
        """POST JSON; raises CliError with the server's message on failure."""
        try:
            r = requests.post(self.server + path, headers=self.headers, json=body,
                              timeout=timeout)
        except requests.RequestException as exc:
            raise CliError(f"cannot reach {self.server}: {exc}") from exc
        return checked_json(r)

    def stream(self, path: str) -> requests.Response:
        """GET a binary resource as a stream; raises CliError on failure."""
        try:
            r = requests.get(self.server + path, headers=self.headers, stream=True,
                             timeout=600)
        except requests.RequestException as exc:
            raise CliError(f"cannot reach {self.server}: {exc}") from exc
        if r.status_code >= 400:
            checked_json(r)
        return r


def checked_json(r: requests.Response) -> Any:
    """The response's JSON, or CliError carrying the server's error message."""
    if r.status_code >= 400:
        try:
            message = r.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = r.text[:200]
        details = ""
        try:
            found = r.json()["error"].get("details") or []
            details = "".join(f"\n  - {d.get('item_id') or 'transfer'}: "
                              f"{d.get('reason') or '; '.join(d.get('reasons', []))}"
                              for d in found if isinstance(d, dict))
        except (ValueError, KeyError, TypeError, AttributeError):
            pass
        raise CliError(f"server answered {r.status_code}: {message}{details}")
    return r.json()
