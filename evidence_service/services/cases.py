"""Cases and their evidence items, always scoped to the caller's department."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from evidence_service.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from evidence_service.domain.models import (
    Case,
    Classification,
    EvidenceItem,
    Principal,
    Role,
)
from evidence_service.domain.rules import is_canonical_uuid
from evidence_service.ports import Clock, UnitOfWork

_logger = logging.getLogger(__name__)

#: Roles that may open cases and add evidence to them.
WRITE_ROLES = (Role.OFFICER, Role.DEPARTMENT_ADMIN)
#: Roles that may read cases and items of their own department.
READ_ROLES = (Role.OFFICER, Role.DEPARTMENT_ADMIN, Role.REVIEWER, Role.VERIFIER, Role.AUDITOR)


def require(principal: Principal, roles: Sequence[Role], action: str) -> None:
    """Raise PermissionDenied unless the principal holds one of ``roles``."""
    if not principal.has_any(*roles):
        raise PermissionDenied(f"your role does not allow {action}")


class CaseService:
    """Create and read cases and items of the caller's own department."""

    def __init__(self, *, uow: UnitOfWork, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def create_case(self, principal: Principal, *, case_number: str, title: str,
                    cause_of_action: str | None = None, party: str | None = None,
                    classification: Classification = Classification.INTERNAL) -> Case:
        """Open a case in the caller's department. Raises PermissionDenied, Conflict."""
        require(principal, WRITE_ROLES, "opening cases")
        if not case_number.strip() or not title.strip():
            raise InvalidInput("case number and title must not be blank")
        case = Case(id=str(uuid.uuid4()), department_id=principal.department_id,
                    case_number=case_number.strip(), title=title.strip(),
                    cause_of_action=cause_of_action, party=party,
                    classification=classification, created_by=principal.id,
                    created_at=self._clock.now())
        with self._uow() as repo:
            if repo.get_case_by_number(case.case_number, principal.department_id):
                raise Conflict(f"case number {case.case_number!r} already exists")
            repo.add_case(case)
        _logger.info("case created id=%s department=%s", case.id, case.department_id)
        return case

    def list_cases(self, principal: Principal) -> Sequence[Case]:
        """Cases of the caller's department."""
        require(principal, (*READ_ROLES, Role.DEVICE), "reading cases")
        with self._uow(read_only=True) as repo:
            return repo.list_cases(principal.department_id)

    def get_case(self, principal: Principal, case_id: str) -> Case:
        """One case of the caller's department; raises NotFound for any other."""
        require(principal, (*READ_ROLES, Role.DEVICE), "reading cases")
        if not is_canonical_uuid(case_id):
            raise NotFound("case not found")
        with self._uow(read_only=True) as repo:
            case = repo.get_case(case_id, principal.department_id)
        if case is None:
            raise NotFound("case not found")
        return case

    def list_items(self, principal: Principal, case_id: str) -> Sequence[EvidenceItem]:
        """Items of one case of the caller's department; raises NotFound."""
        require(principal, READ_ROLES, "reading evidence")
        if not is_canonical_uuid(case_id):
            raise NotFound("case not found")
        with self._uow(read_only=True) as repo:
            if repo.get_case(case_id, principal.department_id) is None:
                raise NotFound("case not found")
            return repo.list_items(case_id, principal.department_id)

    def get_item(self, principal: Principal, item_id: str) -> EvidenceItem:
        """One item of the caller's department; raises NotFound for any other.

        A device may read back only the items it uploaded itself (PermissionDenied otherwise).
        """
        require(principal, (*READ_ROLES, Role.DEVICE), "reading evidence")
        if not is_canonical_uuid(item_id):
            raise NotFound("evidence item not found")
        with self._uow(read_only=True) as repo:
            item = repo.get_item(item_id, principal.department_id)
        if item is None:
            raise NotFound("evidence item not found")
        if not principal.has_any(*READ_ROLES) and item.created_by != principal.id:
            raise PermissionDenied("a device may read only the items it uploaded")
        return item
