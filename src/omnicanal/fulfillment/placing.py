"""Placing a click & collect order, and bringing its units from other locations to the pickup store.

A unit the pickup store lacks is **reserved at its source** (a warehouse or another store) when the order is
placed — the same atomic, buffered reservation as any order, so nothing is promised twice and the source's
books stay true until the goods leave. When the source sends them, the reservation is released and an
inventory transfer carries them (:func:`dispatch_inbound`); when the store receives them they are reserved
for the order there (:func:`receive_inbound`). An order line always says where its units are reserved
(``None`` while they travel), so cancelling the order at any moment gives back exactly what is held.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.catalog.service import quote_prices
from omnicanal.customers.service import hold_customer
from omnicanal.events.service import Event, record_event
from omnicanal.fulfillment.errors import PickupInvalid, PickupStepRefused
from omnicanal.fulfillment.models import PickupInbound, PickupTask
from omnicanal.fulfillment.rules import Allocation, SourcingPlan
from omnicanal.fulfillment.sourcing import pickup_store, pickup_terms, plan_for_store, promise
from omnicanal.inventory import ledger
from omnicanal.inventory.errors import StockInsufficient
from omnicanal.inventory.holds import expire_reservations, get_transfer, settle_transfer, transfer_stock
from omnicanal.inventory.rules import MovementKind
from omnicanal.kit.clock import utcnow
from omnicanal.kit.ids import new_id
from omnicanal.orders import rules as order_rules
from omnicanal.orders.service import (
    OrderRequest,
    PlacedOrder,
    check_external_reference,
    check_origin,
    lock_order,
    set_line_location,
    usable_channel,
    write_order,
)

PREPARABLE = ("confirmed", "preparing")


@dataclass(frozen=True)
class PickupPlacement:
    placed: PlacedOrder
    task: PickupTask


async def place_pickup_order(
    session: AsyncSession, request: OrderRequest, *, currency: str, allow_transfer: bool = False,
    now: datetime | None = None,
) -> PickupPlacement:
    """Click & collect: price the lines on the channel, reserve every unit at the pickup store — or, with
    ``allow_transfer``, what it lacks at other locations (nearest first) — and give the store its task.
    All or nothing: :class:`StockInsufficient` names what cannot be found, and nothing is written."""
    now = now or utcnow()
    channel = await usable_channel(session, request.channel)
    await check_external_reference(session, channel.code, request.external_reference)
    if request.location is None:
        raise PickupInvalid("A pickup order needs the store where it is collected (location).")
    store = await pickup_store(session, request.location)
    origin = request.origin_location or (None if channel.online else store.code)  # endless aisle at this store
    await check_origin(session, origin)
    if request.customer is not None:
        await hold_customer(session, request.customer)
    demand = order_rules.demand_by_sku(request.lines)
    quotes = await quote_prices(session, skus=sorted(demand), channel=channel.code, at=now)
    plan = await plan_for_store(session, store, demand, buffer=channel.promise_buffer, allow_transfer=allow_transfer)
    if not plan.complete:
        raise _shortage(plan, store.code, demand, allow_transfer)
    order_id = new_id("ord")
    changes = await reserve_allocations(session, plan.allocations, buffer=channel.promise_buffer, reference=order_id,
                                        now=now)
    allocations = _in_request_order(plan.allocations, request.lines, store.code)
    priced = order_rules.price_lines([(a.sku, a.quantity) for a in allocations], quotes)
    placed = await write_order(
        session, order_id=order_id, request=dataclasses.replace(request, origin_location=origin), priced=priced,
        line_sites=[a.location for a in allocations], changes=changes, status="confirmed", currency=currency,
        location=store.code, now=now)
    terms = (await pickup_terms(session, [store.code]))[store.code]
    inbound = bool(plan.transferred(store.code))
    task = PickupTask(order_id=order_id, location_code=store.code, code_attempts=0, short_picks=0, created_at=now,
                      updated_at=now, promised_at=promise(store, terms, now=now, transfer=inbound))
    session.add(task)
    session.add_all(PickupInbound(order_id=order_id, line_no=line.line_no, sku=line.sku, quantity=line.quantity,
                                  from_location=line.location_code, created_at=now)
                    for line in placed.lines if line.location_code != store.code)
    await session.flush()
    await record_event(session, "pickup.created", order_id, {
        "order": order_id, "location": store.code, "customer": request.customer, "origin_location": origin,
        "promised_at": _iso(task.promised_at),
        "inbound": [{"sku": a.sku, "from": a.location, "quantity": a.quantity} for a in plan.transferred(store.code)]})
    return PickupPlacement(placed, task)


def _shortage(plan: SourcingPlan, store: str, demand: dict[str, int], allow_transfer: bool) -> StockInsufficient:
    where = "in the network" if allow_transfer else f"at {store} (allow_transfer may bring them from elsewhere)"
    return StockInsufficient(
        f"Not enough stock {where}: {', '.join(sorted(plan.shortages))}. Nothing was reserved.",
        shortages=[{"sku": sku, "location": store, "requested": demand[sku], "missing": missing}
                   for sku, missing in sorted(plan.shortages.items())])


def _in_request_order(allocations: Sequence[Allocation], lines: Sequence[tuple[str, int]],
                      store: str) -> list[Allocation]:
    first_seen = {sku: n for n, (sku, _) in reversed(list(enumerate(lines)))}
    return sorted(allocations, key=lambda a: (first_seen[a.sku], a.location != store, a.location))


async def reserve_allocations(
    session: AsyncSession, allocations: Sequence[Allocation], *, buffer: int, reference: str, now: datetime,
) -> list[ledger.StockChange]:
    """Reserve every allocation, in (SKU, location) order so that two orders never wait on each other; a hold
    that lapsed is cleared first. :class:`StockInsufficient` when one can no longer be had."""
    changes = []
    for a in sorted(allocations, key=lambda a: (a.sku, a.location)):
        change = await ledger.reserve(session, sku=a.sku, location=a.location, quantity=a.quantity, buffer=buffer,
                                      reference=reference)
        if change is None and await expire_reservations(session, now=now, sku=a.sku, location=a.location):
            change = await ledger.reserve(session, sku=a.sku, location=a.location, quantity=a.quantity,
                                          buffer=buffer, reference=reference)
        if change is None:
            raise StockInsufficient(f"{a.quantity} × {a.sku} at {a.location} were taken meanwhile; try again.",
                                    shortages=[{"sku": a.sku, "location": a.location, "requested": a.quantity}])
        changes.append(change)
    return changes


# --- inbound goods ------------------------------------------------------------------------------------------
async def inbound_of(session: AsyncSession, order_id: str) -> list[PickupInbound]:
    return list((await session.scalars(
        select(PickupInbound).where(PickupInbound.order_id == order_id).order_by(PickupInbound.line_no))).all())


async def _preparable(session: AsyncSession, order_id: str) -> PlacedOrder:
    placed = await lock_order(session, order_id)  # one step at a time on an order
    if placed.order.fulfillment != "pickup":
        raise PickupStepRefused(f"Order {order_id} is not a click & collect order.")
    if placed.order.status not in PREPARABLE:
        raise PickupStepRefused(f"Order {order_id} is {placed.order.status}; its goods can no longer be moved.")
    return placed


async def dispatch_inbound(
    session: AsyncSession, *, order_id: str, from_location: str | None = None, now: datetime | None = None,
) -> list[str]:
    """The source(s) send the units they hold for this pickup: each source's reservation is released and an
    inventory transfer carries the units to the store. Returns the transfer ids."""
    now = now or utcnow()
    placed = await _preparable(session, order_id)
    waiting = [row for row in await inbound_of(session, order_id) if row.transfer_id is None
               and (from_location is None or row.from_location == from_location)]
    if not waiting:
        raise PickupStepRefused(f"Order {order_id} has no goods waiting to be sent"
                                + (f" from {from_location}." if from_location else "."))
    releases = []
    for row in sorted(waiting, key=lambda r: (r.sku, r.from_location)):
        change = await ledger.release(session, sku=row.sku, location=row.from_location, quantity=row.quantity,
                                      reference=order_id, reason=f"sent to {placed.order.location_code}")
        releases += [change] if change is not None else []
    await ledger.record_changes(session, releases)
    transfers: list[dict[str, object]] = []
    sent = []
    for source in sorted({row.from_location for row in waiting}):
        rows = [row for row in waiting if row.from_location == source]
        transfer = await transfer_stock(
            session, from_location=source, to_location=placed.order.location_code or "",
            lines=_summed((row.sku, row.quantity) for row in rows), reason=f"click & collect order {order_id}")
        for row in rows:
            row.transfer_id, row.dispatched_at = transfer.id, now
            await set_line_location(session, placed, line_no=row.line_no, location=None)
        transfers.append({"id": transfer.id, "from": source, "lines": _summed((r.sku, r.quantity) for r in rows)})
        sent.append(transfer.id)
    await record_event(session, "pickup.goods_sent", order_id, {
        "order": order_id, "location": placed.order.location_code, "transfers": transfers})
    return sent


def _summed(pairs: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    totals: dict[str, int] = {}
    for sku, quantity in pairs:
        totals[sku] = totals.get(sku, 0) + quantity
    return sorted(totals.items())


async def receive_inbound(session: AsyncSession, *, order_id: str, now: datetime | None = None) -> list[str]:
    """The pickup store received the goods sent for this order: each transfer still in transit is received,
    and the units are reserved for the order at the store. Returns the transfers received."""
    now = now or utcnow()
    placed = await _preparable(session, order_id)
    store = placed.order.location_code or ""
    travelling = [row for row in await inbound_of(session, order_id)
                  if row.transfer_id is not None and row.received_at is None]
    if not travelling:
        raise PickupStepRefused(f"Order {order_id} has no goods on their way to {store}.")
    for transfer_id in sorted({row.transfer_id for row in travelling if row.transfer_id}):
        transfer = await get_transfer(session, transfer_id)
        if transfer.status == "cancelled":
            raise PickupStepRefused(f"Transfer {transfer_id} was cancelled: its goods went back to "
                                    f"{transfer.from_location}. Record a short pick to re-source them.")
        if transfer.status == "in_transit":  # else already received through the stock API
            await settle_transfer(session, transfer_id=transfer_id, outcome="received")
    changes = []
    for row in sorted(travelling, key=lambda r: r.sku):
        change = await ledger.change_level(  # the units came for this customer: store safety stock does not apply
            session, sku=row.sku, location=store, kind=MovementKind.RESERVATION, reserved_delta=row.quantity,
            reference=order_id, condition=ledger.LEVEL.on_hand - ledger.LEVEL.reserved >= row.quantity)
        if change is None:
            raise StockInsufficient(f"The {row.quantity} × {row.sku} received for order {order_id} are no longer "
                                    f"free at {store}.", shortages=[{"sku": row.sku, "location": store,
                                                                     "requested": row.quantity}])
        changes.append(change)
        row.received_at = now
        await set_line_location(session, placed, line_no=row.line_no, location=store)
    received = sorted({row.transfer_id for row in travelling if row.transfer_id})
    await ledger.record_changes(session, changes, also=[Event("pickup.goods_received", order_id, {
        "order": order_id, "location": store, "transfers": received})])
    return received


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
