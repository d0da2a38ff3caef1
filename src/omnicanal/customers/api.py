from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from omnicanal.access.deps import Allow
from omnicanal.access.rules import Permission, Principal, require_location
from omnicanal.access.scope import customer_filter_for, require_customer_access
from omnicanal.audit.rules import AuditAction
from omnicanal.audit.service import record_access, route_of
from omnicanal.customers import duplicates, merging, service
from omnicanal.customers.errors import CustomerNotFound
from omnicanal.customers.models import Customer, CustomerMerge
from omnicanal.customers.rules import IdentifierKind
from omnicanal.customers.schemas import CustomerIn, CustomerOut, CustomerPatch, IdentifierIn
from omnicanal.customers.view360 import customer_360, customer_out
from omnicanal.customers.view_schemas import Customer360Out, DuplicateOut, MergeIn, MergeOut
from omnicanal.kit.deps import SessionDep
from omnicanal.kit.pagination import Page, Paging, page_of
from omnicanal.kit.transaction import TransactionalRoute
from omnicanal.privacy.requests import record_request
from omnicanal.privacy.rules import RequestKind

router = APIRouter(prefix="/api/v1/customers", tags=["customers"], route_class=TransactionalRoute)
Reader = Annotated[Principal, Allow(Permission.CUSTOMERS_READ)]
Writer = Annotated[Principal, Allow(Permission.CUSTOMERS_WRITE)]


async def _out(session: SessionDep, customer: Customer) -> CustomerOut:
    return customer_out(customer, (await service.identifiers_of(session, [customer.id]))[customer.id])


async def _audit(session: SessionDep, request: Request, principal: Principal, action: AuditAction,
                 subject: str | list[str] | None) -> None:
    await record_access(session, principal=principal, action=action, subject_type="customer", subject_id=subject,
                        route=route_of(request))


async def _reach(session: SessionDep, request: Request, principal: Principal, action: AuditAction,
                 customer_id: str) -> None:
    """Audit the access to one customer, then refuse it if the caller's stores do not reach them."""
    await _audit(session, request, principal, action, customer_id)
    await require_customer_access(session, principal, customer_id)


@router.post("", response_model=CustomerOut, status_code=201,
             responses={409: {"description": "An identifier already belongs to another customer; nothing written."}})
async def create_customer(session: SessionDep, request: Request, principal: Writer, body: CustomerIn,
                          response: Response) -> CustomerOut:
    """Create a customer; their email and phone become identifiers alongside those given. A store role
    registers customers of its own store (the default home store)."""
    if principal.store_scoped:
        body.home_location = body.home_location or principal.locations[0]
        require_location(principal, body.home_location)
    customer = await service.create_customer(session, customer=body)
    await _audit(session, request, principal, AuditAction.CREATE, customer.id)
    response.headers["Location"] = f"/api/v1/customers/{customer.id}"
    return await _out(session, customer)


@router.get("", response_model=Page[CustomerOut])
async def list_customers(session: SessionDep, request: Request, principal: Reader, paging: Paging,
                         home_location: str | None = None) -> Page[CustomerOut]:
    """Customers in the order they were created (a store role: its own store's customers)."""
    rows = await service.list_customers(session, home_location=home_location, after_id=paging.after_one(str),
                                        limit=paging.limit + 1, scope=customer_filter_for(principal))
    identifiers = await service.identifiers_of(session, [row.id for row in rows])
    page = page_of([customer_out(row, identifiers[row.id]) for row in rows], paging, lambda out: (out.id,))
    await _audit(session, request, principal, AuditAction.READ, [c.id for c in page.items])
    return page


@router.get("/lookup", response_model=CustomerOut)
async def lookup_customer(session: SessionDep, request: Request, principal: Reader, kind: IdentifierKind,
                          value: Annotated[str, Query(min_length=1, max_length=320)]) -> CustomerOut:
    """The customer a channel knows by this identifier, written any way the channel writes it."""
    customer = await service.find_customer(session, kind=kind.value, value=value)
    if customer is None:
        raise CustomerNotFound(f"No customer has this {kind.value} identifier.")
    await _reach(session, request, principal, AuditAction.READ, customer.id)
    return await _out(session, customer)


@router.get("/duplicates", response_model=Page[DuplicateOut])
async def list_duplicates(session: SessionDep, request: Request, principal: Reader, paging: Paging,
                          ) -> Page[DuplicateOut]:
    """Pairs of records that are probably one person (alike names and something else in common), most likely
    first, for someone to confirm with a merge."""
    found = [_duplicate_out(d) for d in await duplicates.all_duplicates(session, scope=customer_filter_for(principal))]
    if (after := paging.after(int, str, str)) is not None:
        found = [d for d in found if (-d.score, d.customer, d.duplicate) > (-after[0], after[1], after[2])]
    page = page_of(found[:paging.limit + 1], paging, lambda d: (d.score, d.customer, d.duplicate))
    await _audit(session, request, principal, AuditAction.READ, sorted({i for d in page.items
                                                                       for i in (d.customer, d.duplicate)}))
    return page


@router.get("/{customer_id}", response_model=CustomerOut)
async def get_customer(session: SessionDep, request: Request, principal: Reader, customer_id: str) -> CustomerOut:
    await _reach(session, request, principal, AuditAction.READ, customer_id)
    return await _out(session, await service.get_customer(session, customer_id))


@router.patch("/{customer_id}", response_model=CustomerOut)
async def update_customer(session: SessionDep, request: Request, principal: Writer, customer_id: str,
                          body: CustomerPatch) -> CustomerOut:
    """Change (rectify) a customer's details; a new email or phone replaces the matching identifier. A change
    is recorded as a rectification request, naming the fields changed."""
    await _reach(session, request, principal, AuditAction.UPDATE, customer_id)
    before = await _out(session, await service.get_customer(session, customer_id))
    after = await _out(session, await service.update_customer(session, customer_id=customer_id, changes=body))
    changed = sorted(name for name in CustomerPatch.model_fields if getattr(before, name) != getattr(after, name))
    if changed:
        await record_request(session, kind=RequestKind.RECTIFICATION, customer_id=customer_id, principal=principal,
                             details={"changed": changed})
    return after


@router.post("/{customer_id}/identifiers", response_model=CustomerOut, status_code=201,
             responses={200: {"description": "The customer already had this identifier; nothing changed."}})
async def add_identifier(session: SessionDep, request: Request, principal: Writer, customer_id: str,
                         body: IdentifierIn, response: Response) -> CustomerOut:
    """Let the customer be found by one more identifier (a loyalty card, an app id, a till's number…). A
    ``device`` or ``app_id`` also stitches the device's earlier anonymous activity to the customer."""
    await _reach(session, request, principal, AuditAction.UPDATE, customer_id)
    if not await service.add_identifier(session, customer_id=customer_id, kind=body.kind.value, value=body.value):
        response.status_code = 200
    return await _out(session, await service.get_customer(session, customer_id))


@router.delete("/{customer_id}/identifiers/{kind}/{value:path}", status_code=204)
async def remove_identifier(session: SessionDep, request: Request, principal: Writer, customer_id: str,
                            kind: IdentifierKind, value: str) -> Response:
    """Stop finding the customer by this identifier (not their profile email or phone)."""
    await _reach(session, request, principal, AuditAction.UPDATE, customer_id)
    await service.remove_identifier(session, customer_id=customer_id, kind=kind.value, value=value)
    return Response(status_code=204)


@router.get("/{customer_id}/360", response_model=Customer360Out)
async def get_customer_360(
    session: SessionDep, request: Request, principal: Reader, customer_id: str,
    orders: Annotated[int, Query(ge=1, le=500, description="How many of the latest orders to include.")] = 50,
) -> Customer360Out:
    """Everything about the customer at a glance — profile, identifiers, orders of every channel with their
    fulfilment, returns, store visits, browsing, consents — for the associate at the till."""
    await _reach(session, request, principal, AuditAction.READ, customer_id)
    return await customer_360(session, customer_id, orders_limit=orders)


@router.get("/{customer_id}/duplicates", response_model=list[DuplicateOut])
async def get_duplicates(session: SessionDep, request: Request, principal: Reader,
                         customer_id: str) -> list[DuplicateOut]:
    """Records probably of the same person as this one, most likely first."""
    await _reach(session, request, principal, AuditAction.READ, customer_id)
    return [_duplicate_out(d) for d in await duplicates.duplicates_of(session, customer_id,
                                                                     scope=customer_filter_for(principal))]


@router.post("/{customer_id}/merge", response_model=MergeOut, status_code=201)
async def merge_customer(session: SessionDep, request: Request, principal: Writer, customer_id: str,
                         body: MergeIn) -> MergeOut:
    """Merge ``duplicate`` into this customer: orders, returns, identifiers, activity and consents move here,
    missing details are taken over, the duplicate is deleted, and the merge is recorded."""
    for subject in (customer_id, body.duplicate):
        await _reach(session, request, principal, AuditAction.UPDATE, subject)
    merge = await merging.merge_customers(session, survivor_id=customer_id, duplicate_id=body.duplicate,
                                          reason=body.reason, principal=principal)
    return _merge_out(merge)


@router.get("/{customer_id}/merges", response_model=list[MergeOut])
async def list_merges(session: SessionDep, request: Request, principal: Reader, customer_id: str) -> list[MergeOut]:
    """How this record came to be: the records merged into it, by whom, why, and what moved."""
    await _reach(session, request, principal, AuditAction.READ, customer_id)
    return [_merge_out(m) for m in await merging.merge_history(session, customer_id)]


def _duplicate_out(d: duplicates.Duplicate) -> DuplicateOut:
    other = d.second
    return DuplicateOut(customer=d.first.id, duplicate=other.id, score=d.likeness.score,
                        reasons=list(d.likeness.reasons),
                        duplicate_name=f"{other.first_name or ''} {other.last_name or ''}".strip(),
                        duplicate_email=other.email, duplicate_phone=other.phone,
                        duplicate_postal_code=(other.address or {}).get("postal_code"),
                        duplicate_birth_date=other.birth_date, duplicate_created_at=other.created_at)


def _merge_out(m: CustomerMerge) -> MergeOut:
    return MergeOut(id=m.id, survivor=m.survivor_id, merged=m.merged_id, merged_by=m.merged_by, reason=m.reason,
                    moved=m.moved, merged_at=m.merged_at)
