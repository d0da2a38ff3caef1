from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from omnicanal.db import Base, BigIntPK


class StockLevel(Base):
    """On hand, reserved and safety stock of one SKU at one location — always the ledger's sums."""

    __tablename__ = "stock_level"

    sku: Mapped[str] = mapped_column(ForeignKey("product.sku"), primary_key=True)
    location_code: Mapped[str] = mapped_column(ForeignKey("location.code"), primary_key=True, index=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    safety: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]


class StockMovement(Base):
    """One line of the append-only ledger. Levels are rebuilt by summing the deltas."""

    __tablename__ = "stock_movement"
    __table_args__ = (Index("ix_stock_movement_sku_location", "sku", "location_code"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    sku: Mapped[str] = mapped_column(String(64))
    location_code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    on_hand_delta: Mapped[int] = mapped_column(Integer, default=0)
    reserved_delta: Mapped[int] = mapped_column(Integer, default=0)
    reference: Mapped[str | None] = mapped_column(String(80), index=True)
    reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime]


class Reservation(Base):
    """A hold on stock outside an order (a cart, a try-on) that lapses at ``expires_at``."""

    __tablename__ = "reservation"
    __table_args__ = (Index("ix_reservation_status_expires_at", "status", "expires_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("product.sku"))
    location_code: Mapped[str] = mapped_column(ForeignKey("location.code"))
    quantity: Mapped[int]
    status: Mapped[str] = mapped_column(String(20))  # active | consumed | released | expired
    expires_at: Mapped[datetime | None]
    reference: Mapped[str | None] = mapped_column(String(80), index=True)
    channel_code: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class Transfer(Base):
    __tablename__ = "transfer"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    from_location: Mapped[str] = mapped_column(ForeignKey("location.code"))
    to_location: Mapped[str] = mapped_column(ForeignKey("location.code"))
    status: Mapped[str] = mapped_column(String(20))  # in_transit | received | cancelled
    reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime]
    received_at: Mapped[datetime | None]


class TransferLine(Base):
    __tablename__ = "transfer_line"

    transfer_id: Mapped[str] = mapped_column(ForeignKey("transfer.id", ondelete="CASCADE"), primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("product.sku"), primary_key=True)
    quantity: Mapped[int]
