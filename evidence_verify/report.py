"""The verification report: a verdict, every check with its outcome, and what was verified.

A check is ``ok=True`` (passed), ``ok=False`` (failed: the verdict is ``failed``) or
``ok=None`` (not checked, with the reason: no file given, no RPC given, no SM3 in this
Python's OpenSSL). A check that was not run is always shown as such, never as passed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

__all__ = ["Check", "Verdict", "VerificationReport"]

Verdict = Literal["verified", "pending", "failed"]

_VERDICT_TEXT: dict[str, str] = {
    "verified": "VERIFIED / 验证通过",
    "pending": "PENDING, not anchored yet / 待锚定(尚未上链)",
    "failed": "FAILED / 验证失败",
}
_OUTCOME_TEXT = {True: "OK / 通过", False: "FAILED / 失败", None: "NOT CHECKED / 未检查"}
_ENTRY_LABELS = {
    "kind": "Kind / 类型",
    "sha256": "SHA-256",
    "sm3": "SM3",
    "size": "Size (bytes) / 大小(字节)",
    "item": "Item id / 证物 ID",
    "case": "Case id / 案件 ID",
    "department": "Department id / 部门 ID",
    "time": "Registered (UTC) / 登记时间(UTC)",
    "v": "Entry version / 条目版本",
}
_FACT_LABELS = {
    "leaf_index": "Leaf index / 叶序号",
    "tree_size": "Tree size / 树大小",
    "root": "Root / 根哈希",
    "chain_id": "Chain id / 链 ID",
    "contract": "Contract / 合约",
    "tx_hash": "Transaction / 交易",
    "block_number": "Block / 区块",
    "block_time": "Block time (UTC) / 区块时间(UTC)",
    "rpc_url": "RPC endpoint / RPC 节点",
    "file": "File / 文件",
    "from": "Old tree size / 旧树大小",
    "to": "New tree size / 新树大小",
    "from_root": "Old root / 旧根哈希",
    "to_root": "New root / 新根哈希",
}


@dataclass(frozen=True)
class Check:
    """One check: English ``name``, Chinese ``name_zh``, outcome ``ok`` and ``detail``.

    ``ok`` is True (passed), False (failed) or None (not checked; ``detail`` says why).
    """

    name: str
    name_zh: str
    ok: bool | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form. Raises nothing."""
        return {"name": self.name, "name_zh": self.name_zh, "ok": self.ok,
                "detail": self.detail}


@dataclass(frozen=True)
class VerificationReport:
    """Outcome of verifying a proof bundle or a consistency proof.

    ``entry`` holds the decoded log entry's fields (empty when it could not be decoded);
    ``facts`` the log and anchor data that were checked (tree size, root, chain, …).
    """

    verdict: Verdict
    checks: tuple[Check, ...]
    entry: Mapping[str, Any] = field(default_factory=dict)
    facts: Mapping[str, Any] = field(default_factory=dict)
    title: str = "Evidence proof verification / 证据证明验证"

    def __post_init__(self) -> None:
        object.__setattr__(self, "entry", MappingProxyType(dict(self.entry)))
        object.__setattr__(self, "facts", MappingProxyType(dict(self.facts)))

    @property
    def not_checked(self) -> tuple[Check, ...]:
        """The checks that were not run (``ok is None``)."""
        return tuple(check for check in self.checks if check.ok is None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form. Raises nothing."""
        return {"verdict": self.verdict, "checks": [c.to_dict() for c in self.checks],
                "entry": dict(self.entry), "facts": dict(self.facts)}

    def render_text(self) -> str:
        """A human-readable report, English and Chinese labels side by side. Raises nothing."""
        lines = [self.title, "=" * 40, f"Verdict / 结论: {_VERDICT_TEXT[self.verdict]}"]
        lines += _verdict_notes(self)
        if self.entry:
            lines += ["", "Log entry / 日志条目"]
            lines += _pairs(self.entry, _ENTRY_LABELS)
        if self.facts:
            lines += ["", "Log and anchor / 日志与锚定"]
            lines += _pairs(self.facts, _FACT_LABELS)
        lines += ["", "Checks / 检查项"]
        for check in self.checks:
            lines.append(f"  {check.name} / {check.name_zh}: {_OUTCOME_TEXT[check.ok]}")
            if check.detail:
                lines.append(f"      {check.detail}")
        return "\n".join(lines) + "\n"


def _verdict_notes(report: VerificationReport) -> list[str]:
    notes = []
    if report.verdict == "pending":
        notes.append("  The entry is in the log, but no anchored tree head covers it yet: the"
                     " root is the service's own claim. / 条目已入日志,但尚无上链的树头覆盖它。")
    skipped = report.not_checked
    if skipped and report.verdict != "failed":
        names = ", ".join(check.name for check in skipped)
        notes.append(f"  Not checked / 未检查: {names}")
    return notes


def _pairs(values: Mapping[str, Any], labels: Mapping[str, str]) -> list[str]:
    """Known keys in label order, then any others in their own order."""
    keys = [key for key in labels if key in values]
    keys += [key for key in values if key not in labels]
    return [f"  {labels.get(key, key)}: {_show(values[key])}" for key in keys]


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
