"""Grading (public / internal sharing / restricted), material labels and approvals.

A restricted item leaves its department (transfer or export) only after a department admin
approves it for that purpose; the approval is itself a custody event in the evidence log.
Re-grading and re-labelling are custody events too, so nobody can quietly downgrade an item
to get it past the rules.
"""

from __future__ import annotations

import logging
import uuid

from evidence_service.domain.custody import CustodyKind
from evidence_service.domain.errors import InvalidInput, NotFound
from evidence_service.domain.models import (
    Approval,
    Classification,
    EvidenceItem,
    Principal,
    Role,
)
from evidence_service.domain.policy import Purpose
from evidence_service.domain.rules import is_canonical_uuid
from evidence_service.ports import Clock, Repository, UnitOfWork
from evidence_service.services.cases import require
from evidence_service.services.custody import record_event

_logger = logging.getLogger(__name__)
_MAX_NOTE = 1000


class GradingService:
    """Approve restricted items for transfer or export; change grades and labels."""

    def __init__(self, *, uow: UnitOfWork, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def approve(self, principal: Principal, item_id: str, *, purpose: Purpose,
                note: str | None, client: str) -> Approval:
        """A department admin approves an item of their department for ``purpose``.

        Raises PermissionDenied, NotFound, InvalidInput.
        """
        require(principal, (Role.DEPARTMENT_ADMIN,), "approving evidence to leave the department")
        if note is not None and len(note) > _MAX_NOTE:
            raise InvalidInput(f"an approval note is at most {_MAX_NOTE} characters")
        now = self._clock.now()
        with self._uow() as repo:
            item = self._item(repo, principal, item_id)
            event = record_event(repo, kind=CustodyKind.APPROVAL_GRANTED, principal=principal,
                                 client=client, at=now, case_id=item.case_id, item=item,
                                 subject=purpose, note=note)
            approval = Approval(id=str(uuid.uuid4()), item_id=item.id,
                                department_id=principal.department_id, purpose=purpose,
                                granted_by=principal.id, granted_at=now,
                                log_index=event.log_index, note=note)
            repo.add_approval(approval)
        _logger.info("approval granted item=%s purpose=%s by=%s", item.id, purpose, principal.id)
        return approval

    def regrade(self, principal: Principal, item_id: str, *,
                classification: Classification | None, labels: frozenset[str] | None,
                client: str) -> EvidenceItem:
        """Change an item's grade or material labels (department admin); a custody event."""
        require(principal, (Role.DEPARTMENT_ADMIN,), "grading evidence")
        if classification is None and labels is None:
            raise InvalidInput("give a classification, labels or both")
        now = self._clock.now()
        with self._uow() as repo:
            item = self._item(repo, principal, item_id)
            update: dict[str, object] = {}
            if classification is not None:
                update["classification"] = classification
            if labels is not None:
                update["labels"] = labels
            item = item.model_copy(update=update)
            repo.save_item(item)
            summary = f"classification={item.classification.value} " \
                      f"labels={','.join(sorted(item.labels))}"
            record_event(repo, kind=CustodyKind.GRADED, principal=principal, client=client,
                         at=now, case_id=item.case_id, item=item,
                         subject=item.classification.value, note=summary)
        return item

    @staticmethod
    def _item(repo: Repository, principal: Principal, item_id: str) -> EvidenceItem:
        item = repo.get_item(item_id, principal.department_id) if is_canonical_uuid(
            item_id) else None
        if item is None or item.log_index is None:
            raise NotFound("evidence item not found")
        return item
