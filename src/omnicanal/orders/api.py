from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.access.deps import Allow
from omnicanal.access.rules import Permission, Principal, require_order_placement
from omnicanal.access.scope import order_filter_for, require_order_access
from omnicanal.audit.service import record_access, route_of
from omnicanal.config import Settings
from omnicanal.fulfillment.placing import place_pickup_order
from omnicanal.fulfillment.shipments import deliver_everything, ship_everything
from omnicanal.kit.deps import SessionDep, SettingsDep
from omnicanal.kit.pagination import Page, Paging, page_of
from omnicanal.kit.transaction import TransactionalRoute
from omnicanal.orders import service
from omnicanal.orders.schemas import (
    Fulfillment,
    OrderIn,
    OrderLineOut,
    OrderOut,
    OrderStatus,
    PaymentIn,
    PaymentOut,
    ShipTo,
)
from omnicanal.orders.service import OrderFilter, OrderRequest, PlacedOrder

router = APIRouter(prefix="/api/v1/orders", tags=["orders"], route_class=TransactionalRoute)
READ, WRITE = Allow(Permission.ORDERS_READ), Allow(Permission.ORDERS_WRITE)
Reader = Annotated[Principal, READ]
Writer = Annotated[Principal, WRITE]


def order_out(placed: PlacedOrder) -> OrderOut:
    o = placed.order
    return OrderOut(
        id=o.id, channel=o.channel_code, status=o.status, fulfillment=o.fulfillment, location=o.location_code,
        origin_location=o.origin_location, customer=o.customer_id, external_reference=o.external_reference,
        currency=o.currency,
        ship_to=ShipTo.model_validate(o.ship_to) if o.ship_to else None,
        subtotal=o.subtotal, discount_total=o.discount_total, total=o.total,
        payment=PaymentOut(status=o.payment_status, reference=o.payment_reference),
        lines=[OrderLineOut(line_no=line.line_no, sku=line.sku, quantity=line.quantity, location=line.location_code,
                            unit_list_price=line.unit_list_price, unit_price=line.unit_price,
                            promotion_id=line.promotion_id, line_total=line.line_total) for line in placed.lines],
        created_at=o.created_at, updated_at=o.updated_at)


@router.post("", response_model=OrderOut, status_code=201,
             responses={409: {"description": "Not enough stock (`shortages` names the lines), or the channel already "
                                             "placed an order under this `external_reference` (`order` is its id); "
                                             "nothing written."}})
async def place_order(session: SessionDep, settings: SettingsDep, body: OrderIn, response: Response,
                      principal: Writer) -> OrderOut:
    """Place an order from any channel: priced at the channel's current price, stock taken all or nothing.
    An integration key places orders on its own channel; store staff take orders at their own stores (the
    till's ``location`` for carry-out, ``origin_location`` otherwise)."""
    placed = await place(session, settings, body, principal)
    response.headers["Location"] = order_location(placed)
    return order_out(placed)


def order_location(placed: PlacedOrder) -> str:
    return f"/api/v1/orders/{placed.order.id}"


async def place(session: AsyncSession, settings: Settings, body: OrderIn, principal: Principal) -> PlacedOrder:
    """What :func:`place_order` does, for it and for :mod:`omnicanal.orders.shortcut`."""
    require_order_placement(principal, channel=body.channel, fulfillment=body.fulfillment.value,
                            location=body.location, origin=body.origin_location)
    request = OrderRequest(
        channel=body.channel, fulfillment=body.fulfillment.value, lines=[(li.sku, li.quantity) for li in body.lines],
        location=body.location, customer=body.customer, external_reference=body.external_reference,
        payment_status=body.payment.status.value if body.payment else "pending",
        payment_reference=body.payment.reference if body.payment else None,
        ship_to=body.ship_to.model_dump() if body.ship_to else None, origin_location=body.origin_location)
    if body.fulfillment is Fulfillment.PICKUP:  # click & collect: the store also gets its preparation task
        return (await place_pickup_order(session, request, currency=settings.currency,
                                         allow_transfer=body.allow_transfer)).placed
    return await service.place_order(session, request, currency=settings.currency)


@router.get("", response_model=Page[OrderOut])
async def list_orders(
    session: SessionDep, request: Request, principal: Reader, paging: Paging, channel: str | None = None,
    status: Annotated[OrderStatus | None, Query()] = None, customer: str | None = None,
    location: str | None = None, fulfillment: Annotated[Fulfillment | None, Query()] = None,
    created_from: datetime | None = None, created_to: datetime | None = None,
) -> Page[OrderOut]:
    """Orders of every channel, newest first — a store's staff see their stores' orders, an integration
    its channel's. Reading a customer's orders is written to the audit log."""
    placed = await service.list_orders(
        session, filters=OrderFilter(channel=channel, status=status, customer=customer, location=location,
                                     fulfillment=fulfillment, created_from=created_from, created_to=created_to,
                                     scope=order_filter_for(principal)),
        before_id=paging.after_one(str), limit=paging.limit + 1)
    if customer is not None:
        await record_access(session, principal=principal, action="read", subject_type="customer",
                            subject_id=customer, route=route_of(request))
    return page_of([order_out(p) for p in placed], paging, lambda out: (out.id,))


@router.get("/{order_id}", response_model=OrderOut)
async def get_order(session: SessionDep, request: Request, principal: Reader, order_id: str) -> OrderOut:
    await require_order_access(session, principal, order_id)
    placed = await service.get_order(session, order_id)
    if placed.order.customer_id is not None:  # a person's purchase
        await record_access(session, principal=principal, action="read", subject_type="customer",
                            subject_id=placed.order.customer_id, route=route_of(request))
    return order_out(placed)


@router.post("/{order_id}/cancel", response_model=OrderOut)
async def cancel_order(session: SessionDep, principal: Writer, order_id: str,
                       reason: Annotated[str | None, Query(max_length=300)] = None) -> OrderOut:
    """Cancel a confirmed order; its reserved stock goes back on sale at once."""
    await require_order_access(session, principal, order_id)
    return order_out(await service.cancel_order(session, order_id=order_id, reason=reason))


@router.post("/{order_id}/ship", response_model=OrderOut)
async def ship_order(session: SessionDep, principal: Writer, order_id: str) -> OrderOut:
    await require_order_access(session, principal, order_id)
    await ship_everything(session, order_id=order_id)  # one parcel per location, without carrier details
    return order_out(await service.get_order(session, order_id))


@router.post("/{order_id}/deliver", response_model=OrderOut)
async def deliver_order(session: SessionDep, principal: Writer, order_id: str) -> OrderOut:
    await require_order_access(session, principal, order_id)
    return order_out(await deliver_everything(session, order_id=order_id))  # and every parcel of it


@router.post("/{order_id}/payment", response_model=OrderOut)
async def record_payment(session: SessionDep, principal: Writer, order_id: str, body: PaymentIn) -> OrderOut:
    """Record the payment provider's answer (authorized, paid, failed, refunded)."""
    await require_order_access(session, principal, order_id)
    return order_out(await service.record_payment(session, order_id=order_id, status=body.status.value,
                                                  reference=body.reference))
