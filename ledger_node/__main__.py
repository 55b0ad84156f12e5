"""``python -m ledger_node``: see ``ledger_node.cli``."""

from __future__ import annotations

from ledger_node.cli import main

if __name__ == "__main__":
    main()
