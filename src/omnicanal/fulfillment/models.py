from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omnicanal.db import Base


class PickupSetting(Base):
    """How one store runs click & collect; a store without a row uses the defaults of ``fulfillment.rules``."""

    __tablename__ = "pickup_setting"

    location_code: Mapped[str] = mapped_column(ForeignKey("location.code"), primary_key=True)
    preparation_minutes: Mapped[int] = mapped_column(Integer)  # opening minutes from goods in store to ready
    holding_days: Mapped[int] = mapped_column(Integer)  # how long a ready order waits for its customer
    transfer_hours: Mapped[int] = mapped_column(Integer)  # clock hours for goods sent from another location
    updated_at: Mapped[datetime]


class PickupTask(Base):
    """The store's side of a click & collect order: its promise, its pickup code and its timeline.

    The order's status is the task's state (confirmed → preparing → ready → collected | expired | cancelled);
    the timestamps are kept here for the KPIs (ordered is the order's ``created_at``).
    """

    __tablename__ = "pickup_task"
    __table_args__ = (Index("ix_pickup_task_location_code_order_id", "location_code", "order_id"),)

    order_id: Mapped[str] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), primary_key=True)
    location_code: Mapped[str] = mapped_column(ForeignKey("location.code"))
    promised_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    ready_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
    collected_at: Mapped[datetime | None]
    expired_at: Mapped[datetime | None]
    refused_at: Mapped[datetime | None]  # the store refused the order: the customer is asked to choose …
    decide_by: Mapped[datetime | None] = mapped_column(index=True)  # … until then; after, it is cancelled
    code_digest: Mapped[str | None] = mapped_column(String(64))
    code_attempts: Mapped[int] = mapped_column(Integer, default=0)
    short_picks: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PickupInbound(Base):
    """An order line whose units come to the pickup store from another location.

    While ``transfer_id`` is empty the units are reserved at ``from_location``; once dispatched they travel in
    that inventory transfer (reserved nowhere); once received they are reserved at the pickup store.
    """

    __tablename__ = "pickup_inbound"

    order_id: Mapped[str] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)
    from_location: Mapped[str] = mapped_column(ForeignKey("location.code"))
    transfer_id: Mapped[str | None] = mapped_column(ForeignKey("transfer.id"), index=True)
    created_at: Mapped[datetime]
    dispatched_at: Mapped[datetime | None]
    received_at: Mapped[datetime | None]


class Shipment(Base):
    """A parcel: what left one location for the customer, with whom, at what cost, and when it arrived."""

    __tablename__ = "shipment"
    __table_args__ = (UniqueConstraint("carrier", "tracking_number"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    location_code: Mapped[str | None] = mapped_column(ForeignKey("location.code"))
    carrier: Mapped[str | None] = mapped_column(String(60))
    tracking_number: Mapped[str | None] = mapped_column(String(100))
    cost_amount: Mapped[int | None] = mapped_column(BigInteger)
    cost_currency: Mapped[str | None] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20))  # shipped | delivered
    shipped_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class ShipmentLine(Base):
    __tablename__ = "shipment_line"

    shipment_id: Mapped[str] = mapped_column(ForeignKey("shipment.id", ondelete="CASCADE"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)  # the order line's number
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)
