"""The store's side of click & collect: the preparation task, ready with a pickup code, handover, expiry.

The order's status is the pickup's state: confirmed (to prepare, or awaiting goods) → preparing → ready →
collected; ready → expired when the customer does not come within the store's holding period; cancelled
from any of the open states (``orders.service.cancel_order``). Each step is a compare-and-set on that status,
so of two concurrent steps (a handover and the expiry job) exactly one happens.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.catalog.service import get_product
from omnicanal.events.service import Event, record_event
from omnicanal.fulfillment import rules
from omnicanal.fulfillment.errors import PickupCodeLocked, PickupCodeWrong, PickupNotFound, PickupStepRefused
from omnicanal.fulfillment.models import PickupInbound, PickupTask
from omnicanal.fulfillment.placing import inbound_of
from omnicanal.fulfillment.sourcing import pickup_terms
from omnicanal.inventory import ledger
from omnicanal.inventory.rules import MovementKind
from omnicanal.kit.clock import utcnow
from omnicanal.orders.errors import OrderTransitionRefused
from omnicanal.orders.models import Order, OrderLine
from omnicanal.orders.rules import may_become
from omnicanal.orders.service import PlacedOrder, get_order, lock_order, move_order, order_data

SWEEP_BATCH = 200


@dataclass(frozen=True)
class PickLine:
    line_no: int
    sku: str
    name: str
    quantity: int
    status: str  # in_store | awaiting_dispatch | in_transit
    from_location: str | None
    transfer_id: str | None


@dataclass(frozen=True)
class Pickup:
    placed: PlacedOrder
    task: PickupTask
    inbound: list[PickupInbound]

    @property
    def store(self) -> str:
        return self.task.location_code

    @property
    def goods_in_store(self) -> bool:
        return all(line.location_code == self.store for line in self.placed.lines)

    @property
    def state(self) -> str:
        return rules.pickup_state(self.placed.order.status, goods_in_store=self.goods_in_store)


@dataclass(frozen=True)
class ReadyPickup:
    pickup: Pickup
    code: str

    @property
    def qr_payload(self) -> str:
        return rules.qr_payload(self.pickup.placed.order.id, self.code)


async def get_pickup(session: AsyncSession, order_id: str, *, lock: bool = False) -> Pickup:
    """A click & collect order with its task (:class:`PickupNotFound` for any other order). ``lock``: the order's
    row stays locked until the transaction ends, so that two steps on one order take turns (the order row is
    always locked before the task's, in every step and in the expiry job)."""
    placed = await (lock_order(session, order_id) if lock else get_order(session, order_id))
    task = await session.get(PickupTask, order_id, populate_existing=True)
    if task is None:
        raise PickupNotFound(f"Order {order_id} is not a click & collect order.")
    return Pickup(placed, task, await inbound_of(session, order_id))


async def pick_list(session: AsyncSession, pickup: Pickup) -> list[PickLine]:
    """What the associate gathers: each line, its article and where its units are."""
    inbound = {row.line_no: row for row in pickup.inbound}
    lines = []
    for line in pickup.placed.lines:
        row = inbound.get(line.line_no)
        status = ("in_store" if line.location_code == pickup.store
                  else "in_transit" if row is not None and row.transfer_id else "awaiting_dispatch")
        lines.append(PickLine(line.line_no, line.sku, (await get_product(session, line.sku)).name, line.quantity,
                              status, row.from_location if row else None, row.transfer_id if row else None))
    return lines


async def list_pickup_tasks(
    session: AsyncSession, *, location: str, state: str | None, after_order: str | None, limit: int,
    scope: ColumnElement[bool] | None = None,
) -> list[Pickup]:
    """A store's click & collect orders, oldest first, optionally in one state (``rules.PickupState``);
    ``scope`` is an extra ``WHERE`` on :class:`Order` (the caller's channel, see ``access.scope``)."""
    query = select(PickupTask.order_id).join(Order, Order.id == PickupTask.order_id).where(
        PickupTask.location_code == location)
    if scope is not None:
        query = query.where(scope)
    if state is not None:
        awaiting = exists().where(PickupInbound.order_id == PickupTask.order_id, PickupInbound.received_at.is_(None))
        status = "confirmed" if state in ("to_prepare", "awaiting_goods") else state
        query = query.where(Order.status == status)
        if state == "to_prepare":
            query = query.where(~awaiting)
        elif state == "awaiting_goods":
            query = query.where(awaiting)
    if after_order is not None:
        query = query.where(PickupTask.order_id > after_order)
    ids = list((await session.scalars(query.order_by(PickupTask.order_id).limit(limit))).all())
    return await _pickups(session, ids)


async def _pickups(session: AsyncSession, ids: Sequence[str]) -> list[Pickup]:
    """The pickups of ``ids``, in that order, read in four queries whatever their number."""
    orders = {o.id: o for o in (await session.scalars(select(Order).where(Order.id.in_(ids)))).all()}
    tasks = {t.order_id: t for t in (await session.scalars(
        select(PickupTask).where(PickupTask.order_id.in_(ids)))).all()}
    lines: dict[str, list[OrderLine]] = {order_id: [] for order_id in ids}
    for line in (await session.scalars(select(OrderLine).where(OrderLine.order_id.in_(ids))
                                       .order_by(OrderLine.order_id, OrderLine.line_no))).all():
        lines[line.order_id].append(line)
    inbound: dict[str, list[PickupInbound]] = {order_id: [] for order_id in ids}
    for row in (await session.scalars(select(PickupInbound).where(PickupInbound.order_id.in_(ids))
                                      .order_by(PickupInbound.order_id, PickupInbound.line_no))).all():
        inbound[row.order_id].append(row)
    return [Pickup(PlacedOrder(orders[i], lines[i]), tasks[i], inbound[i]) for i in ids]


def pickup_data(pickup: Pickup, **extra: Any) -> dict[str, Any]:
    """A pickup as carried in ``pickup.*`` events (no personal data beyond the customer id)."""
    t, o = pickup.task, pickup.placed.order
    return {"order": o.id, "location": t.location_code, "customer": o.customer_id, "channel": o.channel_code,
            "state": pickup.state, "ordered_at": o.created_at.isoformat(),
            **{name: getattr(t, name).isoformat() if getattr(t, name) else None
               for name in ("promised_at", "started_at", "ready_at", "expires_at", "collected_at", "expired_at")},
            **extra}


async def _step(session: AsyncSession, pickup: Pickup, target: str, *, changes: Sequence[ledger.StockChange] = (),
                **extra: Any) -> None:
    """Move the order (compare-and-set) then record the stock changes and a ``pickup.<target>`` event."""
    if not may_become("pickup", pickup.placed.order.status, target):
        raise PickupStepRefused(f"Order {pickup.placed.order.id} is {pickup.state}; it cannot become {target}.")
    try:
        await move_order(session, pickup.placed, target)
    except OrderTransitionRefused as exc:
        raise PickupStepRefused(exc.detail) from exc
    pickup.task.updated_at = utcnow()
    await session.flush()
    await ledger.record_changes(session, list(changes), also=[Event(f"pickup.{target}", pickup.placed.order.id,
                                                                    pickup_data(pickup, **extra))])


async def start_preparation(session: AsyncSession, *, order_id: str, now: datetime | None = None) -> Pickup:
    """An associate starts gathering the order."""
    pickup = await get_pickup(session, order_id, lock=True)
    pickup.task.started_at = now or utcnow()
    await _step(session, pickup, "preparing")
    return pickup


async def mark_ready(session: AsyncSession, *, order_id: str, now: datetime | None = None) -> ReadyPickup:
    """Everything is gathered: the order gets a pickup code (returned once, and carried by ``pickup.ready`` for
    the customer's notification) and waits for its customer for the store's holding period."""
    now = now or utcnow()
    pickup = await get_pickup(session, order_id, lock=True)
    if pickup.placed.order.status == "preparing" and not pickup.goods_in_store:
        awaited = sorted({line.sku for line in pickup.placed.lines if line.location_code != pickup.store})
        raise PickupStepRefused(f"Order {order_id} still awaits goods from elsewhere: {', '.join(awaited)}.")
    terms = (await pickup_terms(session, [pickup.store]))[pickup.store]
    code = _new_code(pickup)
    pickup.task.ready_at, pickup.task.expires_at = now, rules.holding_deadline(now, terms.holding_days)
    await _step(session, pickup, "ready", code=code, qr_payload=rules.qr_payload(order_id, code))
    return ReadyPickup(pickup, code)


def _new_code(pickup: Pickup) -> str:
    code = rules.pickup_code(secrets.token_bytes(5))
    pickup.task.code_digest = rules.code_digest(pickup.placed.order.id, code)
    pickup.task.code_attempts = 0
    return code


async def reissue_code(session: AsyncSession, *, order_id: str) -> ReadyPickup:
    """A new pickup code for a ready order (the customer lost theirs, or it was locked by wrong tries); the old
    one stops working. Recorded as ``pickup.code_reissued`` carrying the new code."""
    pickup = await get_pickup(session, order_id, lock=True)
    if pickup.placed.order.status != "ready":
        raise PickupStepRefused(f"Order {order_id} is {pickup.state}: only a ready order has a pickup code.")
    code = _new_code(pickup)
    pickup.task.updated_at = utcnow()
    await session.flush()
    await record_event(session, "pickup.code_reissued", order_id,
                       pickup_data(pickup, code=code, qr_payload=rules.qr_payload(order_id, code)))
    return ReadyPickup(pickup, code)


async def collect_pickup(session: AsyncSession, *, order_id: str, code: str, now: datetime | None = None) -> Pickup:
    """Hand the order over against its pickup code (or the QR payload): the reserved units leave the store as a
    sale. A wrong code raises :class:`PickupCodeWrong` and changes nothing (the caller then counts the try
    with :func:`record_wrong_code`); after too many, :class:`PickupCodeLocked`."""
    pickup = await get_pickup(session, order_id, lock=True)
    if pickup.placed.order.status != "ready":
        raise PickupStepRefused(f"Order {order_id} is {pickup.state}; only a ready order can be collected.")
    if pickup.task.code_attempts >= rules.MAX_CODE_ATTEMPTS:
        raise PickupCodeLocked(f"Order {order_id} is locked after {pickup.task.code_attempts} wrong codes; "
                               "issue a new code (POST …/pickup/code) after checking the customer's identity.")
    if not rules.code_matches(order_id, rules.code_from_scan(order_id, code.strip()), pickup.task.code_digest):
        raise PickupCodeWrong(f"That is not the pickup code of order {order_id}.",
                              attempts_left=rules.MAX_CODE_ATTEMPTS - pickup.task.code_attempts - 1)
    pickup.task.collected_at = now or utcnow()
    await _step(session, pickup, "collected")
    changes = [await ledger.change_level(
        session, sku=line.sku, location=pickup.store, kind=MovementKind.SALE, on_hand_delta=-line.quantity,
        reserved_delta=-line.quantity, reference=order_id, condition=ledger.LEVEL.reserved >= line.quantity)
        for line in sorted(pickup.placed.lines, key=lambda li: li.sku)]
    await ledger.record_changes(session, [c for c in changes if c is not None])
    return pickup


async def record_wrong_code(session: AsyncSession, *, order_id: str) -> int:
    """Count a wrong pickup code (in its own transaction: the refused handover itself changes nothing).
    Returns the number of wrong tries since the code was issued."""
    attempts = await session.scalar(
        update(PickupTask).where(PickupTask.order_id == order_id)
        .values(code_attempts=PickupTask.code_attempts + 1, updated_at=utcnow())
        .returning(PickupTask.code_attempts))
    if attempts is None:
        return 0
    await record_event(session, "pickup.code_rejected", order_id, {
        "order": order_id, "attempts": attempts, "locked": attempts >= rules.MAX_CODE_ATTEMPTS})
    return int(attempts)


async def expire_uncollected_pickups(session: AsyncSession, *, now: datetime | None = None,
                                     limit: int = SWEEP_BATCH) -> int:
    """Expire every ready order whose holding period has passed: the units go back on sale at the store,
    and ``pickup.expired`` plus ``order.refund_due`` (when money was taken) are recorded. Returns how many.
    Safe to run from several processes at once (one of two concurrent expiries or handovers wins)."""
    now = now or utcnow()
    query = (select(PickupTask.order_id).join(Order, Order.id == PickupTask.order_id)
             .where(Order.status == "ready", PickupTask.expires_at <= now)
             .order_by(PickupTask.expires_at, PickupTask.order_id).limit(limit))
    if (await session.connection()).dialect.name == "postgresql":  # another sweeper takes the others
        query = query.with_for_update(of=Order, skip_locked=True)
    expired: list[Pickup] = []
    for order_id in (await session.scalars(query)).all():
        pickup = await get_pickup(session, order_id, lock=True)
        pickup.task.expired_at = now
        try:
            await _step(session, pickup, "expired")
        except PickupStepRefused:  # collected or cancelled meanwhile
            pickup.task.expired_at = None
            continue
        await refund_due(session, pickup.placed, pickup.placed.order.total, reason="pickup expired")
        expired.append(pickup)
    await release_held_units(session, expired, reason="not collected in time")
    return len(expired)


async def release_held_units(session: AsyncSession, ended: Sequence[Pickup], *, reason: str) -> None:
    """Give back what these orders hold, in (SKU, location) order — the lock order of every stock write."""
    held = sorted((line.sku, line.location_code, line.quantity, p.placed.order.id)
                   for p in ended for line in p.placed.lines if line.location_code is not None)
    changes = []
    for sku, location, quantity, order_id in held:
        change = await ledger.release(session, sku=sku, location=location, quantity=quantity, reference=order_id,
                                      reason=reason)
        changes += [change] if change is not None else []
    await ledger.record_changes(session, changes)


async def refund_due(session: AsyncSession, placed: PlacedOrder, amount: int, *, reason: str) -> None:
    """``order.refund_due`` for the payment system, when the customer has paid (or authorised) something."""
    if amount > 0 and placed.order.payment_status in ("authorized", "paid"):
        await record_event(session, "order.refund_due", placed.order.id, {
            **order_data(placed.order, placed.lines), "amount": amount, "reason": reason})
