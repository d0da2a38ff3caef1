from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from omnicanal.db import Base


class OrderReturn(Base):
    """A return (RMA) of some units of one order, received at ``location_code``."""

    __tablename__ = "order_return"
    __table_args__ = (Index("ix_order_return_status_location_code", "status", "location_code"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("order.id"), index=True)
    channel_code: Mapped[str] = mapped_column(String(40))  # the order's channel
    customer_id: Mapped[str | None] = mapped_column(String(40), index=True)
    location_code: Mapped[str] = mapped_column(ForeignKey("location.code"), index=True)  # where it is received
    method: Mapped[str] = mapped_column(String(10))  # in_store | mail
    status: Mapped[str] = mapped_column(String(20))  # requested | received | refunded | cancelled
    currency: Mapped[str] = mapped_column(String(3))
    refund_amount: Mapped[int] = mapped_column(BigInteger)
    refund_reference: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    received_at: Mapped[datetime | None]
    refunded_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]


class OrderReturnLine(Base):
    """Units of one order line coming back, their condition and the share of the refund they carry."""

    __tablename__ = "order_return_line"

    return_id: Mapped[str] = mapped_column(ForeignKey("order_return.id", ondelete="CASCADE"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_line_no: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)
    condition: Mapped[str] = mapped_column(String(10))  # sellable | damaged
    reason: Mapped[str | None] = mapped_column(String(300))
    refund_amount: Mapped[int] = mapped_column(BigInteger)
    restocked_at: Mapped[str | None] = mapped_column(String(40))  # the location (or damaged bin) it went to
