from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from omnicanal.audit.rules import AuditAction


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    principal_id: str
    principal_kind: str
    principal_role: str
    action: AuditAction
    subject_type: str
    subject_id: str | None
    route: str
    outcome: str
    status: int | None
