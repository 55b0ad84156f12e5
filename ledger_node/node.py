"""Start, supervise and stop a local anvil node (from npm) for development.

``package.json`` pins the platform package ``@foundry-rs/anvil-linux-amd64`` (as an optional
dependency) rather than the ``@foundry-rs/anvil`` wrapper: the wrapper lists every platform's
package, the registry here serves only linux-amd64, and ``npm ci`` then refuses the lock file.
The binary (``node_modules/@foundry-rs/anvil-<os>-<arch>/bin/anvil``) is run directly, not
through a node shim, so that signals reach it. State is kept with ``--state PATH``
(load at start, dump on exit) plus ``--state-interval`` (periodic dump), and ``stop`` sends
SIGTERM and waits, which makes anvil write the final dump.

anvil prints its dev accounts' private keys and the mnemonic before it listens: that part of
its output is read and thrown away, never logged or kept.
"""

from __future__ import annotations

import ctypes
import json
import logging
import platform
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
from collections import deque
from pathlib import Path
from typing import IO, TYPE_CHECKING

from ledger_node.errors import NodeUnavailable

if TYPE_CHECKING:
    from types import TracebackType

    from ledger_node.config import NodeConfig

_logger = logging.getLogger(__name__)

_LISTENING = re.compile(rb"^Listening on (\S+):(\d+)\s*$")
_TAIL_LINES = 40
_PR_SET_PDEATHSIG = 1
_POLL_SECONDS = 0.05
_PLATFORMS = {
    ("Linux", "x86_64"): "linux-amd64",
    ("Linux", "aarch64"): "linux-arm64",
    ("Darwin", "x86_64"): "darwin-amd64",
    ("Darwin", "arm64"): "darwin-arm64",
}


def _terminate_with_parent() -> None:
    """In the child: ask Linux to SIGTERM it when the supervising process dies (even by
    SIGKILL), so anvil dumps its state and frees its port instead of living on as an orphan."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the node outlives a killed parent
        pass


def find_anvil_binary(*, search_from: tuple[Path, ...] = ()) -> Path:
    """Locate the anvil executable installed by ``npm ci``.

    Looks in ``node_modules`` above each of ``search_from``, the current directory and this
    package (the platform package, then ``.bin/anvil``), then on ``PATH``. Raises
    NodeUnavailable when there is none.
    """
    suffix = _PLATFORMS.get((platform.system(), platform.machine()), "unsupported")
    starts = (*search_from, Path.cwd(), Path(__file__).resolve().parent)
    for start in starts:
        for folder in (start.resolve(), *start.resolve().parents):
            modules = folder / "node_modules"
            for found in (modules / f"@foundry-rs/anvil-{suffix}/bin/anvil",
                          modules / ".bin" / "anvil"):
                if found.is_file():
                    return found
    if on_path := shutil.which("anvil"):
        return Path(on_path)
    raise NodeUnavailable(
        f"anvil not found for {platform.system()}/{platform.machine()}: run `npm ci` at the "
        "repository root (package.json ships the linux-amd64 build) or put anvil on PATH"
    )


def rpc_chain_id(url: str, *, timeout: float = 2.0) -> int | None:
    """The chain id answered by the JSON-RPC endpoint ``url``, or None if it does not answer."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(json.loads(response.read())["result"], 16)
    except (OSError, ValueError, KeyError, TypeError):
        return None


class AnvilNode:
    """One supervised anvil process configured by a ``NodeConfig``.

    Use as a context manager, or call ``start`` and ``stop``. ``rpc_url`` is known once the
    node listens (with ``port=0`` the node picks the port).
    """

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self._process: subprocess.Popen[bytes] | None = None
        self._port: int | None = None
        self._listening = threading.Event()
        self._stderr: deque[str] = deque(maxlen=_TAIL_LINES)
        self._stdout: deque[str] = deque(maxlen=_TAIL_LINES)
        self._pumps: list[threading.Thread] = []

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start anvil and wait until it answers JSON-RPC.

        Raises NodeUnavailable (with the stderr tail) when the binary is missing, the node
        exits early, or it does not answer within ``config.startup_timeout``.
        """
        if self.running:
            return
        cfg = self.config
        binary = cfg.binary or find_anvil_binary()
        if cfg.state_path is not None:
            cfg.state_path.parent.mkdir(parents=True, exist_ok=True)
        self._reset()
        try:
            self._process = subprocess.Popen(
                self._command(binary),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                preexec_fn=_terminate_with_parent,
            )
        except OSError as exc:
            raise NodeUnavailable(f"cannot run anvil at {binary}: {exc}") from exc
        assert self._process.stdout is not None and self._process.stderr is not None
        self._pumps = [
            threading.Thread(target=self._pump_stdout, args=(self._process.stdout,), daemon=True),
            threading.Thread(target=self._pump_stderr, args=(self._process.stderr,), daemon=True),
        ]
        for pump in self._pumps:
            pump.start()
        _logger.info("anvil starting (pid %s, chain %s, state %s)", self._process.pid,
                     cfg.chain_id, cfg.state_path)
        try:
            self.wait_ready()
        except NodeUnavailable:
            self.stop()
            raise

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until the node answers ``eth_chainId`` with the configured chain id.

        Raises NodeUnavailable if it exits first, answers another chain id, or times out.
        """
        deadline = time.monotonic() + (timeout or self.config.startup_timeout)
        while time.monotonic() < deadline:
            self.ensure_running()
            if self._listening.is_set():
                chain_id = rpc_chain_id(self.rpc_url, timeout=1.0)
                if chain_id == self.config.chain_id:
                    _logger.info("anvil ready at %s", self.rpc_url)
                    return
                if chain_id is not None:
                    raise NodeUnavailable(
                        f"node at {self.rpc_url} has chain id {chain_id}, "
                        f"expected {self.config.chain_id}"
                    )
            time.sleep(_POLL_SECONDS)
        raise NodeUnavailable("anvil did not answer in time", stderr_tail=self.stderr_tail)

    def ensure_running(self) -> None:
        """Raise NodeUnavailable (with the stderr tail) unless the process is alive."""
        if self._process is None:
            raise NodeUnavailable("anvil was not started")
        code = self._process.poll()
        if code is not None:
            for pump in self._pumps:
                pump.join(timeout=2)
            raise NodeUnavailable(f"anvil exited with code {code}", stderr_tail=self.stderr_tail)

    def stop(self) -> int | None:
        """Stop gracefully (SIGTERM, so anvil dumps its state) and return the exit code.

        Falls back to SIGKILL after ``config.stop_timeout``; the state file then keeps only
        the last periodic dump. Returns None if the node was never started.
        """
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=self.config.stop_timeout)
            except subprocess.TimeoutExpired:
                _logger.warning("anvil (pid %s) ignored SIGTERM; killing it", process.pid)
                process.kill()
                process.wait(timeout=self.config.stop_timeout)
        for pump in self._pumps:
            pump.join(timeout=5)
        _logger.info("anvil stopped (pid %s, exit code %s)", process.pid, process.returncode)
        return process.returncode

    def __enter__(self) -> AnvilNode:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ facts

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The process id, once started."""
        return self._process.pid if self._process is not None else None

    @property
    def port(self) -> int:
        """The port the node listens on. Raises NodeUnavailable before it listens."""
        if self._port is None:
            raise NodeUnavailable("anvil is not listening yet")
        return self._port

    @property
    def rpc_url(self) -> str:
        """The JSON-RPC URL. Raises NodeUnavailable before the node listens."""
        return f"http://{self.config.host}:{self.port}"

    @property
    def stderr_tail(self) -> str:
        """The last lines anvil wrote to stderr (never contains keys)."""
        return "\n".join(self._stderr)

    # ------------------------------------------------------------------ internals

    def _command(self, binary: Path) -> list[str]:
        cfg = self.config
        command = [
            str(binary),
            "--host", cfg.host,
            "--port", str(cfg.port),
            "--chain-id", str(cfg.chain_id),
            "--accounts", str(cfg.accounts),
            "--mnemonic", cfg.mnemonic.get_secret_value(),
        ]  # fmt: skip
        if cfg.block_time is not None:
            command += ["--block-time", f"{cfg.block_time:g}"]
        if cfg.state_path is not None:
            command += ["--state", str(cfg.state_path),
                        "--state-interval", str(cfg.state_interval)]
        return command

    def _reset(self) -> None:
        self._port = None
        self._listening.clear()
        self._stderr.clear()
        self._stdout.clear()

    def _pump_stdout(self, stream: IO[bytes]) -> None:
        # Everything before "Listening on" is the banner with keys and mnemonic: discard it.
        for raw in stream:
            if self._listening.is_set():
                self._stdout.append(raw.decode(errors="replace").rstrip())
            elif match := _LISTENING.match(raw.strip()):
                self._port = int(match.group(2))
                self._listening.set()
        stream.close()

    def _pump_stderr(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode(errors="replace").rstrip()
            self._stderr.append(line)
            _logger.debug("anvil stderr: %s", line)
        stream.close()
