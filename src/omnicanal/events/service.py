"""Recording events in the outbox and reading them back in order."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.db import table_of
from omnicanal.events.models import OutboxEvent
from omnicanal.kit.clock import utcnow
from omnicanal.kit.prebuilt import Prebuilt

SOURCE = "/omnicanal"
SEQUENCE_LOCK = 7_411_001  # PostgreSQL advisory lock that serialises sequence assignment
# What every channel's system may read whatever channel it concerns: the catalog, prices, the network, stock
# and its holds and transfers, the stores' service settings — network-wide facts without any person in them.
SHARED_TYPES = ("product.", "category.", "price.", "promotion.", "location.", "channel.", "stock.", "reservation.",
                "transfer.", "pickup.settings_changed", "tryon.settings_changed", "tryon.day_capacity_changed",
                "routing.profile_updated")


_INSERT_EVENTS = Prebuilt(insert(table_of(OutboxEvent)))  # on every write: run by the driver directly


@dataclass(frozen=True)
class Event:
    type: str
    subject: str
    data: dict[str, Any]


async def record_events(session: AsyncSession, events: Iterable[Event]) -> None:
    """Write events to the outbox in the caller's transaction (one INSERT for all of them)."""
    now = utcnow()
    rows = [
        {"event_id": str(uuid.uuid4()), "type": e.type, "subject": e.subject, "time": now, "data": e.data,
         "channel": channel if isinstance(channel := e.data.get("channel"), str) else None}
        for e in events
    ]
    if rows:
        await _INSERT_EVENTS.run_many_later(session, rows)


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
    session: AsyncSession, *, after: int, limit: int, types: list[str] | None = None, subject: str | None = None,
    scope: ColumnElement[bool] | None = None,
) -> list[OutboxEvent]:
    """Numbered events after ``after``, in order; ``scope``: an extra ``WHERE`` (a channel's key sees its own)."""
    query = select(OutboxEvent).where(OutboxEvent.sequence > after)
    if scope is not None:
        query = query.where(scope)
    if types:
        query = query.where(OutboxEvent.type.in_(types))
    if subject:
        query = query.where(OutboxEvent.subject == subject)
    return list((await session.scalars(query.order_by(OutboxEvent.sequence).limit(limit))).all())
