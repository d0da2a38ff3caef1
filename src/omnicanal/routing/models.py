"""Routing's tables: per-location rates and capacity, each order's routing decisions, the parcels of its
current plan (what daily capacity counts) and the rejections stores made."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from omnicanal.db import Base, BigIntPK


class RoutingProfile(Base):
    """A location's own routing figures, overriding the cost model's defaults for its kind.
    ``daily_capacity`` ``None``: no limit."""

    __tablename__ = "routing_profile"

    location_code: Mapped[str] = mapped_column(ForeignKey("location.code"), primary_key=True)
    handling_per_parcel: Mapped[int] = mapped_column(Integer)
    picking_per_unit: Mapped[int] = mapped_column(Integer)
    daily_capacity: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime]


class RoutingDecision(Base):
    """One routing of an order (on placement, after a rejection, by a batch): the plan, its cost and why.
    No foreign key to the order: the decision is written before the order row, in the same transaction."""

    __tablename__ = "routing_decision"
    __table_args__ = (Index("ix_routing_decision_order_id_id", "order_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(String(40))
    trigger: Mapped[str] = mapped_column(String(20))  # placed | rejected | batch
    cost: Mapped[int | None] = mapped_column(BigInteger)  # None: nothing could be routed
    plan: Mapped[dict[str, Any]]
    at: Mapped[datetime]


class RoutingParcel(Base):
    """A parcel of an order's current plan: the location sends it, and it counts against that location's
    capacity on ``routed_on`` (the location's local date when it was routed there)."""

    __tablename__ = "routing_parcel"
    __table_args__ = (Index("ix_routing_parcel_location_code_routed_on", "location_code", "routed_on"),)

    order_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    location_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    routed_on: Mapped[date] = mapped_column(Date)
    routed_at: Mapped[datetime]


class RoutingRejection(Base):
    """A location's refusal to send (part of) an order, with the reason that decided the stock effect."""

    __tablename__ = "routing_rejection"
    __table_args__ = (Index("ix_routing_rejection_order_id", "order_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(String(40))
    location_code: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(20))  # not_in_stock | count_mismatch | damaged | no_variance
    lines: Mapped[dict[str, Any]]  # {"lines": [{"line_no", "sku", "quantity", "counted"?, "units"?}]}
    note: Mapped[str | None] = mapped_column(String(300))
    at: Mapped[datetime]
