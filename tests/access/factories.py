"""Users and sign-ins for the access tests."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from omnicanal.access.models import LoginFailure, User, UserSession
from omnicanal.access.rules import Role
from omnicanal.access.users import create_user
from omnicanal.audit.models import AuditEntry
from omnicanal.db import Database
from omnicanal.events.models import OutboxEvent

PROBLEM = "application/problem+json"
PASSWORD = "correct horse battery"


def is_problem(response: httpx.Response, status: int) -> bool:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == status and response.json()["detail"]
    return True


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def make_user(db: Database, email: str = "lea.martin@example.test", role: Role = Role.STORE_ASSOCIATE,
                    *, locations: list[str] | None = None, channel: str | None = None,
                    password: str = PASSWORD) -> str:
    if locations is None and role in (Role.STORE_ASSOCIATE, Role.STORE_MANAGER):
        locations = ["LYO-PDI"]
    async with db.writer() as session:
        user = await create_user(session, email=email, name=email.split("@")[0], role=role, password=password,
                                 locations=locations or [], channel=channel)
        await session.commit()
        return user.id


async def sign_in(anonymous: httpx.AsyncClient, email: str = "lea.martin@example.test",
                  password: str = PASSWORD, **headers: str) -> httpx.Response:
    return await anonymous.post("/api/v1/auth/login", json={"email": email, "password": password}, headers=headers)


async def token_of(anonymous: httpx.AsyncClient, email: str = "lea.martin@example.test") -> str:
    response = await sign_in(anonymous, email)
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


async def rows(db: Database, model: Any) -> list[Any]:
    async with db.reader() as session:
        return list((await session.scalars(select(model))).all())


async def access_state(db: Database) -> tuple[Any, ...]:
    """Users, sessions, events as stored: what a refused request must leave unchanged."""
    users = [(u.id, u.email, u.name, u.role, u.locations, u.channel, u.active, u.password_hash)
             for u in sorted(await rows(db, User), key=lambda u: u.id)]
    sessions = sorted((s.id, s.revoked_at) for s in await rows(db, UserSession))
    events = sorted((e.id, e.type) for e in await rows(db, OutboxEvent))
    return users, sessions, events


__all__ = ["AuditEntry", "LoginFailure", "UserSession", "access_state", "bearer", "is_problem", "make_user", "rows",
           "sign_in", "token_of"]
