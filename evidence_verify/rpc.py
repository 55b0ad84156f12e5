"""Minimal Ethereum JSON-RPC client over ``urllib.request``: just what verification needs.

``anchorOf(uint64)`` is ABI-encoded by hand (the standard library has no keccak-256, so its
selector is a constant; a test recomputes it). Transport failures, HTTP errors and JSON-RPC
errors raise :class:`ChainUnavailable`; an answer that cannot come from the registry at that
address raises :class:`ChainMismatch`.
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from evidence_verify.errors import ChainMismatch, ChainUnavailable

__all__ = [
    "ANCHOR_OF_SELECTOR",
    "TransactionReceipt",
    "call_anchor_of",
    "chain_id",
    "decode_anchor_of",
    "encode_anchor_of",
    "transaction_receipt",
]

#: First 4 bytes of keccak256("anchorOf(uint64)").
ANCHOR_OF_SELECTOR = bytes.fromhex("34defa7c")
_WORD = 32
_MAX_REPLY = 4 * 1024 * 1024
_QUANTITY = re.compile(r"0x[0-9a-f]+")
_DATA = re.compile(r"0x([0-9a-f]{2})*")


@dataclass(frozen=True)
class TransactionReceipt:
    """The parts of ``eth_getTransactionReceipt`` the verifier checks.

    ``status`` is 1 for success; ``to`` is the lowercase address called (None for a creation).
    """

    status: int
    block_number: int
    to: str | None


def chain_id(url: str, *, timeout: float = 10.0) -> int:
    """``eth_chainId`` of the node at ``url``. Raises ChainUnavailable."""
    return _quantity(_call(url, "eth_chainId", [], timeout=timeout), "eth_chainId")


def encode_anchor_of(tree_size: int) -> bytes:
    """Call data of ``anchorOf(tree_size)``: selector, then the uint64 left-padded to 32 bytes.

    Raises ValueError for a size outside uint64.
    """
    if not 0 <= tree_size < 2**64:
        raise ValueError(f"tree size {tree_size} does not fit in uint64")
    return ANCHOR_OF_SELECTOR + tree_size.to_bytes(_WORD, "big")


def decode_anchor_of(data: bytes, *, contract: str) -> tuple[bytes, int, int]:
    """Decode ``anchorOf``'s return data ``(bytes32 root, uint64 timestamp, uint64 block)``.

    Raises ChainMismatch (naming ``contract``) unless ``data`` is three 32-byte words whose
    last two hold uint64 values: anything else cannot come from the registry.
    """
    if len(data) != 3 * _WORD:
        raise ChainMismatch(
            f"anchorOf on {contract} returned {len(data)} bytes, not {3 * _WORD}: "
            f"is that the EvidenceRegistry on this chain?"
        )
    words = [data[i : i + _WORD] for i in range(0, 3 * _WORD, _WORD)]
    return words[0], _uint64(words[1], contract), _uint64(words[2], contract)


def call_anchor_of(
    url: str, contract: str, tree_size: int, *, timeout: float = 10.0
) -> tuple[bytes, int, int]:
    """``anchorOf(tree_size)`` on ``contract`` via ``eth_call``: ``(root, timestamp, block)``.

    All zero when ``tree_size`` was never anchored. Raises ChainUnavailable when the node
    cannot be asked, ChainMismatch when the reply is not a registry's ``anchorOf`` answer
    (e.g. no contract at that address on this chain), ValueError for a size outside uint64.
    """
    call = {"to": contract, "data": "0x" + encode_anchor_of(tree_size).hex()}
    raw = _data(_call(url, "eth_call", [call, "latest"], timeout=timeout), "eth_call")
    return decode_anchor_of(raw, contract=contract)


def transaction_receipt(
    url: str, tx_hash: str, *, timeout: float = 10.0
) -> TransactionReceipt | None:
    """The receipt of ``tx_hash`` (``0x`` + 64 hex), or None when the node does not know it.

    Raises ChainUnavailable when the node cannot be asked or answers malformed data.
    """
    result = _call(url, "eth_getTransactionReceipt", [tx_hash], timeout=timeout)
    if result is None:
        return None
    if not isinstance(result, dict):
        raise ChainUnavailable(f"eth_getTransactionReceipt returned {type(result).__name__}")
    to = result.get("to")
    if to is not None and not isinstance(to, str):
        raise ChainUnavailable("eth_getTransactionReceipt returned a malformed 'to'")
    return TransactionReceipt(
        status=_quantity(result.get("status"), "receipt status"),
        block_number=_quantity(result.get("blockNumber"), "receipt blockNumber"),
        to=to.lower() if to is not None else None,
    )


def _call(url: str, method: str, params: list[Any], *, timeout: float) -> Any:
    """POST one JSON-RPC request and return its ``result``. Raises ChainUnavailable."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ChainUnavailable(f"RPC URL must be http:// or https://, got {url!r}")
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    request = urllib.request.Request(
        url, data=body.encode(), method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read(_MAX_REPLY + 1)
    except urllib.error.HTTPError as exc:
        raise ChainUnavailable(f"{method} at {url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise ChainUnavailable(f"{method} at {url}: node unreachable ({reason})") from exc
    if len(raw) > _MAX_REPLY:
        raise ChainUnavailable(f"{method} at {url}: reply larger than {_MAX_REPLY} bytes")
    try:
        reply = json.loads(raw)
    except ValueError as exc:
        raise ChainUnavailable(f"{method} at {url}: reply is not JSON") from exc
    if not isinstance(reply, dict):
        raise ChainUnavailable(f"{method} at {url}: reply is not a JSON-RPC object")
    if reply.get("error") is not None:
        error = reply["error"]
        detail = error.get("message", error) if isinstance(error, dict) else error
        code = error.get("code", "?") if isinstance(error, dict) else "?"
        raise ChainUnavailable(f"{method} at {url}: JSON-RPC error {code}: {detail}")
    if "result" not in reply:
        raise ChainUnavailable(f"{method} at {url}: reply has no result")
    return reply["result"]


def _quantity(value: Any, what: str) -> int:
    if not isinstance(value, str) or not _QUANTITY.fullmatch(value.lower()):
        raise ChainUnavailable(f"{what}: expected a hex quantity, got {value!r}")
    return int(value, 16)


def _data(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not _DATA.fullmatch(value.lower()):
        raise ChainUnavailable(f"{what}: expected hex data, got {str(value)[:80]!r}")
    return bytes.fromhex(value[2:])


def _uint64(word: bytes, contract: str) -> int:
    value = int.from_bytes(word, "big")
    if value >= 2**64:
        raise ChainMismatch(f"anchorOf on {contract} returned {value:#x}, not a uint64")
    return value
