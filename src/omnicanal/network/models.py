from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from omnicanal.db import Base


class Location(Base):
    """A store or a warehouse. ``opening_hours`` maps ``mon``…``sun`` to ``[["09:00", "19:00"], …]``."""

    __tablename__ = "location"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # store | warehouse
    address: Mapped[dict[str, Any]] = mapped_column(default=dict)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(60), default="Europe/Paris")
    opening_hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sells: Mapped[bool] = mapped_column(Boolean, default=True)
    ships: Mapped[bool] = mapped_column(Boolean, default=False)
    pickup: Mapped[bool] = mapped_column(Boolean, default=False)
    returns: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Channel(Base):
    """A sales channel. ``safety_buffer`` units per location are withheld from what an online channel
    may promise, so that a store's last units are not sold online twice."""

    __tablename__ = "channel"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # web | app | pos | kiosk | marketplace | social
    online: Mapped[bool] = mapped_column(Boolean, default=True)
    safety_buffer: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    @property
    def promise_buffer(self) -> int:
        """Units per location this channel may not promise (tills and kiosks sell what is there)."""
        return self.safety_buffer if self.online else 0
