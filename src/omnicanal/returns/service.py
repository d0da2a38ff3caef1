"""Return use cases: take a return (in store, or announced by mail), receive it, refund it, cancel it, read.

A return is checked against the order under the order's row lock, so two concurrent returns of one order
cannot together take back more than was bought. Sellable units go back on the receiving location's shelf
(ledger movement ``return``); damaged ones go to that location's *damaged bin*, an inactive pseudo-location
``<code>-DAMAGED`` with no capability, created on first use: no channel ever promises its units, yet the usual
stock tools (counts, adjustments to write off, transfers back after repair) work on it.

Other domains may call :func:`create_return`, :func:`receive_return`, :func:`refund_return`,
:func:`get_return`, :func:`list_returns` and :func:`returnable_lines`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.db import upsert_dialect
from omnicanal.events.service import Event, record_event
from omnicanal.inventory import ledger
from omnicanal.inventory.rules import MovementKind
from omnicanal.kit.clock import utcnow
from omnicanal.kit.ids import new_id
from omnicanal.network.models import Location
from omnicanal.network.rules import CAPABILITIES
from omnicanal.network.service import get_location, list_locations, location_data
from omnicanal.orders.service import PlacedOrder, get_order, lock_order, record_payment
from omnicanal.returns import rules
from omnicanal.returns.errors import (
    OrderNotReturnable,
    ReturnExceedsPurchase,
    ReturnLinesUnknown,
    ReturnLocationInvalid,
    ReturnNotFound,
    ReturnTransitionRefused,
)
from omnicanal.returns.models import OrderReturn, OrderReturnLine
from omnicanal.returns.rules import BoughtLine, ReturnedUnits, WantedLine


@dataclass(frozen=True)
class ReturnRequest:
    order_id: str
    method: str  # in_store | mail
    lines: Sequence[WantedLine]
    location: str | None = None


@dataclass(frozen=True)
class ReturnRecord:
    ret: OrderReturn
    lines: list[OrderReturnLine]


def return_data(record: ReturnRecord) -> dict[str, Any]:
    """The return as carried in events: what loyalty needs to reverse points (order, customer, lines, refund)."""
    r = record.ret
    return {
        "id": r.id, "order_id": r.order_id, "customer_id": r.customer_id, "channel": r.channel_code,
        "location": r.location_code, "method": r.method, "status": r.status, "currency": r.currency,
        "refund_amount": r.refund_amount, "refund_reference": r.refund_reference,
        "lines": [{"line_no": line.line_no, "order_line_no": line.order_line_no, "sku": line.sku,
                   "quantity": line.quantity, "condition": line.condition, "reason": line.reason,
                   "refund_amount": line.refund_amount, "restocked_at": line.restocked_at}
                  for line in record.lines],
    }


# --- taking a return --------------------------------------------------------------------------------------
async def create_return(
    session: AsyncSession, request: ReturnRequest, *, default_mail_location: str | None = None,
) -> ReturnRecord:
    """Take back units of a delivered or completed order. ``in_store``: the goods are at the counter, so the
    return is received (restocked) at once. ``mail``: the return is announced (``requested``) and received
    later at the returns location. Nothing is written when a line is not on the order (422) or asks for more
    than was bought less what was already returned (409)."""
    placed = await lock_order(session, request.order_id)
    if placed.order.status not in rules.RETURNABLE_ORDER_STATUSES:
        raise OrderNotReturnable(f"Order {placed.order.id} is {placed.order.status}; only a delivered, completed "
                                 "or collected order can be returned.")
    location = await _receiving_location(session, request.method, request.location, default_mail_location)
    allocation = rules.allocate_return(bought_lines(placed), await _returned_so_far(session, placed.order.id),
                                       request.lines)
    if allocation.unknown:
        raise ReturnLinesUnknown(f"Not on order {placed.order.id}: "
                                 f"{', '.join(str(u['sku'] or u['line_no']) for u in allocation.unknown)}.",
                                 unknown=allocation.unknown)
    if allocation.excess:
        raise ReturnExceedsPurchase(
            "More than was bought less what was already returned: "
            f"{', '.join(str(e['sku']) for e in allocation.excess)}. Nothing was written.", excess=allocation.excess)
    record = await _write_return(session, placed, location.code, request.method, allocation)
    if request.method == rules.ReturnMethod.IN_STORE:
        return await _receive(session, record, source="requested", conditions={})
    return record


async def _receiving_location(
    session: AsyncSession, method: str, code: str | None, default_mail_location: str | None,
) -> Location:
    if method == rules.ReturnMethod.MAIL and code is None:
        code = default_mail_location or await _first_returns_warehouse(session)
    if code is None:
        raise ReturnLocationInvalid("A store taking the return in person must be given (location).")
    location = await get_location(session, code)
    if not (location.active and location.returns):
        raise ReturnLocationInvalid(f"{code} does not take returns.")
    if method == rules.ReturnMethod.IN_STORE and location.kind != "store":
        raise ReturnLocationInvalid(f"{code} is a {location.kind}: an in-store return is taken at a store.")
    return location


async def _first_returns_warehouse(session: AsyncSession) -> str:
    warehouses = await list_locations(session, capability="returns", kind="warehouse", limit=1)
    if not warehouses:
        raise ReturnLocationInvalid("No returns location is configured (OMNICANAL_RETURNS_LOCATION) and no "
                                    "warehouse takes returns: give the location.")
    return warehouses[0].code


def bought_lines(placed: PlacedOrder) -> list[BoughtLine]:
    """The order's lines with what was paid for each (an order-level discount spread pro rata)."""
    paid = rules.paid_per_line({line.line_no: line.line_total for line in placed.lines}, placed.order.total)
    return [BoughtLine(line.line_no, line.sku, line.quantity, paid[line.line_no]) for line in placed.lines]


async def _returned_so_far(session: AsyncSession, order_id: str) -> dict[int, ReturnedUnits]:
    rows = await session.execute(
        select(OrderReturnLine.order_line_no, func.sum(OrderReturnLine.quantity),
               func.sum(OrderReturnLine.refund_amount))
        .join(OrderReturn, OrderReturn.id == OrderReturnLine.return_id)
        .where(OrderReturn.order_id == order_id, OrderReturn.status.in_(rules.LIVE_STATUSES))
        .group_by(OrderReturnLine.order_line_no))
    return {int(n): ReturnedUnits(int(quantity), int(refunded)) for n, quantity, refunded in rows.all()}


async def _write_return(
    session: AsyncSession, placed: PlacedOrder, location: str, method: str, allocation: rules.Allocation,
) -> ReturnRecord:
    now = utcnow()
    order = placed.order
    ret = OrderReturn(
        id=new_id("ret"), order_id=order.id, channel_code=order.channel_code, customer_id=order.customer_id,
        location_code=location, method=method, status="requested", currency=order.currency,
        refund_amount=allocation.refund, created_at=now, updated_at=now)
    lines = [OrderReturnLine(return_id=ret.id, line_no=n, order_line_no=a.line_no, sku=a.sku, quantity=a.quantity,
                             condition=a.condition, reason=a.reason, refund_amount=a.refund)
             for n, a in enumerate(allocation.lines, start=1)]
    session.add(ret)
    await session.flush()
    session.add_all(lines)
    await session.flush()
    record = ReturnRecord(ret, lines)
    await record_event(session, "return.created", ret.id, return_data(record))
    return record


# --- receiving, refunding, cancelling ---------------------------------------------------------------------
async def receive_return(
    session: AsyncSession, *, return_id: str, conditions: Mapping[int, str] | None = None,
) -> ReturnRecord:
    """The announced parcel arrived: restock its units (``conditions`` by return line overrides what the
    customer declared, after inspection)."""
    record = await get_return(session, return_id)
    unknown = sorted(set(conditions or {}) - {line.line_no for line in record.lines})
    if unknown:
        raise ReturnLinesUnknown(f"Return {return_id} has no line {unknown[0]}.",
                                 unknown=[{"line_no": n} for n in unknown])
    return await _receive(session, record, source="requested", conditions=conditions or {})


async def _receive(
    session: AsyncSession, record: ReturnRecord, *, source: str, conditions: Mapping[int, str],
) -> ReturnRecord:
    now = utcnow()
    await _claim(session, record, source, "received", received_at=now)
    location = await get_location(session, record.ret.location_code)
    changes = []
    for line in record.lines:
        line.condition = conditions.get(line.line_no, line.condition)
        line.restocked_at = (await _damaged_bin(session, location) if line.condition == rules.Condition.DAMAGED
                             else location.code)
        changes.append(await ledger.add_to_level(
            session, sku=line.sku, location=line.restocked_at, kind=MovementKind.RETURN, on_hand_delta=line.quantity,
            reference=record.ret.id, reason=line.reason))
    await session.flush()
    await ledger.record_changes(session, changes, also=[Event("return.received", record.ret.id, return_data(record))])
    return record


async def _damaged_bin(session: AsyncSession, location: Location) -> str:
    """The location's damaged bin, created on first use (insert-or-nothing, so concurrent returns agree)."""
    code = rules.damaged_bin_code(location.code)
    now = utcnow()
    statement = upsert_dialect(session.get_bind().dialect.name).insert(Location).values(
        code=code, name=f"{location.name} — damaged returns"[:200], kind=location.kind, address=location.address,
        latitude=location.latitude, longitude=location.longitude, timezone=location.timezone, opening_hours={},
        sells=False, ships=False, pickup=False, returns=False, active=False, created_at=now, updated_at=now,
    ).on_conflict_do_nothing(index_elements=["code"]).returning(Location.code)
    created = (await session.execute(statement)).first() is not None
    bin_location = await get_location(session, code)
    if created:
        await record_event(session, "location.created", code,
                           {**location_data(bin_location), "damaged_bin_of": location.code})
    elif bin_location.active or any(getattr(bin_location, name) for name in CAPABILITIES):
        raise ReturnLocationInvalid(f"{code} is a real location, so it cannot be {location.code}'s damaged bin.")
    return code


async def refund_return(session: AsyncSession, *, return_id: str, reference: str | None = None) -> ReturnRecord:
    """Record that the refund was paid back (the payment provider's ``reference``). Once every unit of a paid
    order is refunded, the order's payment becomes ``refunded`` too."""
    record = await get_return(session, return_id)
    await _claim(session, record, "received", "refunded", refunded_at=utcnow(), refund_reference=reference)
    await record_event(session, "return.refunded", record.ret.id, return_data(record))
    await _settle_order_payment(session, record.ret.order_id)
    return record


async def _settle_order_payment(session: AsyncSession, order_id: str) -> None:
    placed = await get_order(session, order_id)
    refunded = await session.scalar(
        select(func.coalesce(func.sum(OrderReturn.refund_amount), 0))
        .where(OrderReturn.order_id == order_id, OrderReturn.status == "refunded"))
    if placed.order.payment_status == "paid" and int(refunded or 0) >= placed.order.total:
        await record_payment(session, order_id=order_id, status="refunded", reference=None)


async def cancel_return(session: AsyncSession, *, return_id: str) -> ReturnRecord:
    """An announced return that never came: its units may be returned again."""
    record = await get_return(session, return_id)
    await _claim(session, record, "requested", "cancelled", cancelled_at=utcnow())
    await record_event(session, "return.cancelled", record.ret.id, return_data(record))
    return record


async def _claim(session: AsyncSession, record: ReturnRecord, source: str, target: str, **values: Any) -> None:
    """Compare-and-set the status, so that of two concurrent refunds only one goes through."""
    ret = record.ret
    if ret.status != source:
        raise ReturnTransitionRefused(f"Return {ret.id} is {ret.status}; only a {source} return can be {target}.")
    claimed = await session.execute(
        update(OrderReturn).where(OrderReturn.id == ret.id, OrderReturn.status == source)
        .values(status=target, updated_at=utcnow(), **values))
    if not claimed.rowcount:  # type: ignore[attr-defined]
        raise ReturnTransitionRefused(f"Return {ret.id} changed meanwhile; it can no longer be {target}.")
    await session.refresh(ret)


# --- reading ----------------------------------------------------------------------------------------------
async def get_return(session: AsyncSession, return_id: str) -> ReturnRecord:
    ret = await session.get(OrderReturn, return_id)
    if ret is None:
        raise ReturnNotFound(f"No return {return_id}.")
    return ReturnRecord(ret, (await _lines_of(session, [return_id]))[return_id])


async def _lines_of(session: AsyncSession, return_ids: Sequence[str]) -> dict[str, list[OrderReturnLine]]:
    lines: dict[str, list[OrderReturnLine]] = {return_id: [] for return_id in return_ids}
    for line in (await session.scalars(
            select(OrderReturnLine).where(OrderReturnLine.return_id.in_(return_ids))
            .order_by(OrderReturnLine.return_id, OrderReturnLine.line_no))).all():
        lines[line.return_id].append(line)
    return lines


@dataclass(frozen=True)
class ReturnFilter:
    order: str | None = None
    location: str | None = None
    status: str | None = None
    customer: str | None = None
    method: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    # the caller's scope: only returns received at these locations / of orders on this channel
    within_locations: Sequence[str] | None = None
    within_channel: str | None = None


async def list_returns(
    session: AsyncSession, *, filters: ReturnFilter, before_id: str | None, limit: int,
) -> list[ReturnRecord]:
    """Returns newest first (ids sort by creation time)."""
    query = select(OrderReturn)
    for column, value in ((OrderReturn.order_id, filters.order), (OrderReturn.location_code, filters.location),
                          (OrderReturn.status, filters.status), (OrderReturn.customer_id, filters.customer),
                          (OrderReturn.method, filters.method)):
        if value is not None:
            query = query.where(column == value)
    if filters.within_locations is not None:
        query = query.where(OrderReturn.location_code.in_(filters.within_locations))
    if filters.within_channel is not None:
        query = query.where(OrderReturn.channel_code == filters.within_channel)
    if filters.created_from is not None:
        query = query.where(OrderReturn.created_at >= filters.created_from)
    if filters.created_to is not None:
        query = query.where(OrderReturn.created_at < filters.created_to)
    if before_id is not None:
        query = query.where(OrderReturn.id < before_id)
    returns = list((await session.scalars(query.order_by(OrderReturn.id.desc()).limit(limit))).all())
    lines = await _lines_of(session, [r.id for r in returns])
    return [ReturnRecord(r, lines[r.id]) for r in returns]


@dataclass(frozen=True)
class ReturnableLine:
    line_no: int
    sku: str
    bought: int
    returned: int
    paid: int
    refunded: int

    @property
    def returnable(self) -> int:
        return self.bought - self.returned


async def returnable_lines(session: AsyncSession, *, order_id: str) -> tuple[PlacedOrder, list[ReturnableLine]]:
    """What each line of the order may still return (the till shows it before taking a return)."""
    placed = await get_order(session, order_id)
    returned = await _returned_so_far(session, order_id)
    return placed, [
        ReturnableLine(line.line_no, line.sku, line.quantity, returned.get(line.line_no, ReturnedUnits()).quantity,
                       line.paid, returned.get(line.line_no, ReturnedUnits()).refunded)
        for line in bought_lines(placed)
    ]
