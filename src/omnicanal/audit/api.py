from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from omnicanal.access.deps import Allow
from omnicanal.access.rules import Permission
from omnicanal.audit import service
from omnicanal.audit.rules import AuditAction
from omnicanal.audit.schemas import AuditEntryOut
from omnicanal.kit.deps import SessionDep
from omnicanal.kit.pagination import Page, Paging, page_of
from omnicanal.kit.transaction import TransactionalRoute

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], route_class=TransactionalRoute,
                   dependencies=[Allow(Permission.ADMIN)])


@router.get("", response_model=Page[AuditEntryOut])
async def list_audit_entries(
    session: SessionDep, paging: Paging,
    subject_type: Annotated[str | None, Query(max_length=40, examples=["customer"])] = None,
    subject_id: Annotated[str | None, Query(max_length=64)] = None,
    principal: Annotated[str | None, Query(max_length=40, description="A user's, key's id or 'admin-token'.")] = None,
    action: Annotated[AuditAction | None, Query()] = None,
) -> Page[AuditEntryOut]:
    """Who read or changed personal data, newest first."""
    rows = await service.list_audit_entries(
        session, filters=service.AuditFilter(subject_type=subject_type, subject_id=subject_id,
                                             principal_id=principal, action=action),
        before_id=paging.after_one(int), limit=paging.limit + 1)
    return page_of([AuditEntryOut.model_validate(row, from_attributes=True) for row in rows], paging,
                   lambda out: (out.id,))
