"""Departments, users, device tokens, login (argon2 + JWT) and request authentication."""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from evidence_service.domain.errors import (
    AuthenticationError,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from evidence_service.domain.models import (
    Department,
    DepartmentKind,
    DeviceToken,
    Principal,
    Role,
    User,
)
from evidence_service.domain.rules import is_canonical_uuid
from evidence_service.ports import Clock, UnitOfWork
from evidence_service.services.throttle import LoginThrottle

_logger = logging.getLogger(__name__)
DEVICE_TOKEN_PREFIX = "evd_"
#: how long a playback grant (``grant_media``) lets a browser read an item's bytes
MEDIA_GRANT_TTL = timedelta(hours=1)
_JWT_ALGORITHM = "HS256"
#: Argon2id with m=12 MiB, t=3, p=1, one of the equivalent configurations the OWASP Password
#: Storage Cheat Sheet recommends (it trades memory for passes). Against the library default
#: (m=64 MiB, t=3, p=4) each login needs a fifth of the memory, so a burst of logins cannot
#: exhaust a small server. Hashes made with other parameters still verify.
_hasher = PasswordHasher(time_cost=3, memory_cost=12288, parallelism=1)


@cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so both failures take the same time."""
    return _hasher.hash(secrets.token_urlsafe(16))



def hash_password(password: str) -> str:
    """Argon2id hash of a password; raises InvalidInput for passwords under 10 characters."""
    if len(password) < 10:
        raise InvalidInput("password must be at least 10 characters")
    return _hasher.hash(password)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class IdentityService:
    """Creates identities and turns credentials into a :class:`Principal`."""

    def __init__(self, *, uow: UnitOfWork, clock: Clock, jwt_secret: str,
                 jwt_ttl: timedelta, previous_secrets: Sequence[str] = ()) -> None:
        self._uow = uow
        self._clock = clock
        self._secret = jwt_secret
        #: Verification keys, current first: tokens signed before a rotation stay valid
        #: until they expire; nothing new is signed with an old secret.
        self._keys = (jwt_secret, *previous_secrets)
        self._ttl = jwt_ttl
        #: 5 failures lock a username for 15 min; 30 lock a client address (an office
        #: behind one NAT must not be locked out by one person's typos).
        self._user_throttle = LoginThrottle(limit=5)
        self._client_throttle = LoginThrottle(limit=30)

    # -- administration ----------------------------------------------------------------------
    def create_department(self, actor: Principal | None, *, code: str, name: str,
                          kind: DepartmentKind) -> Department:
        """Create a department (system admins only; ``actor=None`` for bootstrap).

        Raises PermissionDenied, Conflict if the code exists.
        """
        if actor is not None and not actor.has_any(Role.SYSTEM_ADMIN):
            raise PermissionDenied("only a system administrator can create departments")
        dept = Department(id=str(uuid.uuid4()), code=code, name=name, kind=kind,
                          created_at=self._clock.now())
        with self._uow() as repo:
            if repo.get_department_by_code(code) is not None:
                raise Conflict(f"department code {code!r} already exists")
            repo.add_department(dept)
        _logger.info("department created id=%s code=%s", dept.id, code)
        return dept

    def create_user(self, actor: Principal | None, *, department_id: str, username: str,
                    password: str, roles: Iterable[Role], display_name: str | None = None,
                    badge_number: str | None = None) -> User:
        """Create a user. Department admins may create users in their own department only.

        Raises PermissionDenied, NotFound (department), Conflict (username), InvalidInput.
        """
        role_set = frozenset(roles)
        if not role_set or Role.DEVICE in role_set:
            raise InvalidInput("a user needs at least one role, and 'device' is not a user role")
        if actor is not None:
            own = actor.department_id == department_id and actor.has_any(Role.DEPARTMENT_ADMIN)
            if not (actor.has_any(Role.SYSTEM_ADMIN) or own):
                raise PermissionDenied("not allowed to create users in this department")
            if Role.SYSTEM_ADMIN in role_set and not actor.has_any(Role.SYSTEM_ADMIN):
                raise PermissionDenied("only a system administrator can grant system_admin")
        user = User(id=str(uuid.uuid4()), department_id=department_id, username=username,
                    display_name=display_name or username, roles=role_set,
                    badge_number=badge_number, password_hash=hash_password(password),
                    created_at=self._clock.now())
        with self._uow() as repo:
            if repo.get_department(department_id) is None:
                raise NotFound("department not found")
            if repo.get_user_by_username(username) is not None:
                raise Conflict(f"username {username!r} is taken")
            repo.add_user(user)
        _logger.info("user created id=%s department=%s", user.id, department_id)
        return user

    def list_departments(self) -> Sequence[Department]:
        """All departments (codes and names are not secret: transfers address them)."""
        with self._uow(read_only=True) as repo:
            return repo.list_departments()

    def list_users(self, actor: Principal, department_id: str) -> Sequence[User]:
        """Users of a department, for its own admins and system admins; NotFound otherwise."""
        own = actor.department_id == department_id and actor.has_any(Role.DEPARTMENT_ADMIN)
        if not (own or actor.has_any(Role.SYSTEM_ADMIN)):
            raise NotFound("department not found")
        with self._uow(read_only=True) as repo:
            return repo.list_users(department_id)

    def create_device_token(self, actor: Principal, *, device_id: str,
                            label: str) -> tuple[DeviceToken, str]:
        """Issue a docking-station token for the actor's department; the plaintext is returned once.

        Raises PermissionDenied unless the actor is a department admin.
        """
        if not actor.has_any(Role.DEPARTMENT_ADMIN):
            raise PermissionDenied("only a department administrator can register devices")
        plaintext = DEVICE_TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = DeviceToken(id=str(uuid.uuid4()), department_id=actor.department_id,
                            device_id=device_id, label=label,
                            token_sha256=_token_digest(plaintext), created_by=actor.id,
                            created_at=self._clock.now())
        with self._uow() as repo:
            repo.add_device_token(token)
        _logger.info("device token issued id=%s device=%s", token.id, device_id)
        return token, plaintext

    def revoke_device_token(self, actor: Principal, token_id: str) -> None:
        """Revoke a device token of the actor's department. Raises PermissionDenied, NotFound."""
        if not actor.has_any(Role.DEPARTMENT_ADMIN):
            raise PermissionDenied("only a department administrator can revoke devices")
        with self._uow() as repo:
            if not (is_canonical_uuid(token_id) and repo.revoke_device_token(
                    token_id, actor.department_id, self._clock.now())):
                raise NotFound("device token not found")

    # -- authentication -----------------------------------------------------------------------
    def login(self, username: str, password: str, *, client: str = "") -> tuple[str, User]:
        """Check a password and return a signed JWT.

        Raises AuthenticationError, and TooManyAttempts while the username or the client
        address is locked out after repeated failures.
        """
        user_keys, client_keys = [username.casefold()], [client] if client else []
        now = self._clock.now()
        self._user_throttle.check(user_keys, now)
        self._client_throttle.check(client_keys, now)
        try:
            token, user = self._check_password(username, password)
        except AuthenticationError:
            self._user_throttle.failed(user_keys, now)
            self._client_throttle.failed(client_keys, now)
            raise
        self._user_throttle.succeeded(user_keys)
        return token, user

    def _check_password(self, username: str, password: str) -> tuple[str, User]:
        with self._uow(read_only=True) as repo:
            user = repo.get_user_by_username(username)
        try:
            _hasher.verify(user.password_hash if user else _dummy_hash(), password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            user = None
        if user is None or not user.active:
            raise AuthenticationError("wrong username or password")
        now = self._clock.now()
        claims: dict[str, Any] = {
            "sub": user.id, "dept": user.department_id, "typ": "user",
            "iat": int(now.timestamp()), "exp": int((now + self._ttl).timestamp()),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._secret, algorithm=_JWT_ALGORITHM), user

    def authenticate(self, token: str | None) -> Principal:
        """Resolve a bearer token (JWT or device token) to a principal.

        Roles come from the database, not the token, so removing a role takes effect at once.
        Raises AuthenticationError for missing, expired, forged or revoked credentials.
        """
        if not token:
            raise AuthenticationError("missing bearer token")
        if token.startswith(DEVICE_TOKEN_PREFIX):
            return self._authenticate_device(token)
        claims = self._decode(token)
        if claims.get("typ") != "user":  # a media grant is not a bearer token
            raise AuthenticationError("invalid token")
        return self._user_principal(claims)

    def grant_media(self, principal: Principal, item_id: str) -> tuple[str, datetime]:
        """A token that lets ``principal`` read one item's bytes for ``MEDIA_GRANT_TTL``.

        For a browser's media element, which cannot send a bearer header; the API sets it as
        a cookie scoped to the item's media path. Only users get one (not devices). Returns
        the token and its expiry."""
        if principal.kind != "user":
            raise PermissionDenied("only users can play evidence back")
        now = self._clock.now()
        expires = now + MEDIA_GRANT_TTL
        claims: dict[str, Any] = {
            "sub": principal.id, "dept": principal.department_id, "typ": "media",
            "item": item_id, "iat": int(now.timestamp()), "exp": int(expires.timestamp()),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._secret, algorithm=_JWT_ALGORITHM), expires

    def authenticate_media(self, token: str | None, item_id: str) -> Principal:
        """The user a media grant for ``item_id`` was issued to, if it still holds.

        Raises AuthenticationError when the grant is missing, expired, forged, for another
        item, or its user was deactivated or moved to another department."""
        if not token:
            raise AuthenticationError("no playback grant: ask POST /items/{id}/playback")
        claims = self._decode(token)
        if claims.get("typ") != "media" or claims.get("item") != item_id:
            raise AuthenticationError("the playback grant is not for this item")
        return self._user_principal(claims)

    def _user_principal(self, claims: dict[str, Any]) -> Principal:
        with self._uow(read_only=True) as repo:
            user = repo.get_user(str(claims["sub"]))
        if user is None or not user.active or claims.get("dept") != user.department_id:
            raise AuthenticationError("invalid token")
        return Principal(kind="user", id=user.id, department_id=user.department_id,
                         roles=user.roles, name=user.username)

    def _decode(self, token: str) -> dict[str, Any]:
        """Claims of a JWT signed with the current or a previous secret.

        Raises AuthenticationError (expired, forged, malformed)."""
        for key in self._keys:
            try:
                claims: dict[str, Any] = jwt.decode(
                    token, key, algorithms=[_JWT_ALGORITHM],
                    options={"require": ["exp", "iat", "sub"]})
                return claims
            except jwt.InvalidSignatureError:
                continue  # maybe signed before the last rotation
            except jwt.ExpiredSignatureError as exc:
                raise AuthenticationError("token expired") from exc
            except jwt.PyJWTError as exc:
                raise AuthenticationError("invalid token") from exc
        raise AuthenticationError("invalid token")

    def _authenticate_device(self, token: str) -> Principal:
        with self._uow(read_only=True) as repo:
            device = repo.get_device_token_by_hash(_token_digest(token))
        if device is None or device.revoked_at is not None:
            raise AuthenticationError("invalid or revoked device token")
        return Principal(kind="device", id=device.id, department_id=device.department_id,
                         roles=frozenset({Role.DEVICE}), name=device.device_id)
