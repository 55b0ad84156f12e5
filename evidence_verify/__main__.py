"""``python -m evidence_verify``: see :mod:`evidence_verify.cli`."""

from __future__ import annotations

from evidence_verify.cli import main

raise SystemExit(main())
