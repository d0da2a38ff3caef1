from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from omnicanal.access.deps import Allow
from omnicanal.access.rules import Permission, Principal, require_channel, require_location
from omnicanal.access.scope import require_order_access, require_order_channel
from omnicanal.audit.service import record_customer_read
from omnicanal.kit.deps import SessionDep, SettingsDep
from omnicanal.kit.pagination import Page, Paging, page_of
from omnicanal.kit.transaction import TransactionalRoute
from omnicanal.orders.service import get_order
from omnicanal.returns import service
from omnicanal.returns.rules import RETURNABLE_ORDER_STATUSES, ReturnMethod, ReturnStatus, WantedLine
from omnicanal.returns.schemas import (
    ReceiptIn,
    RefundIn,
    ReturnableLineOut,
    ReturnableOut,
    ReturnIn,
    ReturnLineOut,
    ReturnOut,
)
from omnicanal.returns.service import ReturnFilter, ReturnRecord, ReturnRequest

router = APIRouter(prefix="/api/v1", tags=["returns"], route_class=TransactionalRoute)
# A return is part of an order's life: the permissions of orders apply.
READ, WRITE = Allow(Permission.ORDERS_READ), Allow(Permission.ORDERS_WRITE)
Reader = Annotated[Principal, READ]
Writer = Annotated[Principal, WRITE]
REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such order or location."},
    409: {"description": "The order is not delivered/completed, more units than may still be returned "
                         "(`excess`), or the return is not in a state that allows this; nothing written."},
    422: {"description": "A line not on the order (`unknown`), or a location that takes no returns."},
}


def return_out(record: ReturnRecord) -> ReturnOut:
    r = record.ret
    return ReturnOut(
        id=r.id, order_id=r.order_id, customer=r.customer_id, channel=r.channel_code, location=r.location_code,
        method=ReturnMethod(r.method), status=ReturnStatus(r.status), currency=r.currency,
        refund_amount=r.refund_amount, refund_reference=r.refund_reference,
        lines=[ReturnLineOut.model_validate(line, from_attributes=True) for line in record.lines],
        created_at=r.created_at, updated_at=r.updated_at, received_at=r.received_at, refunded_at=r.refunded_at,
        cancelled_at=r.cancelled_at)


@router.post("/returns", response_model=ReturnOut, status_code=201, responses=REFUSALS)
async def create_return(session: SessionDep, settings: SettingsDep, body: ReturnIn, response: Response,
                        principal: Writer) -> ReturnOut:
    """Take back units of any channel's order: at a store's counter (restocked at once) or announced by mail.
    Store staff take returns at their own stores, whatever the order's channel; an integration key announces
    returns of its channel's orders."""
    require_location(principal, body.location)
    await require_order_channel(session, principal, body.order_id)
    record = await service.create_return(session, ReturnRequest(
        order_id=body.order_id, method=body.method.value, location=body.location,
        lines=[WantedLine(quantity=li.quantity, condition=li.condition.value, sku=li.sku, line_no=li.line_no,
                          reason=li.reason) for li in body.lines]),
        default_mail_location=settings.returns_location)
    response.headers["Location"] = f"/api/v1/returns/{record.ret.id}"
    return return_out(record)


def _scoped(filters: ReturnFilter, principal: Principal) -> ReturnFilter:
    return replace(filters, within_locations=principal.locations if principal.store_scoped else None,
                   within_channel=principal.channel if principal.channel_scoped else None)


async def _reachable(session: SessionDep, principal: Principal, return_id: str) -> ReturnRecord:
    """The return, if the caller may see it: store staff those received at their stores, an integration key
    those of its channel's orders."""
    record = await service.get_return(session, return_id)
    require_location(principal, record.ret.location_code)
    require_channel(principal, record.ret.channel_code)
    return record


async def _order_reachable(session: SessionDep, principal: Principal, order_id: str) -> None:
    """An order's returns are the caller's to list when the order is theirs (its store, its channel) — or, for
    store staff, when one of its returns was taken at their store (a web order brought back at their counter)."""
    await get_order(session, order_id)  # an unknown order answers 404 first
    taken_here = principal.store_scoped and await service.list_returns(
        session, filters=_scoped(ReturnFilter(order=order_id), principal), before_id=None, limit=1)
    if not taken_here:
        await require_order_access(session, principal, order_id)


@router.get("/returns", response_model=Page[ReturnOut])
async def list_returns(
    session: SessionDep, request: Request, principal: Reader, paging: Paging, order: str | None = None,
    location: str | None = None,
    status: Annotated[ReturnStatus | None, Query()] = None, customer: str | None = None,
    method: Annotated[ReturnMethod | None, Query()] = None,
    created_from: datetime | None = None, created_to: datetime | None = None,
) -> Page[ReturnOut]:
    """Returns newest first — e.g. a warehouse's parcels still to receive: `?location=WH&status=requested`.
    Store staff see the returns taken at their stores, an integration key those of its channel's orders;
    listing a customer's returns is written to the audit log."""
    if location is not None:
        require_location(principal, location)
    records = await service.list_returns(
        session, filters=_scoped(ReturnFilter(order=order, location=location, status=status, customer=customer,
                                              method=method, created_from=created_from, created_to=created_to),
                                 principal),
        before_id=paging.after_one(str), limit=paging.limit + 1)
    await record_customer_read(session, request, principal, customer)
    return page_of([return_out(r) for r in records], paging, lambda out: (out.id,))


@router.get("/returns/{return_id}", response_model=ReturnOut)
async def get_return(session: SessionDep, request: Request, principal: Reader, return_id: str) -> ReturnOut:
    record = await _reachable(session, principal, return_id)
    await record_customer_read(session, request, principal, record.ret.customer_id)
    return return_out(record)


@router.post("/returns/{return_id}/receive", response_model=ReturnOut, responses=REFUSALS)
async def receive_return(session: SessionDep, principal: Writer, return_id: str,
                         body: ReceiptIn | None = None) -> ReturnOut:
    """The announced parcel arrived: restock sellable units, bin damaged ones (after inspection)."""
    await _reachable(session, principal, return_id)
    conditions = {line.line_no: line.condition.value for line in body.lines} if body else {}
    return return_out(await service.receive_return(session, return_id=return_id, conditions=conditions))


@router.post("/returns/{return_id}/refund", response_model=ReturnOut, responses=REFUSALS)
async def refund_return(session: SessionDep, principal: Writer, return_id: str,
                        body: RefundIn | None = None) -> ReturnOut:
    """Record the refund paid back by the payment provider (the hub moves no money); received returns only."""
    await _reachable(session, principal, return_id)
    return return_out(await service.refund_return(session, return_id=return_id,
                                                  reference=body.reference if body else None))


@router.post("/returns/{return_id}/cancel", response_model=ReturnOut, responses=REFUSALS)
async def cancel_return(session: SessionDep, principal: Writer, return_id: str) -> ReturnOut:
    """An announced mail return that will not come: its units may be returned again."""
    await _reachable(session, principal, return_id)
    return return_out(await service.cancel_return(session, return_id=return_id))


@router.get("/orders/{order_id}/returns", response_model=Page[ReturnOut])
async def list_order_returns(session: SessionDep, request: Request, principal: Reader, paging: Paging,
                             order_id: str) -> Page[ReturnOut]:
    """The returns of one order (those the caller may see), newest first."""
    await _order_reachable(session, principal, order_id)
    records = await service.list_returns(session, filters=_scoped(ReturnFilter(order=order_id), principal),
                                         before_id=paging.after_one(str), limit=paging.limit + 1)
    await record_customer_read(session, request, principal, *(r.ret.customer_id for r in records[:paging.limit]))
    return page_of([return_out(r) for r in records], paging, lambda out: (out.id,))


@router.get("/orders/{order_id}/returnable", response_model=ReturnableOut)
async def returnable(session: SessionDep, principal: Reader, order_id: str) -> ReturnableOut:
    """What each line of the order may still return, and what it was paid — shown at any store's till before
    taking a return, whatever the order's channel (lines and prices only: nothing about the customer); an
    integration key sees its own channel's orders only."""
    await require_order_channel(session, principal, order_id)
    placed, lines = await service.returnable_lines(session, order_id=order_id)
    return ReturnableOut(
        order_id=placed.order.id, order_status=placed.order.status,
        returnable=placed.order.status in RETURNABLE_ORDER_STATUSES,
        lines=[ReturnableLineOut(line_no=li.line_no, sku=li.sku, bought=li.bought, returned=li.returned,
                                 returnable=li.returnable, paid=li.paid, refunded=li.refunded) for li in lines])
