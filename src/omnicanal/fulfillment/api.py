"""Click & collect (options, store settings, preparation tasks, handover) and parcels."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from omnicanal.access.deps import Allow, AllowAt
from omnicanal.access.rules import Permission, Principal, require_channel
from omnicanal.access.scope import order_filter_for, require_order_access
from omnicanal.audit.service import record_customer_read
from omnicanal.fulfillment import pickups, placing, refusals, shipments, shortpick, sourcing
from omnicanal.fulfillment.errors import PickupCodeWrong, PickupInvalid, PickupStepRefused
from omnicanal.fulfillment.rules import MAX_CODE_ATTEMPTS, PickupState
from omnicanal.fulfillment.schemas import (
    AlternativesOut,
    CartLineOut,
    ChoiceIn,
    ChoiceOut,
    CollectIn,
    GoodsMovedOut,
    LineAvailabilityOut,
    PickLineOut,
    PickupOptionOut,
    PickupOptionsOut,
    PickupOut,
    PickupSettingsIn,
    PickupSettingsOut,
    ReadyOut,
    ShipmentIn,
    ShipmentLineOut,
    ShipmentOut,
    ShortPickIn,
    ShortPickOut,
    SourceOut,
    TransferOptionOut,
    TransferSourceOut,
)
from omnicanal.kit.deps import SessionDep
from omnicanal.kit.money import Money
from omnicanal.kit.pagination import Page, Paging, page_of
from omnicanal.kit.transaction import TransactionalRoute
from omnicanal.network.service import get_location
from omnicanal.orders.api import order_out

router = APIRouter(prefix="/api/v1", route_class=TransactionalRoute)
PICKUP: list[str | Enum] = ["click & collect"]
PARCELS: list[str | Enum] = ["shipments"]
Reader = Annotated[Principal, Allow(Permission.ORDERS_READ)]
Writer = Annotated[Principal, Allow(Permission.ORDERS_WRITE)]
STEP_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"description": "Not allowed in the pickup's current state; nothing changed."}}


async def pickup_out(session: SessionDep, pickup: pickups.Pickup) -> PickupOut:
    t, o = pickup.task, pickup.placed.order
    return PickupOut(
        order_id=o.id, location=t.location_code, state=pickup.state, order_status=o.status, channel=o.channel_code,
        customer=o.customer_id, origin_location=o.origin_location, ordered_at=o.created_at,
        promised_at=t.promised_at, started_at=t.started_at, ready_at=t.ready_at, expires_at=t.expires_at,
        collected_at=t.collected_at, expired_at=t.expired_at, refused_at=t.refused_at, decide_by=t.decide_by,
        code_attempts=t.code_attempts,
        locked=t.code_attempts >= MAX_CODE_ATTEMPTS, short_picks=t.short_picks,
        lines=[PickLineOut(**vars(line)) for line in await pickups.pick_list(session, pickup)])


async def _ready_out(session: SessionDep, ready: pickups.ReadyPickup) -> ReadyOut:
    base = await pickup_out(session, ready.pickup)
    return ReadyOut(**base.model_dump(), code=ready.code, qr_payload=ready.qr_payload)


def shipment_out(parcel: shipments.Parcel) -> ShipmentOut:
    s = parcel.shipment
    cost = None if s.cost_amount is None else Money(amount=s.cost_amount, currency=s.cost_currency or "")
    return ShipmentOut(id=s.id, order_id=s.order_id, location=s.location_code, carrier=s.carrier,
                       tracking_number=s.tracking_number, cost=cost, status=s.status, shipped_at=s.shipped_at,
                       delivered_at=s.delivered_at,
                       lines=[ShipmentLineOut(line_no=li.line_no, sku=li.sku, quantity=li.quantity)
                              for li in parcel.lines])


# --- options and settings -----------------------------------------------------------------------------------
@router.get("/pickup-options", tags=PICKUP, response_model=PickupOptionsOut)
async def get_pickup_options(
    session: SessionDep, principal: Annotated[Principal, Allow(Permission.STOCK_READ)],
    channel: Annotated[str, Query(min_length=1, max_length=40, examples=["web"])],
    sku: Annotated[list[str], Query(min_length=1, max_length=100, description="Repeat for each article.")],
    qty: Annotated[list[int] | None, Query(description="Units of each sku, in the same order (default 1).")] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> PickupOptionsOut:
    """Where a cart can be collected on a channel: stores with the pickup capability, their availability per
    line, distance from (lat, lon) and the promised ready time; stores lacking units offer a later transfer.
    Any store's staff may look (the endless aisle); an integration key asks for its own channel."""
    require_channel(principal, channel)
    quantities = qty or [1] * len(sku)
    if len(quantities) != len(sku) or not all(0 < q <= 10_000 for q in quantities):
        raise PickupInvalid("Give one qty (1 to 10000) per sku, in the same order — or none for one of each.")
    if (lat is None) != (lon is None):
        raise PickupInvalid("Give both lat and lon, or neither.")
    lines = list(zip(sku, quantities, strict=True))
    options = await sourcing.pickup_options(session, lines=lines, channel=channel, latitude=lat, longitude=lon,
                                            limit=limit)
    return PickupOptionsOut(channel=channel, lines=[CartLineOut(sku=s, quantity=q) for s, q in lines],
                            options=[option_out(o) for o in options])


def option_out(o: sourcing.PickupOption) -> PickupOptionOut:
    return PickupOptionOut(
        location=o.store.code, name=o.store.name, distance_km=o.distance_km, in_stock=o.in_stock,
        ready_at=o.ready_at, lines=[LineAvailabilityOut(**vars(line)) for line in o.lines],
        transfer=None if o.transfer is None else TransferOptionOut(ready_at=o.transfer.ready_at, sources=[
            TransferSourceOut(sku=a.sku, location=a.location, quantity=a.quantity) for a in o.transfer.sources]))


def alternatives_out(pickup: pickups.Pickup, found: refusals.Alternatives) -> AlternativesOut:
    return AlternativesOut(order_id=pickup.placed.order.id, refused_by=pickup.store, decide_by=found.decide_by,
                           another_store=[option_out(o) for o in found.stores], delivery=found.delivery,
                           cancel_refund=found.refund)


# A store's pickup terms are network set-up that every channel's promise uses: readable for any store, changed
# only within the caller's stores.
@router.get("/locations/{location}/pickup-settings", tags=PICKUP, response_model=PickupSettingsOut,
            dependencies=[Allow(Permission.NETWORK_READ)])
async def get_pickup_settings(session: SessionDep, location: str) -> PickupSettingsOut:
    """How a store runs click & collect (the defaults when never set)."""
    await get_location(session, location)
    return PickupSettingsOut(**vars((await sourcing.pickup_terms(session, [location]))[location]))


@router.put("/locations/{location}/pickup-settings", tags=PICKUP, response_model=PickupSettingsOut,
            dependencies=[AllowAt(Permission.NETWORK_WRITE)])
async def set_pickup_settings(session: SessionDep, location: str, body: PickupSettingsIn) -> PickupSettingsOut:
    """Set a store's preparation lead time, holding period and transfer lead time (new orders use them)."""
    return PickupSettingsOut(**vars(await sourcing.set_pickup_terms(session, location=location, **body.model_dump())))


# --- the store's tasks --------------------------------------------------------------------------------------
@router.get("/locations/{location}/pickup-tasks", tags=PICKUP, response_model=Page[PickupOut])
async def list_pickup_tasks(session: SessionDep, principal: Annotated[Principal, AllowAt(Permission.ORDERS_READ)],
                            location: str, paging: Paging, state: Annotated[PickupState | None, Query()] = None,
                            ) -> Page[PickupOut]:
    """A store's click & collect orders with their pick lists, oldest first (store staff: their stores'; an
    integration key: its channel's orders)."""
    found = await pickups.list_pickup_tasks(session, location=location, state=state, scope=order_filter_for(principal),
                                            after_order=paging.after_one(str), limit=paging.limit + 1)
    return page_of([await pickup_out(session, p) for p in found], paging, lambda out: (out.order_id,))


@router.get("/orders/{order_id}/pickup", tags=PICKUP, response_model=PickupOut)
async def get_pickup(session: SessionDep, request: Request, principal: Reader, order_id: str) -> PickupOut:
    """A click & collect order as the store sees it: state, promise, timeline and pick list."""
    await require_order_access(session, principal, order_id)
    pickup = await pickups.get_pickup(session, order_id)
    await record_customer_read(session, request, principal, pickup.placed.order.customer_id)
    return await pickup_out(session, pickup)


@router.post("/orders/{order_id}/pickup/start", tags=PICKUP, response_model=PickupOut, responses=STEP_ERRORS)
async def start_preparation(session: SessionDep, principal: Writer, order_id: str) -> PickupOut:
    """An associate starts gathering the order (to prepare → preparing)."""
    await require_order_access(session, principal, order_id)
    return await pickup_out(session, await pickups.start_preparation(session, order_id=order_id))


@router.post("/orders/{order_id}/pickup/short-picks", tags=PICKUP, response_model=ShortPickOut, status_code=201,
             responses=STEP_ERRORS)
async def record_short_pick(session: SessionDep, principal: Writer, order_id: str, body: ShortPickIn,
                            ) -> ShortPickOut:
    """Units missing or damaged on the shelf: they leave the store's stock (with the reason), then are
    re-sourced from another location (transfer) or taken off the order (cancel, refund due)."""
    await require_order_access(session, principal, order_id)
    done = await shortpick.record_short_pick(session, order_id=order_id, sku=body.sku, quantity=body.quantity,
                                             reason=body.reason, resolution=body.resolution, note=body.note)
    return ShortPickOut(pickup=await pickup_out(session, done.pickup), sku=done.sku, quantity=done.quantity,
                        reason=done.reason.value, resolution=done.resolution.value, refund=done.refund,
                        sources=[SourceOut(location=a.location, quantity=a.quantity) for a in done.sources])


@router.post("/orders/{order_id}/pickup/dispatch", tags=PICKUP, response_model=GoodsMovedOut, responses=STEP_ERRORS)
async def dispatch_inbound(session: SessionDep, principal: Writer, order_id: str,
                           from_location: Annotated[str | None, Query(alias="from", max_length=40)] = None,
                           ) -> GoodsMovedOut:
    """The source location(s) send the units held for this pickup: an inventory transfer to the store each."""
    await require_order_access(session, principal, order_id)
    sent = await placing.dispatch_inbound(session, order_id=order_id, from_location=from_location)
    return GoodsMovedOut(pickup=await pickup_out(session, await pickups.get_pickup(session, order_id)),
                         transfers=sent)


@router.post("/orders/{order_id}/pickup/receive", tags=PICKUP, response_model=GoodsMovedOut, responses=STEP_ERRORS)
async def receive_inbound(session: SessionDep, principal: Writer, order_id: str) -> GoodsMovedOut:
    """The store received the goods sent for this pickup; they are reserved for it there."""
    await require_order_access(session, principal, order_id)
    received = await placing.receive_inbound(session, order_id=order_id)
    return GoodsMovedOut(pickup=await pickup_out(session, await pickups.get_pickup(session, order_id)),
                         transfers=received)


@router.post("/orders/{order_id}/pickup/ready", tags=PICKUP, response_model=ReadyOut, responses=STEP_ERRORS)
async def mark_ready(session: SessionDep, principal: Writer, order_id: str) -> ReadyOut:
    """Everything is gathered: the order gets its pickup code and QR payload (here, once, and in the
    ``pickup.ready`` event that notifies the customer), and waits for the store's holding period."""
    await require_order_access(session, principal, order_id)
    return await _ready_out(session, await pickups.mark_ready(session, order_id=order_id))


@router.post("/orders/{order_id}/pickup/code", tags=PICKUP, response_model=ReadyOut, responses=STEP_ERRORS)
async def reissue_code(session: SessionDep, principal: Writer, order_id: str) -> ReadyOut:
    """A new pickup code for a ready order (lost, or locked after wrong tries); the old one stops working."""
    await require_order_access(session, principal, order_id)
    return await _ready_out(session, await pickups.reissue_code(session, order_id=order_id))


@router.post("/orders/{order_id}/collect", tags=PICKUP, response_model=PickupOut, responses={
    **STEP_ERRORS, 422: {"description": "Wrong code: nothing handed over (the try is counted)."},
    429: {"description": f"Locked after {MAX_CODE_ATTEMPTS} wrong codes: issue a new one."}})
async def collect_pickup(session: SessionDep, principal: Writer, order_id: str, body: CollectIn) -> PickupOut:
    """Hand the order over against its pickup code or QR payload: the reserved units leave as a sale."""
    await require_order_access(session, principal, order_id)
    try:
        pickup = await pickups.collect_pickup(session, order_id=order_id, code=body.code)
    except PickupCodeWrong:
        await session.rollback()  # the handover changes nothing; only the wrong try is kept
        await pickups.record_wrong_code(session, order_id=order_id)
        await session.commit()
        raise
    return await pickup_out(session, pickup)


# --- the store refused: the customer's alternatives ---------------------------------------------------------
# The store refuses through POST /orders/{id}/reject (omnicanal.routing.api), as a shipping location does.
@router.get("/orders/{order_id}/pickup/alternatives", tags=PICKUP, response_model=AlternativesOut,
            responses=STEP_ERRORS)
async def get_alternatives(session: SessionDep, principal: Reader, order_id: str) -> AlternativesOut:
    """An order its pickup store refused: the stores that can have it now (nearest to the refusing store first,
    in stock or by transfer, with their promise), whether it can be delivered, what cancelling gives back."""
    await require_order_access(session, principal, order_id)
    pickup = await pickups.get_pickup(session, order_id)
    if pickup.placed.order.status != refusals.AWAITING:
        raise PickupStepRefused(f"Order {order_id} is {pickup.state}: its store has not refused it.")
    return alternatives_out(pickup, await refusals.find_alternatives(session, pickup))


@router.post("/orders/{order_id}/pickup/choice", tags=PICKUP, response_model=ChoiceOut, responses={
    409: {"description": "Not awaiting the customer's answer, or the stock the choice needs is gone: nothing "
                         "changed."}})
async def choose_alternative(session: SessionDep, principal: Writer, order_id: str, body: ChoiceIn) -> ChoiceOut:
    """The customer's answer to a refusal: `another_store` (`store`; what it lacks comes by transfer unless
    `allow_transfer` is false), `delivery` (`ship_to`: the order becomes a ship order, routed without the
    refusing store) or `cancel` (what is held is released, what was paid is due back). All or nothing."""
    await require_order_access(session, principal, order_id)
    done = await refusals.choose_alternative(
        session, order_id=order_id, choice=body.choice, store=body.store, allow_transfer=body.allow_transfer,
        ship_to=body.ship_to.model_dump() if body.ship_to else None)
    return ChoiceOut(choice=done.choice, refused_by=done.from_store, order=order_out(done.placed),
                     pickup=await pickup_out(session, done.pickup) if done.pickup else None)


# --- parcels ------------------------------------------------------------------------------------------------
@router.post("/orders/{order_id}/shipments", tags=PARCELS, response_model=ShipmentOut, status_code=201,
             responses={409: {"description": "The order cannot send a parcel in its state."}})
async def create_shipment(session: SessionDep, principal: Writer, order_id: str, body: ShipmentIn) -> ShipmentOut:
    """A parcel leaves one location with some or all of what is left to ship; the order is shipped once every
    unit is in a parcel."""
    await require_order_access(session, principal, order_id)
    cost = body.cost
    details = shipments.ParcelDetails(carrier=body.carrier, tracking_number=body.tracking_number,
                                      cost_amount=cost.amount if cost else None,
                                      cost_currency=cost.currency if cost else None)
    lines = [(line.line_no, line.quantity) for line in body.lines] if body.lines else None
    return shipment_out(await shipments.create_shipment(session, order_id=order_id, details=details, lines=lines))


@router.get("/orders/{order_id}/shipments", tags=PARCELS, response_model=Page[ShipmentOut])
async def list_shipments(session: SessionDep, principal: Reader, order_id: str, paging: Paging) -> Page[ShipmentOut]:
    """An order's parcels, in the order they left."""
    await require_order_access(session, principal, order_id)
    after = paging.after_one(str)
    parcels = [p for p in await shipments.list_parcels(session, order_id=order_id)
               if after is None or p.shipment.id > after]
    return page_of([shipment_out(p) for p in parcels[:paging.limit + 1]], paging, lambda out: (out.id,))


@router.get("/shipments/{shipment_id}", tags=PARCELS, response_model=ShipmentOut)
async def get_shipment(session: SessionDep, principal: Reader, shipment_id: str) -> ShipmentOut:
    """One parcel: carrier, tracking number, cost, when it left and arrived."""
    parcel = await shipments.get_parcel(session, shipment_id)
    await require_order_access(session, principal, parcel.shipment.order_id)
    return shipment_out(parcel)


@router.post("/shipments/{shipment_id}/deliver", tags=PARCELS, response_model=ShipmentOut,
             responses={409: {"description": "Already delivered."}})
async def deliver_shipment(session: SessionDep, principal: Writer, shipment_id: str) -> ShipmentOut:
    """The carrier delivered the parcel; the order is delivered when every parcel is."""
    parcel = await shipments.get_parcel(session, shipment_id)
    await require_order_access(session, principal, parcel.shipment.order_id)
    return shipment_out(await shipments.deliver_shipment(session, shipment_id=shipment_id))
