from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from omnicanal.db import Base, BigIntPK


class AuditEntry(Base):
    """One read or change of a person's data. Append-only: nothing in the hub updates or deletes a row."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_subject", "subject_type", "subject_id", "id"),
        Index("ix_audit_entry_principal", "principal_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    principal_id: Mapped[str] = mapped_column(String(40))
    principal_kind: Mapped[str] = mapped_column(String(20))  # api_key | user | admin_token | system
    principal_role: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(20), index=True)  # read | create | update | delete | export | erase
    subject_type: Mapped[str] = mapped_column(String(40))  # customer, order, …
    subject_id: Mapped[str | None] = mapped_column(String(64))  # None for a list
    route: Mapped[str] = mapped_column(String(200))  # "GET /api/v1/customers/{customer_id}" or "cli gdpr export"
    outcome: Mapped[str] = mapped_column(String(20))  # done | refused | failed
    status: Mapped[int | None] = mapped_column(SmallInteger)  # the HTTP status answered, when over HTTP
