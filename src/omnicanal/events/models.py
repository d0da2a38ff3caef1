from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from omnicanal.db import Base, BigIntPK


class OutboxEvent(Base):
    """A CloudEvents 1.0 event. ``sequence`` is given once the writing transaction is visible, so that a
    channel polling ``?after=`` never skips an event whose transaction committed late."""

    __tablename__ = "outbox_event"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(80), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    time: Mapped[datetime]
    data: Mapped[dict[str, Any]]
    channel: Mapped[str | None] = mapped_column(String(40))  # the sales channel it concerns (data's "channel")
    sequence: Mapped[int | None] = mapped_column(BigInteger, unique=True)
