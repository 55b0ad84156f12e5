"""The JSON nesting guard counts brackets outside strings only."""

from __future__ import annotations

import pytest

from evidence_service.api.guards import json_depth_exceeds


@pytest.mark.parametrize(("body", "depth"), [
    (b"{}", 1), (b"[[]]", 2), (b'{"a": [1, {"b": []}]}', 4), (b'"[[[[[["', 0),
    (b'{"a": "x\\"[[[[["}', 1), (b"[" * 10 + b"]" * 10, 10), (b"", 0), (b"42", 0),
])
def test_depth_is_measured_outside_strings(body: bytes, depth: int) -> None:
    assert not json_depth_exceeds(body, depth)
    assert json_depth_exceeds(body, depth - 1) == (depth > 0)


def test_unbalanced_attack_exits_early() -> None:
    assert json_depth_exceeds(b"[" * 1_000_000, 32)
