"""API keys (issued, listed, revoked) and the verification of every bearer token.

A key reads ``omk_<key id>.<secret>``; a signed-in user's session token ``oms_<session id>.<secret>``. The id
finds the row, the SHA-256 of the high-entropy secret is compared in constant time. Verified tokens are
remembered for a few seconds so that a busy till fleet does not pay a database round trip per request
(revocation from another process therefore takes effect within that delay; in this process at once).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import Scope

from omnicanal.access.models import ApiKey, User, UserSession
from omnicanal.access.rules import Permission, Principal, Role, role_allows, scope_problem
from omnicanal.kit.clock import utcnow
from omnicanal.kit.errors import InvalidRequest, NotFound
from omnicanal.kit.ids import new_id
from omnicanal.network.models import Channel, Location

__all__ = ["IssuedKey", "KeyVerifier", "Principal", "check_scope", "create_api_key", "list_api_keys",
           "revoke_api_key", "secret_hash"]


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    token: str


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_scope_shape(role: Role, locations: Sequence[str], channel: str | None) -> None:
    """Raise :class:`InvalidRequest` when the scope does not suit the role (no database needed)."""
    problem = scope_problem(role, locations, channel)
    if problem is not None:
        raise InvalidRequest(problem, code="scope-invalid")


async def check_scope(session: AsyncSession, role: Role, locations: Sequence[str], channel: str | None) -> None:
    """Raise :class:`InvalidRequest` unless the scope suits the role and names existing stores and channel —
    a mistyped store code would otherwise leave a person seeing nothing, silently."""
    check_scope_shape(role, locations, channel)
    if locations:
        known = set((await session.scalars(select(Location.code).where(Location.code.in_(locations)))).all())
        unknown = sorted(set(locations) - known)
        if unknown:
            raise InvalidRequest(f"Unknown location(s): {', '.join(unknown)}.", code="scope-invalid")
    if channel and await session.scalar(select(func.count()).where(Channel.code == channel)) == 0:
        raise InvalidRequest(f"Unknown channel: {channel}.", code="scope-invalid")


async def create_api_key(session: AsyncSession, *, name: str, role: Role, locations: Sequence[str] = (),
                         channel: str | None = None) -> IssuedKey:
    """Create a key; the returned token is the only time the secret exists in clear. The scope's shape is
    checked here; call :func:`check_scope` first to also check that its stores and channel exist."""
    check_scope_shape(role, locations, channel)
    key_id = new_id("key")
    secret = secrets.token_urlsafe(32)
    key = ApiKey(id=key_id, name=name, role=role.value, secret_hash=secret_hash(secret), created_at=utcnow(),
                 locations=sorted(set(locations)), channel=channel)
    session.add(key)
    await session.flush()
    return IssuedKey(key=key, token=f"omk_{key_id}.{secret}")


async def list_api_keys(session: AsyncSession, *, after_id: str | None, limit: int) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.id).limit(limit)
    if after_id is not None:
        query = query.where(ApiKey.id > after_id)
    return list((await session.scalars(query)).all())


async def revoke_api_key(session: AsyncSession, *, key_id: str) -> None:
    result = await session.execute(
        update(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None)).values(revoked_at=utcnow()))
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"No active API key {key_id}.")


def _split(token: str, prefix: str) -> tuple[str, str] | None:
    if not token.startswith(prefix) or "." not in token:
        return None
    row_id, _, secret = token[len(prefix):].partition(".")
    return row_id, secret


async def _load_key(session: AsyncSession, token: str) -> Principal | None:
    parts = _split(token, "omk_")
    if parts is None:
        return None
    key = await session.scalar(select(ApiKey).where(ApiKey.id == parts[0], ApiKey.revoked_at.is_(None)))
    if key is None or not hmac.compare_digest(key.secret_hash, secret_hash(parts[1])):
        return None
    return Principal(key_id=key.id, name=key.name, role=Role(key.role), locations=tuple(key.locations or ()),
                     channel=key.channel)


async def _load_session(session: AsyncSession, token: str) -> Principal | None:
    parts = _split(token, "oms_")
    if parts is None:
        return None
    row = (await session.execute(
        select(UserSession, User).join(User, User.id == UserSession.user_id)
        .where(UserSession.id == parts[0], UserSession.revoked_at.is_(None), User.active.is_(True)))).first()
    if row is None:
        return None
    user_session, user = row
    if user_session.expires_at <= utcnow() or not hmac.compare_digest(user_session.secret_hash,
                                                                      secret_hash(parts[1])):
        return None
    return Principal(key_id=user.id, name=user.name, role=Role(user.role), locations=tuple(user.locations or ()),
                     channel=user.channel, kind="user", expires_at=user_session.expires_at,
                     session_id=user_session.id)


ADMIN_TOKEN_PRINCIPAL = Principal(key_id="admin-token", name="OMNICANAL_ADMIN_TOKEN", role=Role.ADMIN,
                                  kind="admin_token")


@dataclass
class KeyVerifier:
    """Verifies bearer tokens — API keys, users' session tokens, the admin token — trusting a verified one
    for ``cache_seconds`` (never past a session's expiry)."""

    admin_token: str | None
    cache_seconds: float
    _cache: dict[str, tuple[float, Principal | None]] = field(default_factory=dict)

    async def verify(self, session: AsyncSession, token: str) -> Principal | None:
        if self._is_admin(token):
            return ADMIN_TOKEN_PRINCIPAL
        if (cached := self._fresh(token)) is not None:
            return cached[1]
        now = time.monotonic()
        principal = await (_load_session if token.startswith("oms_") else _load_key)(session, token)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[token] = (now + self.cache_seconds, principal)
        return principal

    def trusted(self, token: str) -> Principal | None:
        """Who ``token`` is without reading the database — the admin token, or a token verified within
        ``cache_seconds``; ``None`` when that would take a read (or the token is known to be no one)."""
        if self._is_admin(token):
            return ADMIN_TOKEN_PRINCIPAL
        cached = self._fresh(token)
        return cached[1] if cached is not None else None

    def _is_admin(self, token: str) -> bool:
        return bool(self.admin_token) and hmac.compare_digest(token.encode(), str(self.admin_token).encode())

    def _fresh(self, token: str) -> tuple[float, Principal | None] | None:
        cached = self._cache.get(token)
        return cached if cached and cached[0] > time.monotonic() and not _expired(cached[1]) else None

    def forget(self, key_id: str) -> None:
        """Stop trusting a key, or every session of a user, in this process at once (other processes within
        ``cache_seconds``). ``key_id`` may also be a session id."""
        self._cache = {token: entry for token, entry in self._cache.items()
                       if entry[1] is None or key_id not in (entry[1].key_id, entry[1].session_id)}


_BEARER = b"bearer "


def trusted_caller(scope: Scope, permission: Permission) -> Principal | None:
    """Who an ASGI request's bearer token names, when that takes no database read (:meth:`KeyVerifier.trusted`)
    and their role grants ``permission``; ``None`` otherwise — for the shortcuts answering the hottest requests
    before FastAPI, which leave every other case (and its error) to the route."""
    token = _bearer_token(scope)
    verifier: KeyVerifier = scope["app"].state.key_verifier
    principal = verifier.trusted(token) if token else None
    return principal if principal is not None and role_allows(principal.role, permission) else None


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":  # the first, as the route reads it
            if value[:7].lower() != _BEARER:
                return None
            return value[7:].decode("latin-1").strip() or None
    return None


def _expired(principal: Principal | None) -> bool:
    return principal is not None and principal.expires_at is not None and principal.expires_at <= utcnow()
