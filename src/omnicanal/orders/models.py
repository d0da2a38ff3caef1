from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omnicanal.db import Base, BigIntPK


class Order(Base):
    __tablename__ = "order"
    __table_args__ = (
        UniqueConstraint("channel_code", "external_reference"),
        Index("ix_order_customer_id_created_at", "customer_id", "created_at"),
        Index("ix_order_created_at", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    channel_code: Mapped[str] = mapped_column(ForeignKey("channel.code"))
    location_code: Mapped[str | None] = mapped_column(ForeignKey("location.code"), index=True)
    # endless aisle: the store whose till or kiosk took an order it could not serve from its own shelves
    origin_location: Mapped[str | None] = mapped_column(ForeignKey("location.code"), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(40))
    ship_to: Mapped[dict[str, Any] | None]  # ship: the delivery address (personal data)
    external_reference: Mapped[str | None] = mapped_column(String(100))
    fulfillment: Mapped[str] = mapped_column(String(20))  # ship | carry_out | pickup
    status: Mapped[str] = mapped_column(String(20), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[int] = mapped_column(BigInteger)  # at list prices
    discount_total: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    payment_status: Mapped[str] = mapped_column(String(20))  # pending | authorized | paid | refunded | failed
    payment_reference: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OrderLine(Base):
    __tablename__ = "order_line"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(64), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    location_code: Mapped[str | None] = mapped_column(String(40))
    unit_list_price: Mapped[int] = mapped_column(BigInteger)
    unit_price: Mapped[int] = mapped_column(BigInteger)
    promotion_id: Mapped[str | None] = mapped_column(String(40))
    line_total: Mapped[int] = mapped_column(BigInteger)
