"""Short pick: the associate preparing a click & collect order finds units missing or damaged.

The units leave the store's books at once (an adjustment of on hand and of the order's reservation, with the
reason), then the order is mended as the associate chose: **transfer** — the units are re-sourced from the
nearest other location that has them (reserved there; the line is split and the promise moves later) — or
**cancel** — the units are taken off the order (refund due for them; the order is cancelled when nothing is
left). ``pickup.short_picked`` tells the customer either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.events.service import record_event
from omnicanal.fulfillment.errors import PickupInvalid, PickupStepRefused
from omnicanal.fulfillment.models import PickupInbound
from omnicanal.fulfillment.pickups import Pickup, get_pickup, pickup_data, refund_due
from omnicanal.fulfillment.placing import PREPARABLE, reserve_allocations
from omnicanal.fulfillment.rules import Allocation, Resolution, ShortReason
from omnicanal.fulfillment.sourcing import pickup_terms, plan_for_store, promise
from omnicanal.inventory import ledger
from omnicanal.inventory.errors import StockInsufficient
from omnicanal.inventory.rules import MovementKind
from omnicanal.kit.clock import utcnow
from omnicanal.network.service import get_channel, get_location
from omnicanal.orders.service import drop_units, move_order, split_line


@dataclass(frozen=True)
class ShortPick:
    pickup: Pickup
    sku: str
    quantity: int
    reason: ShortReason
    resolution: Resolution
    sources: list[Allocation]
    refund: int


async def record_short_pick(
    session: AsyncSession, *, order_id: str, sku: str, quantity: int, reason: ShortReason, resolution: Resolution,
    note: str | None = None, now: datetime | None = None,
) -> ShortPick:
    """Record that ``quantity`` units of ``sku`` held at the store for this order are missing or damaged, and
    mend the order by ``resolution``. All or nothing: a transfer nobody can supply changes nothing."""
    now = now or utcnow()
    pickup = await get_pickup(session, order_id, lock=True)
    if pickup.placed.order.status not in PREPARABLE:
        raise PickupStepRefused(f"Order {order_id} is {pickup.state}; a short pick happens while preparing.")
    here = [line for line in pickup.placed.lines if line.sku == sku and line.location_code == pickup.store]
    if sum(line.quantity for line in here) < quantity:
        raise PickupInvalid(f"Order {order_id} holds {sum(li.quantity for li in here)} × {sku} at {pickup.store}; "
                            f"{quantity} cannot be short.")
    sources = await _sources(session, pickup, sku, quantity) if resolution is Resolution.TRANSFER else []
    await _write_off_and_reserve(session, pickup, sku, quantity, f"short pick ({reason}): {note or order_id}",
                                 sources, now)
    refund = 0
    if resolution is Resolution.TRANSFER:
        await _move_to_sources(session, pickup, sku, sources, now)
    else:
        refund = await _take_off(session, pickup, sku, quantity)
    pickup.task.short_picks += 1
    pickup.task.updated_at = now
    await session.flush()
    await record_event(session, "pickup.short_picked", order_id, pickup_data(
        pickup, sku=sku, quantity=quantity, reason=reason.value, resolution=resolution.value, refund=refund,
        sources=[{"location": a.location, "quantity": a.quantity} for a in sources]))
    if refund:
        await refund_due(session, pickup.placed, refund, reason=f"short pick of {sku}")
    return ShortPick(pickup, sku, quantity, reason, resolution, sources, refund)


async def _sources(session: AsyncSession, pickup: Pickup, sku: str, quantity: int) -> list[Allocation]:
    store = await get_location(session, pickup.store)
    channel = await get_channel(session, pickup.placed.order.channel_code)
    plan = await plan_for_store(session, store, {sku: quantity}, buffer=channel.promise_buffer, allow_transfer=True,
                                excluded=(store.code,))
    if not plan.complete:
        raise StockInsufficient(f"No other location can send {quantity} × {sku}; cancel the units instead.",
                                shortages=[{"sku": sku, "requested": quantity, "missing": plan.shortages[sku]}])
    return plan.allocations


async def _write_off_and_reserve(session: AsyncSession, pickup: Pickup, sku: str, quantity: int, reason: str,
                                 sources: list[Allocation], now: datetime) -> None:
    """The units leave the store's on hand and the order's reservation; the replacements are reserved at their
    sources — all in location order, the fixed lock order."""
    order_id = pickup.placed.order.id
    channel = await get_channel(session, pickup.placed.order.channel_code)
    before = [a for a in sources if a.location < pickup.store]
    changes = await reserve_allocations(session, before, buffer=channel.promise_buffer, reference=order_id, now=now)
    written_off = await ledger.change_level(
        session, sku=sku, location=pickup.store, kind=MovementKind.ADJUSTMENT, on_hand_delta=-quantity,
        reserved_delta=-quantity, reference=order_id, reason=reason, condition=ledger.LEVEL.reserved >= quantity)
    if written_off is None:
        raise PickupInvalid(f"The store's books do not hold {quantity} × {sku} for order {order_id}.")
    after = [a for a in sources if a.location > pickup.store]
    changes += [written_off, *await reserve_allocations(session, after, buffer=channel.promise_buffer,
                                                        reference=order_id, now=now)]
    await ledger.record_changes(session, changes)


async def _move_to_sources(session: AsyncSession, pickup: Pickup, sku: str, sources: list[Allocation],
                           now: datetime) -> None:
    for source in sources:
        units = source.quantity
        for line in [li for li in pickup.placed.lines if li.sku == sku and li.location_code == pickup.store]:
            if units == 0:
                break
            moved = await split_line(session, pickup.placed, line_no=line.line_no, quantity=min(units, line.quantity),
                                     location=source.location)
            await _inbound(session, pickup, moved.line_no, sku, moved.quantity, source.location, now)
            units -= moved.quantity
    store = await get_location(session, pickup.store)
    terms = (await pickup_terms(session, [pickup.store]))[pickup.store]
    later = promise(store, terms, now=now, transfer=True)
    if later is not None and (pickup.task.promised_at is None or later > pickup.task.promised_at):
        pickup.task.promised_at = later


async def _inbound(session: AsyncSession, pickup: Pickup, line_no: int, sku: str, quantity: int, source: str,
                   now: datetime) -> None:
    row = await session.get(PickupInbound, (pickup.placed.order.id, line_no))
    if row is None:  # a line that came by transfer before is re-sourced again: the same row starts over
        row = PickupInbound(order_id=pickup.placed.order.id, line_no=line_no)
        session.add(row)
        pickup.inbound.append(row)
    row.sku, row.quantity, row.from_location, row.created_at = sku, quantity, source, now
    row.transfer_id = row.dispatched_at = row.received_at = None
    await session.flush()


async def _take_off(session: AsyncSession, pickup: Pickup, sku: str, quantity: int) -> int:
    refund, units = 0, quantity
    for line in [li for li in pickup.placed.lines if li.sku == sku and li.location_code == pickup.store]:
        if units == 0:
            break
        taken = min(units, line.quantity)
        refund += await drop_units(session, pickup.placed, line_no=line.line_no, quantity=taken)
        units -= taken
        row = await session.get(PickupInbound, (pickup.placed.order.id, line.line_no))
        if row is not None and line not in pickup.placed.lines:  # the line is gone, and its inbound story
            await session.delete(row)
            pickup.inbound.remove(row)
    if not pickup.placed.lines:  # nothing left to collect
        await move_order(session, pickup.placed, "cancelled", reason="every unit was short at the store")
    return refund
