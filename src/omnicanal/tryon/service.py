"""Try-on use cases: book a slot (a place and the articles, all or nothing), check in, buy at the till or
online, decline, cancel, lapse; read one, list them, a customer's record (no-shows).

Lock order when booking: the slot's counter row first, then the stock levels in SKU order (as orders do), so
bookings, cancellations and orders never wait on each other in a circle.

Other domains may call :func:`book_try_on`, :func:`purchase_try_on`, :func:`expire_try_ons`,
:func:`get_try_on`, :func:`list_try_ons` and :func:`try_on_record`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.customers.service import get_customer, hold_customer
from omnicanal.events.service import record_event
from omnicanal.inventory import holds, ledger
from omnicanal.inventory.errors import StockInsufficient
from omnicanal.kit.clock import utcnow
from omnicanal.kit.errors import InvalidRequest
from omnicanal.kit.ids import new_id
from omnicanal.network.models import Channel
from omnicanal.network.service import get_channel
from omnicanal.orders.service import OrderRequest, PlacedOrder, place_order
from omnicanal.tryon import rules, slots
from omnicanal.tryon.errors import TryOnLapsed, TryOnNotFound, TryOnPurchaseInvalid, TryOnTransitionRefused
from omnicanal.tryon.models import TryOn, TryOnLine

EXPIRY_BATCH = 500


@dataclass(frozen=True)
class TryOnRequest:
    location: str
    channel: str
    slot_start: datetime
    lines: Sequence[tuple[str, int]]
    customer: str | None = None


@dataclass(frozen=True)
class TryOnRecord:
    try_on: TryOn
    lines: list[TryOnLine]

    @property
    def held(self) -> dict[str, int]:
        return {line.sku: line.quantity for line in self.lines}


def try_on_data(record: TryOnRecord) -> dict[str, Any]:
    """The try-on as carried in events (ids and figures, no personal data)."""
    t = record.try_on
    return {
        "id": t.id, "location": t.location_code, "channel": t.channel_code, "customer": t.customer_id,
        "status": t.status, "slot_start": t.slot_start.isoformat(), "slot_end": t.slot_end.isoformat(),
        "hold_until": t.hold_until.isoformat(), "order_id": t.order_id, "purchase_channel": t.purchase_channel,
        "lines": [{"sku": line.sku, "quantity": line.quantity, "bought": line.bought,
                   "reservation": line.reservation_id} for line in record.lines],
    }


# --- booking ----------------------------------------------------------------------------------------------
async def book_try_on(session: AsyncSession, request: TryOnRequest, *, now: datetime | None = None) -> TryOnRecord:
    """Take a place in the slot and hold the articles at the store until the slot ends plus grace — all or
    nothing: a full slot is 409 ``slot-full``, missing stock 409 ``stock-insufficient`` naming every line."""
    now = now or utcnow()
    store, setting = await slots.offering_store(session, request.location)
    channel = await _booking_channel(session, request.channel)
    if request.customer is not None:
        await hold_customer(session, request.customer)
    held = rules.merge_lines(request.lines)
    if sum(held.values()) > setting.max_items:
        raise InvalidRequest(f"A try-on at {store.code} holds at most {setting.max_items} articles.")
    slot, capacity = await slots.bookable_slot(session, store, setting, request.slot_start, now)
    await slots.take_place(session, location=store.code, slot=slot, capacity=capacity)
    try_on = TryOn(id=new_id("try"), location_code=store.code, channel_code=channel.code,
                   customer_id=request.customer, slot_start=slot.starts_at, slot_end=slot.ends_at,
                   hold_until=rules.hold_until(slot, setting.grace_minutes), status="booked", created_at=now,
                   updated_at=now)
    lines = await _hold_articles(session, try_on, channel, held)
    session.add(try_on)
    await session.flush()
    session.add_all(lines)
    await session.flush()
    record = TryOnRecord(try_on, lines)
    await record_event(session, "tryon.booked", try_on.id, try_on_data(record))
    return record


async def _booking_channel(session: AsyncSession, code: str) -> Channel:
    channel = await get_channel(session, code)
    if not (channel.active and channel.online):
        raise InvalidRequest(f"Try-ons are booked on an active online channel (web, app); {code} is not one.")
    return channel


async def _hold_articles(
    session: AsyncSession, try_on: TryOn, channel: Channel, held: dict[str, int],
) -> list[TryOnLine]:
    lines, shortages = [], []
    for sku, quantity in sorted(held.items()):  # a fixed lock order, as orders take it
        try:
            reservation = await holds.reserve_stock(
                session, sku=sku, location=try_on.location_code, quantity=quantity, expires_at=try_on.hold_until,
                channel=channel, reference=try_on.id)
        except StockInsufficient as short:
            shortages += short.shortages
            continue
        lines.append(TryOnLine(try_on_id=try_on.id, sku=sku, quantity=quantity, reservation_id=reservation.id,
                               bought=0))
    if shortages:
        names = ", ".join(s["sku"] for s in shortages)
        raise StockInsufficient(f"Not enough stock at {try_on.location_code} to hold: {names}. Nothing was booked.",
                                shortages=shortages)
    return lines


# --- at the store -----------------------------------------------------------------------------------------
async def check_in(session: AsyncSession, *, try_on_id: str, now: datetime | None = None) -> TryOnRecord:
    """The customer arrived at the store for their try-on."""
    now = now or utcnow()
    record = await get_try_on(session, try_on_id)
    _require_held(record, now, "checked in")
    await _claim(session, record, "checked_in", now, checked_in_at=now)
    await record_event(session, "tryon.checked_in", try_on_id, try_on_data(record))
    return record


async def purchase_try_on(
    session: AsyncSession, *, try_on_id: str, channel: str, lines: Sequence[tuple[str, int]], currency: str,
    now: datetime | None = None,
) -> tuple[TryOnRecord, PlacedOrder]:
    """The customer buys some or all of the held articles; the rest go back on sale.

    On a till's channel (offline) the held units become a ``carry_out`` sale at the store: the holds are
    consumed and the sale takes the units out of on-hand and reserved together. On an online channel the
    holds are released and a ``ship`` order is placed in the same transaction (routed as any web order), so
    nobody can take the units in between — and if it cannot be placed, nothing changes.
    """
    now = now or utcnow()
    record = await get_try_on(session, try_on_id)
    _require_held(record, now, "bought")
    bought = rules.merge_lines(lines)
    if problems := rules.purchase_problems(record.held, bought):
        raise TryOnPurchaseInvalid(f"Try-on {try_on_id} holds less than that: "
                                   f"{', '.join(str(p['sku']) for p in problems)}.", lines=problems)
    sale_channel = await get_channel(session, channel)
    await _claim(session, record, rules.purchase_outcome(record.held, bought), now)
    if sale_channel.online:
        await _release_holds(session, record, reason="bought online after the try-on")
        placed = await place_order(session, OrderRequest(
            channel=sale_channel.code, fulfillment="ship", lines=sorted(bought.items()),
            customer=record.try_on.customer_id), currency=currency)
    else:
        await _consume_holds(session, record, bought)
        placed = await place_order(session, OrderRequest(
            channel=sale_channel.code, fulfillment="carry_out", lines=sorted(bought.items()),
            location=record.try_on.location_code, customer=record.try_on.customer_id, stock_held=True),
            currency=currency)
    for line in record.lines:
        line.bought = bought.get(line.sku, 0)
    record.try_on.order_id, record.try_on.purchase_channel = placed.order.id, sale_channel.code
    await session.flush()
    await record_event(session, "tryon.purchased", try_on_id, try_on_data(record))
    return record, placed


async def decline_try_on(session: AsyncSession, *, try_on_id: str, now: datetime | None = None) -> TryOnRecord:
    """The customer tried and bought nothing: the articles go back on sale at once."""
    now = now or utcnow()
    record = await get_try_on(session, try_on_id)
    _require_held(record, now, "declined")
    await _claim(session, record, "declined", now)
    await _release_holds(session, record, reason="tried, not bought")
    await record_event(session, "tryon.declined", try_on_id, try_on_data(record))
    return record


async def cancel_try_on(session: AsyncSession, *, try_on_id: str, now: datetime | None = None) -> TryOnRecord:
    """The customer will not come: the place in the slot and the articles are freed."""
    now = now or utcnow()
    record = await get_try_on(session, try_on_id)
    _require_held(record, now, "cancelled")
    await _claim(session, record, "cancelled", now)
    # The slot's row before the stock rows: the order in which a booking locks them.
    await slots.give_back_place(session, location=record.try_on.location_code, starts_at=record.try_on.slot_start)
    await _release_holds(session, record, reason="try-on cancelled")
    await record_event(session, "tryon.cancelled", try_on_id, try_on_data(record))
    return record


def _require_held(record: TryOnRecord, now: datetime, action: str) -> None:
    t = record.try_on
    if t.status not in rules.OPEN_STATUSES:
        raise TryOnTransitionRefused(f"Try-on {t.id} is {t.status}; it can no longer be {action}.")
    if now >= t.hold_until:
        raise TryOnLapsed(f"Try-on {t.id} lapsed at {t.hold_until.isoformat()}: its articles are back on sale, "
                          f"so it can no longer be {action}.")


async def _claim(session: AsyncSession, record: TryOnRecord, target: str, now: datetime, **values: Any) -> None:
    """Compare-and-set the status: of a purchase and a lapse racing, exactly one goes through."""
    t = record.try_on
    if not rules.can_move(t.status, target):
        raise TryOnTransitionRefused(f"Try-on {t.id} is {t.status}; it cannot become {target}.")
    closing = {} if target in rules.OPEN_STATUSES else {"closed_at": now}
    claimed = await session.execute(
        update(TryOn).where(TryOn.id == t.id, TryOn.status == t.status)
        .values(status=target, updated_at=now, **closing, **values))
    if not claimed.rowcount:  # type: ignore[attr-defined]
        raise TryOnTransitionRefused(f"Try-on {t.id} changed meanwhile; it cannot become {target}.")
    await session.refresh(t)


async def _release_holds(session: AsyncSession, record: TryOnRecord, *, reason: str, status: str = "released") -> None:
    """Give back every hold still active (the reservations sweeper may have lapsed some already)."""
    for line in sorted(record.lines, key=lambda li: li.sku):
        reservation = await holds.get_reservation(session, line.reservation_id)
        if reservation.status == "active":
            await holds.close_reservation(session, reservation, status=status, reason=reason)


async def _consume_holds(session: AsyncSession, record: TryOnRecord, bought: dict[str, int]) -> None:
    """Bought units stay reserved for the till sale that takes them; the rest are released."""
    for line in sorted(record.lines, key=lambda li: li.sku):
        reservation = await holds.get_reservation(session, line.reservation_id)
        taken = bought.get(line.sku, 0)
        if not taken:
            await holds.close_reservation(session, reservation, status="released", reason="tried, not bought")
            continue
        await holds.close_reservation(session, reservation, status="consumed")
        if taken < line.quantity:
            change = await ledger.release(session, sku=line.sku, location=reservation.location_code,
                                          quantity=line.quantity - taken, reference=record.try_on.id,
                                          reason="tried, not bought")
            if change is not None:
                await ledger.record_changes(session, [change])


# --- lapsing ----------------------------------------------------------------------------------------------
async def expire_try_ons(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Every try-on whose hold ran out: articles back on sale, a booking never checked in recorded as a
    no-show (``tryon.no_show``), one checked in but never settled as ``expired``. Returns how many."""
    now = now or utcnow()
    query = (select(TryOn).where(TryOn.status.in_(rules.OPEN_STATUSES), TryOn.hold_until <= now)
             .order_by(TryOn.hold_until, TryOn.id).limit(EXPIRY_BATCH))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    lapsed = 0
    for try_on in (await session.scalars(query)).all():
        record = TryOnRecord(try_on, await _lines_of(session, try_on.id))
        target = rules.lapse_status(try_on.status)
        await _claim(session, record, target, now)
        await _release_holds(session, record, reason="try-on hold ended", status="expired")
        await record_event(session, f"tryon.{target}", try_on.id, try_on_data(record))
        lapsed += 1
    return lapsed


# --- reading ----------------------------------------------------------------------------------------------
async def get_try_on(session: AsyncSession, try_on_id: str) -> TryOnRecord:
    try_on = await session.get(TryOn, try_on_id)
    if try_on is None:
        raise TryOnNotFound(f"No try-on {try_on_id}.")
    return TryOnRecord(try_on, await _lines_of(session, try_on_id))


async def _lines_of(session: AsyncSession, try_on_id: str) -> list[TryOnLine]:
    return list((await session.scalars(
        select(TryOnLine).where(TryOnLine.try_on_id == try_on_id).order_by(TryOnLine.sku))).all())


@dataclass(frozen=True)
class TryOnFilter:
    location: str | None = None
    customer: str | None = None
    status: str | None = None
    channel: str | None = None
    slot_from: datetime | None = None
    slot_to: datetime | None = None
    # the caller's scope: only try-ons at these stores / booked on this channel
    within_locations: Sequence[str] | None = None
    within_channel: str | None = None


async def list_try_ons(
    session: AsyncSession, *, filters: TryOnFilter, before_id: str | None, limit: int,
) -> list[TryOnRecord]:
    """Try-ons newest booking first."""
    query = select(TryOn)
    for column, value in ((TryOn.location_code, filters.location), (TryOn.customer_id, filters.customer),
                          (TryOn.status, filters.status), (TryOn.channel_code, filters.channel)):
        if value is not None:
            query = query.where(column == value)
    if filters.within_locations is not None:
        query = query.where(TryOn.location_code.in_(filters.within_locations))
    if filters.within_channel is not None:
        query = query.where(TryOn.channel_code == filters.within_channel)
    if filters.slot_from is not None:
        query = query.where(TryOn.slot_start >= filters.slot_from)
    if filters.slot_to is not None:
        query = query.where(TryOn.slot_start < filters.slot_to)
    if before_id is not None:
        query = query.where(TryOn.id < before_id)
    try_ons = list((await session.scalars(query.order_by(TryOn.id.desc()).limit(limit))).all())
    lines: dict[str, list[TryOnLine]] = {t.id: [] for t in try_ons}
    if try_ons:
        for line in (await session.scalars(select(TryOnLine).where(TryOnLine.try_on_id.in_(list(lines)))
                                           .order_by(TryOnLine.sku))).all():
            lines[line.try_on_id].append(line)
    return [TryOnRecord(t, lines[t.id]) for t in try_ons]


async def try_on_record(session: AsyncSession, *, customer_id: str) -> dict[str, int]:
    """How many of a customer's try-ons ended in each status (``no_show`` among them)."""
    await get_customer(session, customer_id)
    rows = await session.execute(select(TryOn.status, func.count()).where(TryOn.customer_id == customer_id)
                                 .group_by(TryOn.status))
    return {status: int(count) for status, count in rows.all()}
