"""Login and identity administration: departments, users, device tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from evidence_service.api.deps import CurrentPrincipal, ServicesDep
from evidence_service.api.guards import GuardedRoute
from evidence_service.api.schemas import (
    DepartmentIn,
    DepartmentOut,
    DeviceTokenCreated,
    DeviceTokenIn,
    LoginIn,
    PrincipalOut,
    TokenOut,
    UserIn,
    UserOut,
)

router = APIRouter(tags=["identity"], route_class=GuardedRoute)


@router.post("/auth/login", response_model=TokenOut)
def login(body: LoginIn, services: ServicesDep, request: Request) -> TokenOut:
    """Exchange a username and password for a JWT (429 after repeated failures)."""
    host = request.client.host if request.client else ""
    token, user = services.identity.login(body.username, body.password, client=host)
    return TokenOut(access_token=token, expires_in=services.settings.jwt_ttl_seconds,
                    user_id=user.id, department_id=user.department_id, roles=sorted(user.roles))


@router.get("/auth/me", response_model=PrincipalOut)
def me(principal: CurrentPrincipal) -> PrincipalOut:
    """Who the token belongs to."""
    return PrincipalOut(kind=principal.kind, id=principal.id, name=principal.name,
                        department_id=principal.department_id, roles=sorted(principal.roles))


@router.get("/departments", response_model=list[DepartmentOut])
def list_departments(principal: CurrentPrincipal, services: ServicesDep) -> list[DepartmentOut]:
    """All departments (names and codes only: needed to address transfers)."""
    return [DepartmentOut.model_validate(d) for d in services.identity.list_departments()]


@router.post("/departments", response_model=DepartmentOut, status_code=status.HTTP_201_CREATED)
def create_department(body: DepartmentIn, principal: CurrentPrincipal,
                      services: ServicesDep) -> DepartmentOut:
    """Create a department (system administrators)."""
    dept = services.identity.create_department(principal, code=body.code, name=body.name,
                                               kind=body.kind)
    if services.ledger is not None:
        address = services.transfers.provision_department(dept.id)
        dept = dept.model_copy(update={"chain_address": address})
    return DepartmentOut.model_validate(dept)


@router.post("/departments/{department_id}/users", response_model=UserOut,
             status_code=status.HTTP_201_CREATED)
def create_user(department_id: str, body: UserIn, principal: CurrentPrincipal,
                services: ServicesDep) -> UserOut:
    """Create a user (system admin, or the department's own admin)."""
    user = services.identity.create_user(
        principal, department_id=department_id, username=body.username, password=body.password,
        roles=body.roles, display_name=body.display_name, badge_number=body.badge_number)
    return UserOut.model_validate(user)


@router.get("/departments/{department_id}/users", response_model=list[UserOut])
def list_users(department_id: str, principal: CurrentPrincipal,
               services: ServicesDep) -> list[UserOut]:
    """Users of a department (its admins and system admins; others get 404)."""
    users = services.identity.list_users(principal, department_id)
    return [UserOut.model_validate(u) for u in users]


@router.post("/device-tokens", response_model=DeviceTokenCreated,
             status_code=status.HTTP_201_CREATED)
def create_device_token(body: DeviceTokenIn, principal: CurrentPrincipal,
                        services: ServicesDep) -> DeviceTokenCreated:
    """Register a recorder docking station of the caller's department; the token shows once."""
    token, plaintext = services.identity.create_device_token(
        principal, device_id=body.device_id, label=body.label or body.device_id)
    return DeviceTokenCreated(**token.model_dump(exclude={"token_sha256", "created_by"}),
                              token=plaintext)


@router.delete("/device-tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_device_token(token_id: str, principal: CurrentPrincipal,
                        services: ServicesDep) -> None:
    """Revoke a docking-station token of the caller's department."""
    services.identity.revoke_device_token(principal, token_id)
