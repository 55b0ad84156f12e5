"""The hand-written ``anchorOf`` ABI encoding, checked against eth_utils/eth_abi and the artifact.

The package may not import these libraries; its tests may.
"""

from __future__ import annotations

from typing import Any, cast

import pytest
from eth_abi.abi import decode, encode
from eth_utils.abi import function_abi_to_4byte_selector
from eth_utils.crypto import keccak

from contracts import load_artifact
from evidence_verify import ChainMismatch
from evidence_verify.rpc import ANCHOR_OF_SELECTOR, decode_anchor_of, encode_anchor_of


def test_selector_is_keccak_of_the_signature() -> None:
    assert keccak(text="anchorOf(uint64)")[:4] == ANCHOR_OF_SELECTOR
    assert ANCHOR_OF_SELECTOR.hex() == "34defa7c"


def test_selector_matches_the_compiled_abi() -> None:
    abi = load_artifact().abi
    (entry,) = [e for e in abi if e.get("type") == "function" and e["name"] == "anchorOf"]
    assert [i["type"] for i in entry["inputs"]] == ["uint64"]
    assert [o["type"] for o in entry["outputs"]] == ["bytes32", "uint64", "uint64"]
    assert function_abi_to_4byte_selector(cast(Any, entry)) == ANCHOR_OF_SELECTOR


@pytest.mark.parametrize("size", [0, 1, 64, 2**32 + 5, 2**64 - 1])
def test_call_data_matches_eth_abi(size: int) -> None:
    assert encode_anchor_of(size) == ANCHOR_OF_SELECTOR + encode(["uint64"], [size])


@pytest.mark.parametrize("size", [-1, 2**64])
def test_sizes_outside_uint64_are_refused(size: int) -> None:
    with pytest.raises(ValueError, match="does not fit in uint64"):
        encode_anchor_of(size)


def test_return_data_matches_eth_abi() -> None:
    root = keccak(text="root")
    data = encode(["bytes32", "uint64", "uint64"], [root, 1_795_309_961, 118])
    assert decode_anchor_of(data, contract="0xabc") == decode(
        ["bytes32", "uint64", "uint64"], data)


def test_return_data_of_wrong_length() -> None:
    with pytest.raises(ChainMismatch, match="returned 0 bytes, not 96"):
        decode_anchor_of(b"", contract="0xabc")


def test_return_word_beyond_uint64() -> None:
    data = bytes(32) + (2**64).to_bytes(32, "big") + bytes(32)
    with pytest.raises(ChainMismatch, match="not a uint64"):
        decode_anchor_of(data, contract="0xabc")
