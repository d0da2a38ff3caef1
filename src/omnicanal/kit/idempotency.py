"""The stored first answer of every write that carried an ``Idempotency-Key`` (sealed at rest: an answer may
hold a customer's personal data)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from omnicanal.db import Base
from omnicanal.kit.crypto import SealedBytes


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_record"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    media_type: Mapped[str | None] = mapped_column(String(100))
    body: Mapped[bytes | None] = mapped_column(SealedBytes("idempotency_record.body"))
    created_at: Mapped[datetime] = mapped_column(index=True)


async def forget_idempotency_records(session: AsyncSession, *, now: datetime, retention_hours: int) -> int:
    """Drop records older than the retention period (a client retries within minutes, not days)."""
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - timedelta(hours=retention_hours)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
