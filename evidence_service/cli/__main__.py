"""``python -m evidence_service.cli`` runs the ``evidence`` command."""

from evidence_service.cli import main

main()
