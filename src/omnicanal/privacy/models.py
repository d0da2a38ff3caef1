from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from omnicanal.db import Base, BigIntPK


class Consent(Base):
    """One grant or withdrawal of consent for a purpose — append-only: a change of mind is a new row."""

    __tablename__ = "consent"
    __table_args__ = (Index("ix_consent_customer_id_purpose_at", "customer_id", "purpose", "at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(30))
    granted: Mapped[bool]
    at: Mapped[datetime]  # when the customer made the choice
    channel_code: Mapped[str] = mapped_column(String(40))  # where: web, app, pos …
    policy_version: Mapped[str] = mapped_column(String(40))  # the privacy policy they were shown
    source: Mapped[str | None] = mapped_column(String(200))  # how: "checkout checkbox", "preference centre" …
    recorded_by: Mapped[str] = mapped_column(String(64))  # the key or user that reported it
    recorded_at: Mapped[datetime]


class PrivacyRequest(Base):
    """A data subject's request (access, rectification, erasure) or a retention erasure: who asked, when, and
    what came of it. After an erasure ``customer_id`` holds the anonymous token, never the erased id."""

    __tablename__ = "privacy_request"
    __table_args__ = (Index("ix_privacy_request_customer_id", "customer_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # access | rectification | erasure | retention
    customer_id: Mapped[str] = mapped_column(String(40))
    requested_by: Mapped[str] = mapped_column(String(64))  # the principal's key or user id, or "system"
    requested_by_name: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(20))  # completed
    details: Mapped[dict[str, Any]]
