from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request

from omnicanal.access.deps import Allow
from omnicanal.access.rules import Permission, Principal
from omnicanal.access.scope import require_customer_access
from omnicanal.audit.rules import AuditAction
from omnicanal.audit.service import record_access, route_of
from omnicanal.customers import activity
from omnicanal.customers.activity_schemas import ActivityBatchIn, ActivityRecordedOut, IdentifyIn, IdentifyOut
from omnicanal.kit.deps import SessionDep
from omnicanal.kit.transaction import TransactionalRoute

router = APIRouter(prefix="/api/v1/activity", tags=["customers"], route_class=TransactionalRoute)
Writer = Annotated[Principal, Allow(Permission.CUSTOMERS_WRITE)]


@router.post("", response_model=ActivityRecordedOut, status_code=201)
async def record_activity(session: SessionDep, principal: Writer, body: ActivityBatchIn) -> ActivityRecordedOut:
    """Channels report what devices do — product views, cart additions, searches, store visits — in batches of
    up to 500. Activity of a device known to belong to a customer is theirs; naming the ``customer`` links the
    device and stitches its earlier anonymous activity; a store visit is linked only with the customer's
    consent to in-store tracking, otherwise it is counted anonymously."""
    recorded = await activity.record_activity(session, items=body.items, principal=principal)
    return ActivityRecordedOut(recorded=recorded.recorded, linked=recorded.linked,
                               anonymous_visits=recorded.anonymous_visits, stitched=recorded.stitched)


@router.post("/identify", response_model=IdentifyOut, responses={
    409: {"description": "The device belongs to another customer; nothing written."}})
async def identify(session: SessionDep, request: Request, principal: Writer, body: IdentifyIn) -> IdentifyOut:
    """The device signed in as this customer: the device becomes one of their identifiers and its earlier
    anonymous activity (views, carts, searches) is stitched to them."""
    await record_access(session, principal=principal, action=AuditAction.UPDATE, subject_type="customer",
                        subject_id=body.customer, route=route_of(request))
    await require_customer_access(session, principal, body.customer)
    stitched = await activity.link_device(session, device_id=body.device_id, customer_id=body.customer)
    return IdentifyOut(customer=body.customer, device_id=body.device_id, stitched=stitched)
