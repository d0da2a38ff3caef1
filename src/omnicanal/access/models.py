from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from omnicanal.db import Base, BigIntPK, JSONType


class ApiKey(Base):
    """An integration's or a person's key. Only a hash of the secret is stored; the secret is shown once.
    ``locations`` scopes a store role to its stores, ``channel`` an integration key to its channel."""

    __tablename__ = "api_key"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    secret_hash: Mapped[str] = mapped_column(String(64))
    locations: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    channel: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class User(Base):
    """A person who signs in to the console. Only an argon2 hash of the password is stored."""

    __tablename__ = "user"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-cased
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    locations: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    channel: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]


class UserSession(Base):
    """A signed-in user's bearer token: ``oms_<id>.<secret>``; only the SHA-256 of the secret is kept."""

    __tablename__ = "user_session"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class LoginFailure(Base):
    """A refused sign-in, kept a short while so that guessing passwords is slowed in every server process."""

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_email_hash_at", "email_hash", "at"),
        Index("ix_login_failure_client_at", "client", "at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    email_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the lower-cased address tried
    client: Mapped[str] = mapped_column(String(64))  # the client's IP address
    at: Mapped[datetime]
