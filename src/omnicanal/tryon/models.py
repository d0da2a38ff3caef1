from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from omnicanal.db import Base


class TryOnSetting(Base):
    """How a store offers try-ons: slot length, bookings per slot, how long articles are held after the slot."""

    __tablename__ = "try_on_setting"

    location_code: Mapped[str] = mapped_column(ForeignKey("location.code"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    slot_minutes: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)  # bookings per slot, unless the day says otherwise
    grace_minutes: Mapped[int] = mapped_column(Integer)
    max_items: Mapped[int] = mapped_column(Integer)  # units one booking may hold
    horizon_days: Mapped[int] = mapped_column(Integer)  # how far ahead slots may be booked
    updated_at: Mapped[datetime]


class TryOnDay(Base):
    """A day whose slots take another number of bookings (a busy Saturday, a short-staffed Monday; 0: none)."""

    __tablename__ = "try_on_day"

    location_code: Mapped[str] = mapped_column(ForeignKey("location.code"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)  # the store's local date
    capacity: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]


class TryOnSlot(Base):
    """The bookings counter of one slot: a place is taken by one conditional UPDATE (``booked < capacity``)."""

    __tablename__ = "try_on_slot"

    location_code: Mapped[str] = mapped_column(ForeignKey("location.code"), primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(primary_key=True)
    booked: Mapped[int] = mapped_column(Integer, default=0)


class TryOn(Base):
    """A customer's booking to try articles at a store; the articles are held until ``hold_until``."""

    __tablename__ = "try_on"
    __table_args__ = (Index("ix_try_on_status_hold_until", "status", "hold_until"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    location_code: Mapped[str] = mapped_column(ForeignKey("location.code"), index=True)
    channel_code: Mapped[str] = mapped_column(ForeignKey("channel.code"))
    customer_id: Mapped[str | None] = mapped_column(String(40), index=True)
    slot_start: Mapped[datetime]
    slot_end: Mapped[datetime]
    hold_until: Mapped[datetime]
    # booked | checked_in | purchased | partially_purchased | declined | cancelled | no_show | expired
    status: Mapped[str] = mapped_column(String(20))
    order_id: Mapped[str | None] = mapped_column(String(40))  # the sale, when bought
    purchase_channel: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    checked_in_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class TryOnLine(Base):
    """An article held for a try-on (one reservation per line), and how many of it were bought."""

    __tablename__ = "try_on_line"

    try_on_id: Mapped[str] = mapped_column(ForeignKey("try_on.id", ondelete="CASCADE"), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)
    reservation_id: Mapped[str] = mapped_column(String(40))
    bought: Mapped[int] = mapped_column(Integer, default=0)
