"""The fault suite: real processes broken on purpose (issue 8).

Each scenario records what it measured (time to recover, counts) with the ``fault_report``
fixture. The figures are printed at the end of the run and, when ``EVIDENCE_FAULT_REPORT``
names a path, written there as JSON (the source of the table in ``docs/reliability.md``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

_FIGURES: dict[str, dict[str, Any]] = {}


class FaultReport:
    """What one scenario measured."""

    def __init__(self, scenario: str) -> None:
        self.scenario = scenario
        self.figures: dict[str, Any] = {}

    def record(self, **figures: Any) -> None:
        """Keep ``figures`` (seconds rounded to 0.01) for the end-of-run report."""
        self.figures.update({k: round(v, 2) if isinstance(v, float) else v
                             for k, v in figures.items()})
        _FIGURES[self.scenario] = self.figures


@pytest.fixture
def fault_report(request: pytest.FixtureRequest) -> FaultReport:
    """The recorder for the running scenario (named after the test)."""
    return FaultReport(request.node.name)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _FIGURES:
        return
    terminalreporter.section("fault suite: measured figures")
    for scenario, figures in _FIGURES.items():
        terminalreporter.write_line(f"{scenario}: {json.dumps(figures, sort_keys=True)}")
    if path := os.environ.get("EVIDENCE_FAULT_REPORT"):
        Path(path).write_text(json.dumps(_FIGURES, indent=2, sort_keys=True) + "\n")
        terminalreporter.write_line(f"written to {path}")
