"""Signing in and out of the console, with failed sign-ins slowed down across every server process.

A successful sign-in returns a bearer token ``oms_<session id>.<secret>`` valid for ``session_hours``; only
the secret's SHA-256 is stored. Each failure is written to ``login_failure`` — in its own short
transaction, since the refused request's transaction is rolled back — and past the allowed number of
failures per e-mail or per client address within the window, further tries are answered 429 with
``Retry-After`` before any password is checked.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.access.errors import SignInRefused, SignInThrottled
from omnicanal.access.models import LoginFailure, User, UserSession
from omnicanal.access.service import secret_hash
from omnicanal.access.users import find_user_by_email, normalise_email, password_matches
from omnicanal.config import Settings
from omnicanal.kit.clock import utcnow
from omnicanal.kit.errors import InvalidRequest
from omnicanal.kit.ids import new_id
from omnicanal.kit.transaction import write_afterwards


@dataclass(frozen=True)
class SignedIn:
    user: User
    token: str
    expires_at: datetime


def _email_hash(email: str) -> str:
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


async def _check_throttle(session: AsyncSession, *, email_hash: str, client: str, settings: Settings,
                          now: datetime) -> None:
    window = timedelta(minutes=settings.login_failure_window_minutes)
    for column, value, limit in ((LoginFailure.email_hash, email_hash, settings.login_failures_per_email),
                                 (LoginFailure.client, client, settings.login_failures_per_client)):
        recent = (await session.scalars(select(LoginFailure.at).where(column == value, LoginFailure.at > now - window)
                                        .order_by(LoginFailure.at.desc()).limit(limit))).all()
        if len(recent) >= limit:
            retry_after = max(1, int((recent[-1] + window - now).total_seconds()) + 1)
            raise SignInThrottled(f"Too many failed sign-ins; try again in {retry_after} seconds.",
                                  retry_after=retry_after)


def _remember_failure(session: AsyncSession, *, email_hash: str, client: str, now: datetime) -> None:
    failure = LoginFailure(email_hash=email_hash, client=client[:64], at=now)

    async def write(writer: AsyncSession, status: int) -> None:
        writer.add(LoginFailure(email_hash=failure.email_hash, client=failure.client, at=failure.at))

    if not write_afterwards(session, write):
        session.add(failure)


async def sign_in(session: AsyncSession, *, email: str, password: str, client: str, settings: Settings) -> SignedIn:
    """Open a session for the user with this e-mail and password, or refuse (401; 429 once throttled)."""
    now, email_hash = utcnow(), _email_hash(email)
    await _check_throttle(session, email_hash=email_hash, client=client, settings=settings, now=now)
    user = await find_user_by_email(session, email)
    if not password_matches(user.password_hash if user else None, password) or user is None or not user.active:
        _remember_failure(session, email_hash=email_hash, client=client, now=now)
        raise SignInRefused("Wrong e-mail or password, or the account is deactivated.")
    await session.execute(delete(LoginFailure).where(LoginFailure.email_hash == email_hash))
    secret = secrets.token_urlsafe(32)
    opened = UserSession(id=new_id("ses"), user_id=user.id, secret_hash=secret_hash(secret), created_at=now,
                         expires_at=now + timedelta(hours=settings.session_hours), revoked_at=None)
    session.add(opened)
    user.last_login_at = now
    await session.flush()
    return SignedIn(user=user, token=f"oms_{opened.id}.{secret}", expires_at=opened.expires_at)


async def sign_out(session: AsyncSession, *, session_id: str | None) -> None:
    """End the caller's session. API keys and the admin token have none: they are revoked, not signed out."""
    if session_id is None:
        raise InvalidRequest("Only a signed-in user's session can be signed out; revoke an API key instead.",
                             code="not-a-session")
    await session.execute(update(UserSession).where(UserSession.id == session_id, UserSession.revoked_at.is_(None))
                          .values(revoked_at=utcnow()))


async def forget_old_sign_in_records(session: AsyncSession, *, now: datetime, settings: Settings) -> int:
    """Drop failures older than the window and sessions ended more than a day ago (housekeeping)."""
    window = timedelta(minutes=settings.login_failure_window_minutes)
    failures = await session.execute(delete(LoginFailure).where(LoginFailure.at < now - window))
    ended = await session.execute(delete(UserSession).where(
        func.coalesce(UserSession.revoked_at, UserSession.expires_at) < now - timedelta(days=1)))
    return int((failures.rowcount or 0) + (ended.rowcount or 0))  # type: ignore[attr-defined]
