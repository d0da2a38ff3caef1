from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from omnicanal.db import Base, BigIntPK
from omnicanal.kit.crypto import SealedDate, SealedJSON, SealedText

# The columns that hold personal data, kept in one place: access, rectification, erasure and encryption
# (GDPR) must cover exactly these, plus the identifiers' values. Each is sealed at rest (kit.crypto).
PERSONAL_FIELDS = ("first_name", "last_name", "email", "phone", "birth_date", "address")


class Customer(Base):
    """One person, whichever channels know them. ``email`` and ``phone`` are also identifiers.
    Personal fields are encrypted at rest: they read clear in Python but cannot be searched in SQL."""

    __tablename__ = "customer"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    first_name: Mapped[str | None] = mapped_column(SealedText("customer.first_name"))
    last_name: Mapped[str | None] = mapped_column(SealedText("customer.last_name"))
    email: Mapped[str | None] = mapped_column(SealedText("customer.email"))
    phone: Mapped[str | None] = mapped_column(SealedText("customer.phone"))
    birth_date: Mapped[date | None] = mapped_column(SealedDate("customer.birth_date"))
    address: Mapped[dict[str, Any]] = mapped_column(SealedJSON("customer.address"), default=dict)
    home_location_code: Mapped[str | None] = mapped_column(ForeignKey("location.code"), index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CustomerIdentifier(Base):
    """How one channel knows a customer. ``(kind, value)`` is unique across the whole hub: ``digest`` is the
    blind index of the normalised value (found by equality), ``value`` the value itself, sealed at rest."""

    __tablename__ = "customer_identifier"

    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(SealedText("customer_identifier.value"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]


class CustomerMatchKey(Base):
    """Blind indexes of what two records of one person tend to share (postal code and surname initial, e-mail
    local part, birth date): the blocks within which probable duplicates are looked for."""

    __tablename__ = "customer_match_key"
    __table_args__ = (Index("ix_customer_match_key_kind_digest", "kind", "digest"),)

    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))


class CustomerActivity(Base):
    """What a device did on a channel — a product view, a cart addition, a search, a store visit — anonymous
    until the device is linked to a customer (then ``customer_id`` is stitched in). The device is kept as a
    blind index of its id (:func:`omnicanal.customers.crypto.device_digest`), never in clear."""

    __tablename__ = "customer_activity"
    __table_args__ = (
        Index("ix_customer_activity_customer_id_at", "customer_id", "at"),
        Index("ix_customer_activity_device_digest_customer_id", "device_digest", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    device_digest: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customer.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))  # product_view | cart_add | search | store_visit
    channel_code: Mapped[str | None] = mapped_column(String(40))
    sku: Mapped[str | None] = mapped_column(String(64))
    location_code: Mapped[str | None] = mapped_column(String(40))
    search: Mapped[str | None] = mapped_column(SealedText("customer_activity.search"))
    at: Mapped[datetime]
    recorded_at: Mapped[datetime]


class CustomerMerge(Base):
    """Two records found to be one person: who merged them, when, why, and what moved to the survivor."""

    __tablename__ = "customer_merge"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    survivor_id: Mapped[str] = mapped_column(String(40), index=True)
    merged_id: Mapped[str] = mapped_column(String(40), index=True)
    merged_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(SealedText("customer_merge.reason"))
    moved: Mapped[dict[str, Any]]
    merged_at: Mapped[datetime]
