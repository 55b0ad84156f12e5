"""First-start demo data: departments of a small agency and one account per role."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from evidence_service.domain.models import DepartmentKind, Role
from evidence_service.services.identity import IdentityService

_logger = logging.getLogger(__name__)

DEMO_DEPARTMENTS = [
    ("SYS", "系统管理 System administration", DepartmentKind.GOVERNANCE),
    ("ENF", "综合行政执法支队 Enforcement bureau", DepartmentKind.ENFORCEMENT),
    ("PEN", "行政处罚科 Penalty department", DepartmentKind.REVIEW),
    ("CRT", "人民法院 People's court", DepartmentKind.COURT),
]
DEMO_USERS = [
    ("admin", "SYS", [Role.SYSTEM_ADMIN]),
    ("enf-admin", "ENF", [Role.DEPARTMENT_ADMIN]),
    ("enf-officer", "ENF", [Role.OFFICER]),
    ("enf-reviewer", "ENF", [Role.REVIEWER]),
    ("pen-admin", "PEN", [Role.DEPARTMENT_ADMIN]),
    ("pen-reviewer", "PEN", [Role.REVIEWER]),
    ("crt-verifier", "CRT", [Role.VERIFIER]),
    ("crt-auditor", "CRT", [Role.AUDITOR]),
]


@dataclass(frozen=True)
class Credential:
    username: str
    password: str
    department: str
    roles: list[Role]


def bootstrap_demo(identity: IdentityService) -> list[Credential]:
    """Create the demo departments and users once; returns their credentials (empty if done)."""
    if identity.list_departments():
        return []
    departments = {code: identity.create_department(None, code=code, name=name, kind=kind)
                   for code, name, kind in DEMO_DEPARTMENTS}
    created = []
    for i, (username, code, roles) in enumerate(DEMO_USERS):
        password = secrets.token_urlsafe(12)
        identity.create_user(None, department_id=departments[code].id, username=username,
                             password=password, roles=roles,
                             badge_number=f"{code}{1000 + i}" if Role.OFFICER in roles else None)
        created.append(Credential(username, password, code, roles))
    _logger.info("demo departments and users created")
    return created
