"""Finding related evidence: tag search and the relationship graph of a case.

Both read only the caller's department. Another department's case answers NotFound exactly
like an unknown id, and another department's items never match a search.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from evidence_service.domain.errors import InvalidInput, NotFound
from evidence_service.domain.graph import CaseGraph, build_case_graph
from evidence_service.domain.models import EvidenceItem, Principal
from evidence_service.domain.rules import is_canonical_uuid
from evidence_service.domain.search import DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT, ItemSearch
from evidence_service.ports import UnitOfWork
from evidence_service.services.cases import READ_ROLES, require

_logger = logging.getLogger(__name__)


class GraphService:
    """Tag search over items and the relationship graph of one case."""

    def __init__(self, *, uow: UnitOfWork) -> None:
        self._uow = uow

    def search_items(self, principal: Principal, *, limit: int = DEFAULT_SEARCH_LIMIT,
                     offset: int = 0,
                     **criteria: str | datetime | None) -> Sequence[EvidenceItem]:
        """Items of the caller's department matching every criterion (see ``ItemSearch``).

        Oldest first, then by id, so pages are stable. Raises PermissionDenied for roles
        that may not read evidence, InvalidInput when no criterion is given, a time lacks a
        timezone, the time range is inverted, ``case_id`` is not a UUID or ``limit``/``offset``
        are out of range.
        """
        require(principal, READ_ROLES, "reading evidence")
        if not 1 <= limit <= MAX_SEARCH_LIMIT:
            raise InvalidInput(f"limit must be between 1 and {MAX_SEARCH_LIMIT}")
        if offset < 0:
            raise InvalidInput("offset must not be negative")
        search = ItemSearch.build(**criteria)
        if search.case_id is not None and not is_canonical_uuid(search.case_id):
            raise InvalidInput("case_id must be a UUID")
        with self._uow(read_only=True) as repo:
            items = repo.search_items(principal.department_id, search, limit=limit,
                                      offset=offset)
        _logger.info("item search department=%s criteria=%s hits=%d", principal.department_id,
                     sorted(search.model_dump(exclude_none=True)), len(items))
        return items

    def case_graph(self, principal: Principal, case_id: str) -> CaseGraph:
        """The relationship graph of one case of the caller's department.

        Raises PermissionDenied for roles that may not read evidence and NotFound for an
        unknown id and another department's case alike.
        """
        require(principal, READ_ROLES, "reading evidence")
        if not is_canonical_uuid(case_id):
            raise NotFound("case not found")
        with self._uow(read_only=True) as repo:
            case = repo.get_case(case_id, principal.department_id)
            department = repo.get_department(principal.department_id)
            if case is None or department is None:
                raise NotFound("case not found")
            items = repo.list_items(case_id, principal.department_id)
            users = repo.list_users(principal.department_id)
        officers = {u.badge_number.strip(): u for u in users if u.badge_number}
        return build_case_graph(case=case, department=department, items=items,
                                officers=officers)
