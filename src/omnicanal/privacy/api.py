from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response

from omnicanal.access.deps import Allow, Public
from omnicanal.access.rules import Permission, Principal
from omnicanal.access.scope import require_customer_access
from omnicanal.audit.rules import AuditAction
from omnicanal.audit.service import record_access, route_of
from omnicanal.customers.service import get_customer
from omnicanal.kit.clock import utcnow
from omnicanal.kit.deps import SessionDep, SettingsDep
from omnicanal.kit.errors import DomainError
from omnicanal.kit.pagination import Page, Paging, page_of
from omnicanal.kit.transaction import TransactionalRoute, WritingRoute
from omnicanal.privacy import consent, erasure, export, requests
from omnicanal.privacy.models import Consent, PrivacyRequest
from omnicanal.privacy.policy import privacy_policy
from omnicanal.privacy.rules import RequestKind
from omnicanal.privacy.schemas import (
    ConsentIn,
    ConsentOut,
    ConsentsOut,
    ConsentStatus,
    ErasureOut,
    PrivacyPolicyOut,
    PrivacyRequestOut,
)

router = APIRouter(prefix="/api/v1", tags=["privacy"], route_class=TransactionalRoute)
# The export is read with GET but records the access request: it needs a writing transaction.
export_router = APIRouter(prefix="/api/v1", tags=["privacy"], route_class=WritingRoute)
Reader = Annotated[Principal, Allow(Permission.CUSTOMERS_READ)]
Writer = Annotated[Principal, Allow(Permission.CUSTOMERS_WRITE)]
Officer = Annotated[Principal, Allow(Permission.PRIVACY)]


async def _reach(session: SessionDep, request: Request, principal: Principal, action: AuditAction,
                 customer_id: str) -> None:
    await record_access(session, principal=principal, action=action, subject_type="customer", subject_id=customer_id,
                        route=route_of(request))
    await require_customer_access(session, principal, customer_id)


@router.get("/privacy-policy", response_model=PrivacyPolicyOut, dependencies=[Public()])
async def get_privacy_policy(settings: SettingsDep) -> PrivacyPolicyOut:
    """The privacy policy in force and its version — public, so that every channel can show it."""
    policy = privacy_policy(settings)
    return PrivacyPolicyOut(version=policy.version, controller=policy.controller, text=policy.text)


@router.post("/customers/{customer_id}/consents", response_model=ConsentsOut, status_code=201)
async def record_consent(session: SessionDep, settings: SettingsDep, request: Request, principal: Writer,
                         customer_id: str, body: ConsentIn) -> ConsentsOut:
    """Record a grant or a withdrawal of consent for one purpose (kept forever: the history is append-only)."""
    await _reach(session, request, principal, AuditAction.UPDATE, customer_id)
    await consent.record_consent(
        session, customer_id=customer_id, purpose=body.purpose, granted=body.granted, channel=body.channel,
        policy_version=body.policy_version or settings.privacy_policy_version, source=body.source, at=body.at,
        principal=principal)
    return await _consents(session, customer_id)


@router.get("/customers/{customer_id}/consents", response_model=ConsentsOut)
async def get_consents(session: SessionDep, request: Request, principal: Reader, customer_id: str) -> ConsentsOut:
    """The consents in force for every purpose, and every grant and withdrawal ever recorded."""
    await _reach(session, request, principal, AuditAction.READ, customer_id)
    return await _consents(session, customer_id)


async def _consents(session: SessionDep, customer_id: str) -> ConsentsOut:
    await get_customer(session, customer_id)
    history = await consent.consent_history(session, customer_id)
    state = consent.consent_state(history, utcnow())
    return ConsentsOut(
        customer=customer_id,
        current=[ConsentStatus(purpose=p, granted=bool(c and c.granted), since=c.at if c else None)
                 for p, c in state.items()],
        history=[_consent_out(c) for c in history])


def _consent_out(c: Consent) -> ConsentOut:
    return ConsentOut(purpose=c.purpose, granted=c.granted, at=c.at, channel=c.channel_code,
                      policy_version=c.policy_version, source=c.source, recorded_by=c.recorded_by,
                      recorded_at=c.recorded_at)


@export_router.get("/customers/{customer_id}/export", response_model=dict[str, Any])
async def export_customer(session: SessionDep, settings: SettingsDep, request: Request, principal: Officer,
                          customer_id: str, response: Response) -> dict[str, Any]:
    """The right of access: everything the hub holds on the customer, from every table, as one JSON document
    (recorded as an access request)."""
    await _reach(session, request, principal, AuditAction.EXPORT, customer_id)
    document = await export.export_customer(session, customer_id=customer_id, principal=principal,
                                            policy_version=settings.privacy_policy_version)
    response.headers["Content-Disposition"] = f'attachment; filename="{customer_id}.json"'  # a known id: ASCII
    return document


@router.post("/customers/{customer_id}/erase", response_model=ErasureOut, responses={
    409: {"description": "An order of the customer is still being fulfilled; nothing erased."}})
async def erase_customer(session: SessionDep, request: Request, principal: Officer, customer_id: str) -> ErasureOut:
    """The right to erasure: every piece of the customer's personal data is deleted or irreversibly anonymised
    — in every table and in stored events; their orders stay in the figures under an anonymous token."""
    audit: dict[str, Any] = dict(principal=principal, action=AuditAction.ERASE, subject_type="customer",
                                 route=route_of(request))
    try:
        await require_customer_access(session, principal, customer_id)
        erased = await erasure.erase_customer(session, customer_id=customer_id, principal=principal)
    except DomainError:
        await record_access(session, subject_id=customer_id, **audit)
        raise
    await record_access(session, subject_id=erased.token, **audit)  # the erased id is not written again
    return ErasureOut(anonymous_token=erased.token, request_id=erased.request_id, rows=erased.rows)


@router.get("/privacy-requests", response_model=Page[PrivacyRequestOut])
async def list_privacy_requests(session: SessionDep, principal: Officer, paging: Paging,
                                customer: str | None = None, kind: RequestKind | None = None,
                                ) -> Page[PrivacyRequestOut]:
    """The register of data subjects' requests (access, rectification, erasure, retention), newest first."""
    rows = await requests.list_requests(session, customer_id=customer, kind=kind.value if kind else None,
                                        before_id=paging.after_one(str), limit=paging.limit + 1)
    return page_of([_request_out(r) for r in rows], paging, lambda out: (out.id,))


def _request_out(r: PrivacyRequest) -> PrivacyRequestOut:
    return PrivacyRequestOut(id=r.id, kind=RequestKind(r.kind), customer=r.customer_id, requested_by=r.requested_by,
                             requested_by_name=r.requested_by_name, requested_at=r.requested_at, outcome=r.outcome,
                             details=r.details)
