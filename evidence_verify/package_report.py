"""The report of verifying a case package: every check with its outcome and its culprit.

Unlike a single bundle, a package is checked to the end: each file, item, proof and custody
event gets its own :class:`PackageCheck`, so one report names every altered, missing or added
file at once. Outcomes: ``pass``; ``fail`` (the verdict is ``failed``); ``pending`` (the entry
is logged but not anchored yet); ``unavailable`` (the chain could not be asked);
``not_checked`` (with the reason, e.g. no ``--rpc`` or no SM3 in this Python).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

__all__ = ["Outcome", "PackageCheck", "PackageReport", "PackageVerdict"]

Outcome = Literal["pass", "fail", "pending", "unavailable", "not_checked"]
PackageVerdict = Literal["verified", "pending", "failed", "unavailable"]

_VERDICT_TEXT: dict[str, str] = {
    "verified": "VERIFIED / 验证通过",
    "pending": "PENDING, some entries are not anchored yet / 待锚定(部分条目尚未上链)",
    "failed": "FAILED / 验证失败",
    "unavailable": "INCOMPLETE, the chain could not be asked / 未完成(无法访问区块链节点)",
}
_OUTCOME_TEXT: dict[str, str] = {
    "pass": "OK / 通过", "fail": "FAILED / 失败", "pending": "PENDING / 待锚定",
    "unavailable": "CHAIN UNAVAILABLE / 链不可达", "not_checked": "NOT CHECKED / 未检查",
}
_FACT_LABELS = {
    "package": "Package / 证据包",
    "case_id": "Case id / 案件 ID",
    "case_number": "Case number / 案件编号",
    "title": "Title / 案件名称",
    "department": "Department / 部门",
    "exported_at": "Exported (UTC) / 导出时间(UTC)",
    "chain_id": "Chain id / 链 ID",
    "contract": "Contract / 合约",
    "items": "Items / 证物数",
    "derived": "Derived artefacts / 衍生文件数",
    "events": "Custody events / 保管事件数",
    "rpc_url": "RPC endpoint / RPC 节点",
}


@dataclass(frozen=True)
class PackageCheck:
    """One check: names in English and Chinese, its ``outcome``, the ``subject`` it is about
    (a path in the ZIP, an item or artefact id, ``custody.events[3]``) and a ``detail``."""

    name: str
    name_zh: str
    outcome: Outcome
    subject: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form. Raises nothing."""
        return {"name": self.name, "name_zh": self.name_zh, "outcome": self.outcome,
                "subject": self.subject, "detail": self.detail}


@dataclass(frozen=True)
class PackageReport:
    """Outcome of :func:`evidence_verify.verify_package`.

    ``verdict`` is ``failed`` when any check failed, else ``unavailable`` when the chain could
    not be asked, else ``pending`` when an entry is not anchored yet, else ``verified``.
    """

    checks: tuple[PackageCheck, ...]
    facts: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "facts", MappingProxyType(dict(self.facts)))

    @property
    def verdict(self) -> PackageVerdict:
        """The overall verdict (see the class docstring)."""
        outcomes = {check.outcome for check in self.checks}
        if "fail" in outcomes or not self.checks:
            return "failed"
        if "unavailable" in outcomes:
            return "unavailable"
        return "pending" if "pending" in outcomes else "verified"

    @property
    def exit_code(self) -> int:
        """The command-line exit status of this verdict: 0 verified, 1 failed, 3 the chain
        could not be asked, 4 pending (2, malformed input, is raised, never reported)."""
        return {"verified": 0, "failed": 1, "unavailable": 3, "pending": 4}[self.verdict]

    @property
    def failures(self) -> tuple[PackageCheck, ...]:
        """The failed checks, in order."""
        return tuple(check for check in self.checks if check.outcome == "fail")

    @property
    def culprits(self) -> tuple[str, ...]:
        """The subjects of the failed checks (paths, ids), each once, in order."""
        return tuple(dict.fromkeys(check.subject for check in self.failures))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form. Raises nothing."""
        return {"verdict": self.verdict, "culprits": list(self.culprits),
                "facts": dict(self.facts), "checks": [c.to_dict() for c in self.checks]}

    def render_text(self) -> str:
        """A human-readable report, English and Chinese labels side by side. Raises nothing."""
        lines = ["Case package verification / 案件证据包验证", "=" * 40,
                 f"Verdict / 结论: {_VERDICT_TEXT[self.verdict]}"]
        if self.culprits:
            lines.append(f"  Culprits / 问题对象: {', '.join(self.culprits)}")
        lines += ["", "Package / 证据包"]
        keys = [key for key in _FACT_LABELS if key in self.facts]
        lines += [f"  {_FACT_LABELS[key]}: {_show(self.facts[key])}" for key in keys]
        lines += ["", "Checks / 检查项"]
        for check in self.checks:
            lines.append(f"  {check.name} / {check.name_zh} [{check.subject}]: "
                         f"{_OUTCOME_TEXT[check.outcome]}")
            if check.detail:
                lines.append(f"      {check.detail}")
        return "\n".join(lines) + "\n"


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
