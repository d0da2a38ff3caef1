"""Console users: created and changed by an admin, passwords hashed with argon2 (never stored in clear).

Users are staff, not customers; their events carry ids, roles and scopes but never an e-mail or a name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.access.errors import UserEmailTaken, UserNotFound
from omnicanal.access.models import User, UserSession
from omnicanal.access.rules import Role
from omnicanal.access.service import check_scope
from omnicanal.events.service import record_event
from omnicanal.kit.clock import utcnow
from omnicanal.kit.errors import InvalidRequest
from omnicanal.kit.ids import new_id

MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so that a miss costs as long as a wrong password."""
    return _hasher.hash("not a password of anyone")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``; refuses passwords shorter than 12 characters."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidRequest(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.", code="password-too-short")
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    """Constant-effort check: an unknown user (``None``) is checked against a dummy hash and never matches."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def _data(user: User) -> dict[str, Any]:
    return {"id": user.id, "role": user.role, "locations": list(user.locations or []), "channel": user.channel,
            "active": user.active}


async def create_user(session: AsyncSession, *, email: str, name: str, role: Role, password: str,
                      locations: Sequence[str] = (), channel: str | None = None) -> User:
    """Create a console user with a role and, for store roles, their stores."""
    email = normalise_email(email)
    await check_scope(session, role, locations, channel)
    if await session.scalar(select(User.id).where(User.email == email)) is not None:
        raise UserEmailTaken(f"A user already signs in as {email}.")
    user = User(id=new_id("usr"), email=email, name=name.strip(), password_hash=hash_password(password),
                role=role.value, locations=sorted(set(locations)), channel=channel, active=True,
                created_at=utcnow(), last_login_at=None)
    session.add(user)
    await session.flush()
    await record_event(session, "user.created", user.id, _data(user))
    return user


async def get_user(session: AsyncSession, user_id: str) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise UserNotFound(f"No user {user_id}.")
    return user


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == normalise_email(email)))


async def list_users(session: AsyncSession, *, after_id: str | None, limit: int, active: bool | None = None,
                     role: Role | None = None) -> list[User]:
    """Users by id, optionally only the active (or deactivated) ones, or one role's."""
    query = select(User).order_by(User.id).limit(limit)
    if after_id is not None:
        query = query.where(User.id > after_id)
    if active is not None:
        query = query.where(User.active.is_(active))
    if role is not None:
        query = query.where(User.role == role.value)
    return list((await session.scalars(query)).all())


@dataclass(frozen=True)
class UserChanges:
    name: str | None = None
    role: Role | None = None
    locations: Sequence[str] | None = None
    channel: str | None = None
    active: bool | None = None
    password: str | None = None


def _new_scope(user: User, changes: UserChanges) -> tuple[Role, list[str], str | None]:
    role = changes.role or Role(user.role)
    if role.value != user.role:  # a new role starts from the scope sent with it, not the old role's
        return role, sorted(set(changes.locations or [])), changes.channel
    locations = user.locations or [] if changes.locations is None else changes.locations
    return role, sorted(set(locations)), changes.channel or user.channel


async def update_user(session: AsyncSession, *, user_id: str, changes: UserChanges) -> User:
    """Change a user's name, role, scope, password or activity. A new role, scope or password, or a
    deactivation, ends the user's open sessions (they sign in again with their new rights)."""
    user = await get_user(session, user_id)
    role, locations, channel = _new_scope(user, changes)
    await check_scope(session, role, locations, channel)
    rights_changed = ((role.value, locations, channel) != (user.role, list(user.locations or []), user.channel)
                      or changes.password is not None or changes.active is False)
    if changes.name is not None:
        user.name = changes.name.strip()
    if changes.password is not None:
        user.password_hash = hash_password(changes.password)
    if changes.active is not None:
        user.active = changes.active
    user.role, user.locations, user.channel = role.value, locations, channel
    if rights_changed:
        await end_sessions(session, user_id=user.id)
    await session.flush()
    await record_event(session, "user.deactivated" if changes.active is False else "user.updated", user.id,
                       _data(user))
    return user


async def deactivate_user(session: AsyncSession, *, user_id: str) -> User:
    """The user can no longer sign in, and their open sessions end now."""
    return await update_user(session, user_id=user_id, changes=UserChanges(active=False))


async def end_sessions(session: AsyncSession, *, user_id: str) -> None:
    """Sign a user out everywhere."""
    await session.execute(update(UserSession).where(UserSession.user_id == user_id,
                                                     UserSession.revoked_at.is_(None)).values(revoked_at=utcnow()))
