"""Recording and reading the audit log of personal data.

Over HTTP, reads run in a read-only transaction that is always rolled back, and a refused change is rolled
back too; yet both must leave a trace. So :func:`record_access` hands its rows to
:func:`omnicanal.kit.transaction.write_afterwards`: they are written in a short transaction of their own once
the request's transaction has ended, with the outcome the caller actually got (``done``, ``refused``,
``failed``). Outside a request (CLI, jobs) the rows are added to the caller's session and committed with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.access.rules import Principal, Role
from omnicanal.audit.models import AuditEntry
from omnicanal.audit.rules import AuditAction, outcome_of
from omnicanal.kit.clock import utcnow
from omnicanal.kit.transaction import write_afterwards

SYSTEM = Principal(key_id="system", name="Omnicanal (scheduled job)", role=Role.ADMIN, kind="system")


def route_of(request: Request) -> str:
    """``"GET /api/v1/customers/{customer_id}"``: the route's template, so entries group by endpoint."""
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path_format', request.url.path)}"


async def record_access(session: AsyncSession, *, principal: Principal | None, action: AuditAction | str,
                        subject_type: str, subject_id: str | Sequence[str] | None, route: str) -> None:
    """Record that ``principal`` (``None``: the hub itself, e.g. the retention job) did ``action`` on a
    person's data — one row per subject when ``subject_id`` is a list (a page of customers).

    ``route`` says through what: use :func:`route_of` over HTTP, or e.g. ``"cli gdpr export"``.
    """
    who = principal or SYSTEM
    ids: list[str | None] = [subject_id] if subject_id is None or isinstance(subject_id, str) else list(subject_id)
    if not ids:
        return
    common: dict[str, Any] = dict(
        at=utcnow(), principal_id=who.key_id, principal_kind=who.kind, principal_role=str(who.role),
        action=AuditAction(action).value, subject_type=subject_type, route=route[:200])

    async def write(writer: AsyncSession, status: int) -> None:
        writer.add_all(AuditEntry(**common, subject_id=sid, outcome=outcome_of(status), status=status) for sid in ids)

    if not write_afterwards(session, write):
        session.add_all(AuditEntry(**common, subject_id=sid, outcome=outcome_of(None), status=None) for sid in ids)


@dataclass(frozen=True)
class AuditFilter:
    subject_type: str | None = None
    subject_id: str | None = None
    principal_id: str | None = None
    action: AuditAction | None = None


async def list_audit_entries(session: AsyncSession, *, filters: AuditFilter, before_id: int | None,
                             limit: int) -> list[AuditEntry]:
    """Entries newest first, narrowed by ``filters``."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    if filters.subject_type is not None:
        query = query.where(AuditEntry.subject_type == filters.subject_type)
    if filters.subject_id is not None:
        query = query.where(AuditEntry.subject_id == filters.subject_id)
    if filters.principal_id is not None:
        query = query.where(AuditEntry.principal_id == filters.principal_id)
    if filters.action is not None:
        query = query.where(AuditEntry.action == filters.action.value)
    return list((await session.scalars(query)).all())


async def record_customer_read(session: AsyncSession, request: Request, principal: Principal,
                               *customer_ids: str | None) -> None:
    """Record that ``principal`` read what an endpoint holds on these customers (a return, a try-on, a pickup
    naming them); anonymous sales (``None``) leave no trace, and each person is written once."""
    ids = sorted({cid for cid in customer_ids if cid})
    await record_access(session, principal=principal, action=AuditAction.READ, subject_type="customer",
                        subject_id=ids, route=route_of(request))
