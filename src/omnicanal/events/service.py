"""Recording events in the outbox and reading them back in order."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.db import table_of
from omnicanal.events.models import OutboxEvent
from omnicanal.kit.clock import utcnow

SOURCE = "/omnicanal"
SEQUENCE_LOCK = 7_411_001  # PostgreSQL advisory lock that serialises sequence assignment


_INSERT_EVENTS = insert(table_of(OutboxEvent))


@dataclass(frozen=True)
class Event:
    type: str
    subject: str
    data: dict[str, Any]


async def record_events(session: AsyncSession, events: Iterable[Event]) -> None:
    """Write events to the outbox in the caller's transaction (one INSERT for all of them)."""
    now = utcnow()
    rows = [
        {"event_id": str(uuid.uuid4()), "type": e.type, "subject": e.subject, "time": now, "data": e.data}
        for e in events
    ]
    if rows:
        connection = await session.connection()
        await connection.execute(_INSERT_EVENTS, rows)


async def record_event(session: AsyncSession, type: str, subject: str, data: dict[str, Any]) -> None:
    await record_events(session, [Event(type, subject, data)])


async def assign_sequences(session: AsyncSession) -> None:
    """Number committed, not-yet-numbered events in id order. Numbers grow in visibility order, so a reader
    that has seen sequence N will find every later-committed event above N."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SEQUENCE_LOCK})
    top = await session.scalar(select(func.coalesce(func.max(OutboxEvent.sequence), 0)))
    pending = (await session.scalars(
        select(OutboxEvent.id).where(OutboxEvent.sequence.is_(None)).order_by(OutboxEvent.id).limit(5000)
    )).all()
    if pending:
        await session.execute(
            update(OutboxEvent),
            [{"id": event_id, "sequence": int(top or 0) + n} for n, event_id in enumerate(pending, start=1)],
        )


async def list_events(
    session: AsyncSession, *, after: int, limit: int, types: list[str] | None = None, subject: str | None = None
) -> list[OutboxEvent]:
    query = select(OutboxEvent).where(OutboxEvent.sequence > after)
    if types:
        query = query.where(OutboxEvent.type.in_(types))
    if subject:
        query = query.where(OutboxEvent.subject == subject)
    return list((await session.scalars(query.order_by(OutboxEvent.sequence).limit(limit))).all())
