"""The register of data subjects' requests: who asked for what about whom, when, and what came of it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.access.rules import Principal
from omnicanal.kit.clock import utcnow
from omnicanal.kit.ids import new_id
from omnicanal.privacy.models import PrivacyRequest
from omnicanal.privacy.rules import RequestKind

SYSTEM_ID, SYSTEM_NAME = "system", "Omnicanal (retention job)"


async def record_request(session: AsyncSession, *, kind: RequestKind, customer_id: str, principal: Principal | None,
                         details: dict[str, Any], outcome: str = "completed") -> PrivacyRequest:
    """Write the request to the register (``principal=None``: the hub itself, e.g. the retention job)."""
    row = PrivacyRequest(
        id=new_id("prq"), kind=kind.value, customer_id=customer_id,
        requested_by=principal.key_id if principal else SYSTEM_ID,
        requested_by_name=principal.name if principal else SYSTEM_NAME,
        requested_at=utcnow(), outcome=outcome, details=details)
    session.add(row)
    await session.flush()
    return row


async def list_requests(session: AsyncSession, *, customer_id: str | None = None, kind: str | None = None,
                        before_id: str | None = None, limit: int = 50) -> list[PrivacyRequest]:
    """Requests newest first, for one customer and/or one kind."""
    query = select(PrivacyRequest).order_by(PrivacyRequest.id.desc()).limit(limit)
    if customer_id is not None:
        query = query.where(PrivacyRequest.customer_id == customer_id)
    if kind is not None:
        query = query.where(PrivacyRequest.kind == kind)
    if before_id is not None:
        query = query.where(PrivacyRequest.id < before_id)
    return list((await session.scalars(query)).all())
