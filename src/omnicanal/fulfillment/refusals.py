"""The pickup store refuses a click & collect order it cannot prepare, and the customer chooses what next.

The store gives one of the reasons a shipping location gives (not_in_stock, count_mismatch, damaged,
no_variance), with the same stock effect (:func:`omnicanal.routing.rejections.apply_rejection`): its hold on the
refused lines is released and the reason's correction applied. The order then waits as ``awaiting_customer``
and ``pickup.refused`` carries the alternatives for the customer's notification:

* **another store** — those that can have the whole order, nearest to the refusing store first, from their
  own shelves or by transfer (a later promise); the refusing store is neither offered nor drawn from;
* **delivery** — the order becomes a ship order, routed by the routing engine (the refusing store excluded);
* **cancellation** — what is still held is released and what was paid is due back.

The customer's answer (:func:`choose_alternative`) is all or nothing: if the stock it needs is gone, nothing
changes and the alternatives can be asked again. Without an answer by ``decide_by`` (the store's holding
period after the refusal) the sweeper cancels the order (:func:`cancel_unanswered_refusals`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.events.service import record_event
from omnicanal.fulfillment import rules
from omnicanal.fulfillment.errors import PickupInvalid, PickupStepRefused
from omnicanal.fulfillment.models import PickupInbound, PickupTask
from omnicanal.fulfillment.pickups import Pickup, get_pickup, pickup_data
from omnicanal.fulfillment.placing import PREPARABLE, reserve_allocations
from omnicanal.fulfillment.rules import Alternative
from omnicanal.fulfillment.sourcing import (
    PickupOption,
    pickup_options,
    pickup_store,
    pickup_terms,
    plan_for_store,
    promise,
)
from omnicanal.inventory import ledger
from omnicanal.inventory.errors import StockInsufficient
from omnicanal.kit.clock import utcnow
from omnicanal.network.service import get_channel, get_location
from omnicanal.orders.models import Order
from omnicanal.orders.rules import demand_by_sku
from omnicanal.orders.service import PlacedOrder, cancel_order, move_order, set_line_location, split_line
from omnicanal.routing.rejections import RefusedLine, Rejection, apply_rejection
from omnicanal.routing.service import explain_routing, route_new_order

AWAITING = "awaiting_customer"
MAX_STORES = 5  # alternatives offered in the notification (the API lists more on demand)


@dataclass(frozen=True)
class Alternatives:
    """What the customer of a refused order may choose now."""

    stores: list[PickupOption]  # nearest to the refusing store first
    delivery: bool  # some location can ship the whole order now
    refund: int  # what cancelling gives back (minor units): the total, when paid or authorised
    decide_by: datetime | None


@dataclass(frozen=True)
class Refusal:
    pickup: Pickup
    rejection: Rejection
    alternatives: Alternatives


async def refuse_pickup(
    session: AsyncSession, *, order_id: str, location: str, reason: str, lines: Sequence[RefusedLine] | None = None,
    counted: int | None = None, units: int | None = None, note: str | None = None, now: datetime | None = None,
) -> Refusal:
    """``location``, the pickup store, refuses the order (``lines``; default every line it holds) for ``reason``:
    the reason's stock effect, the hold released, the order ``awaiting_customer`` until ``decide_by``, and
    ``pickup.refused`` with the alternatives. 404/409/422 with nothing changed when it cannot be refused."""
    now = now or utcnow()
    pickup = await get_pickup(session, order_id, lock=True)
    if location != pickup.store:
        raise PickupStepRefused(f"Order {order_id} is collected at {pickup.store}; only that store can refuse it.")
    rejection = await apply_rejection(session, order_id=order_id, location=location, reason=reason, lines=lines,
                                      counted=counted, units=units, note=note, statuses=PREPARABLE)
    terms = (await pickup_terms(session, [pickup.store]))[pickup.store]
    pickup.task.refused_at, pickup.task.decide_by = now, rules.holding_deadline(now, terms.holding_days)
    pickup.task.updated_at = now
    await move_order(session, pickup.placed, AWAITING, reason=reason, refused_by=location)
    alternatives = await find_alternatives(session, pickup, now=now)
    refused = [{"line_no": li.line_no, "sku": li.sku, "quantity": li.quantity} for li in rejection.refused]
    await record_event(session, "pickup.refused", order_id, pickup_data(
        pickup, reason=reason, note=note, refused=refused,
        alternatives=alternatives_data(alternatives, limit=MAX_STORES)))
    return Refusal(pickup, rejection, alternatives)


async def find_alternatives(session: AsyncSession, pickup: Pickup, *, now: datetime | None = None,
                            limit: int = 20) -> Alternatives:
    """The stores (up to ``limit``) that could have the whole order, whether it could be delivered, and what
    cancelling gives back. The units this order still holds elsewhere are not counted as free: the offer
    errs on the safe side."""
    order = pickup.placed.order
    wanted = [(line.sku, line.quantity) for line in pickup.placed.lines]
    refusing = await get_location(session, pickup.store)
    options = await pickup_options(session, lines=wanted, channel=order.channel_code, latitude=refusing.latitude,
                                   longitude=refusing.longitude, limit=100, now=now, excluded=(pickup.store,))
    stores = [option for option in options if option.in_stock or option.transfer is not None][:limit]
    shipping = await explain_routing(session, channel=order.channel_code, lines=wanted, ship_to=None,
                                     excluded=(pickup.store,))
    delivery = shipping.chosen is not None
    refund = order.total if order.payment_status in ("authorized", "paid") else 0
    return Alternatives(stores, delivery, refund, pickup.task.decide_by)


def alternatives_data(found: Alternatives, *, limit: int | None = None) -> dict[str, Any]:
    """The alternatives as carried in ``pickup.refused`` (what a notification shows the customer)."""
    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "decide_by": iso(found.decide_by),
        "another_store": [
            {"location": o.store.code, "name": o.store.name, "distance_km": o.distance_km, "in_stock": o.in_stock,
             "ready_at": iso(o.ready_at if o.in_stock else o.transfer.ready_at if o.transfer else None)}
            for o in found.stores[:limit]],
        "delivery": found.delivery,
        "cancel": {"refund": found.refund},
    }


# --- the customer's answer ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Choice:
    choice: Alternative
    placed: PlacedOrder
    pickup: Pickup | None  # the order at its new store (another_store); None once delivered or cancelled
    from_store: str


async def choose_alternative(
    session: AsyncSession, *, order_id: str, choice: Alternative, store: str | None = None,
    allow_transfer: bool = True, ship_to: Mapping[str, Any] | None = None, now: datetime | None = None,
) -> Choice:
    """Carry out the customer's answer to a refusal. ``another_store`` needs ``store`` (``allow_transfer``: what
    it lacks may come from elsewhere, with a later promise); ``delivery`` needs ``ship_to``. All or nothing:
    :class:`StockInsufficient` or ``CapacityExhausted`` (409) when what it needs is gone, and nothing changes."""
    now = now or utcnow()
    pickup = await get_pickup(session, order_id, lock=True)
    if pickup.placed.order.status != AWAITING:
        raise PickupStepRefused(f"Order {order_id} is {pickup.state}: there is no refusal to answer.")
    refused_by = pickup.store
    if choice is Alternative.CANCEL:
        placed = await cancel_order(session, order_id=order_id, reason=f"refused by {refused_by}; cancelled by the "
                                                                       "customer")
        await _told(session, pickup, choice, refused_by)
        return Choice(choice, placed, None, refused_by)
    if choice is Alternative.ANOTHER_STORE:
        if store is None:
            raise PickupInvalid("another_store needs the store where the customer will collect the order.")
        moved = await _to_store(session, pickup, store, allow_transfer=allow_transfer, now=now)
        await _told(session, moved, choice, refused_by, store=store)
        return Choice(choice, moved.placed, moved, refused_by)
    if ship_to is None:
        raise PickupInvalid("delivery needs the address to ship to (ship_to).")
    placed = await _to_delivery(session, pickup, dict(ship_to))
    await _told(session, pickup, choice, refused_by)
    return Choice(choice, placed, None, refused_by)


async def _told(session: AsyncSession, pickup: Pickup, choice: Alternative, refused_by: str, **extra: Any) -> None:
    await record_event(session, "pickup.alternative_chosen", pickup.placed.order.id, {
        "order": pickup.placed.order.id, "customer": pickup.placed.order.customer_id, "choice": choice.value,
        "refused_by": refused_by, "status": pickup.placed.order.status, **extra})


async def _release_held(session: AsyncSession, placed: PlacedOrder, reason: str) -> list[ledger.StockChange]:
    """Give back every unit the order holds (its lines then reserved nowhere), having locked its SKUs' rows in
    the order every stock writer follows."""
    await ledger.lock_levels(session, [line.sku for line in placed.lines])
    changes = []
    for line in sorted((li for li in placed.lines if li.location_code), key=lambda li: (li.sku, li.location_code)):
        change = await ledger.release(session, sku=line.sku, location=line.location_code or "",
                                      quantity=line.quantity, reference=placed.order.id, reason=reason)
        changes += [change] if change is not None else []
        line.location_code = None
    await session.flush()
    return changes


async def _to_store(session: AsyncSession, pickup: Pickup, code: str, *, allow_transfer: bool,
                    now: datetime) -> Pickup:
    placed, refused_by = pickup.placed, pickup.store
    if code == refused_by:
        raise PickupInvalid(f"{code} refused this order: choose another store.")
    target = await pickup_store(session, code)
    channel = await get_channel(session, placed.order.channel_code)
    demand = demand_by_sku([(line.sku, line.quantity) for line in placed.lines])
    released = await _release_held(session, placed, f"moved from {refused_by} to {code} after a refusal")
    plan = await plan_for_store(session, target, demand, buffer=channel.promise_buffer, allow_transfer=allow_transfer,
                                excluded=(refused_by,))
    if not plan.complete:
        hint = "" if allow_transfer else " (allow_transfer may bring them from elsewhere)"
        raise StockInsufficient(f"{code} cannot have this order{hint}: {', '.join(sorted(plan.shortages))}. "
                                "Nothing changed.", shortages=[
                                    {"sku": sku, "location": code, "requested": demand[sku], "missing": missing}
                                    for sku, missing in sorted(plan.shortages.items())])
    reserved = await reserve_allocations(session, plan.allocations, buffer=channel.promise_buffer,
                                         reference=placed.order.id, now=now)
    await _assign(session, placed, plan.allocations, store=code)
    for row in pickup.inbound:  # goods already on their way to the refusing store arrive there as its stock
        await session.delete(row)
    inbound = [PickupInbound(order_id=placed.order.id, line_no=line.line_no, sku=line.sku, quantity=line.quantity,
                             from_location=line.location_code, created_at=now)
               for line in placed.lines if line.location_code != code]
    session.add_all(inbound)
    terms = (await pickup_terms(session, [code]))[code]
    task = pickup.task
    task.location_code, task.started_at, task.decide_by, task.updated_at = code, None, None, now
    task.promised_at = promise(target, terms, now=now, transfer=bool(inbound))
    placed.order.location_code = code
    await session.flush()
    await move_order(session, placed, "confirmed", changes=[*released, *reserved], relocated_from=refused_by,
                     location=code)
    return Pickup(placed, task, inbound)


async def _assign(session: AsyncSession, placed: PlacedOrder, allocations: Sequence[rules.Allocation], *,
                  store: str) -> None:
    """Give each line's units their allocations (``store``'s own first), splitting a line served from two places
    into two lines at the same prices."""
    left: dict[str, list[list[Any]]] = {}
    for a in sorted(allocations, key=lambda a: (a.sku, a.location != store, a.location)):
        left.setdefault(a.sku, []).append([a.location, a.quantity])
    for line in sorted(placed.lines, key=lambda li: li.line_no):
        while True:
            slot = next(s for s in left[line.sku] if s[1] > 0)
            take = min(line.quantity, slot[1])
            slot[1] -= take
            if take == line.quantity:
                await set_line_location(session, placed, line_no=line.line_no, location=slot[0])
                break
            await split_line(session, placed, line_no=line.line_no, quantity=take, location=slot[0])


async def _to_delivery(session: AsyncSession, pickup: Pickup, ship_to: dict[str, Any]) -> PlacedOrder:
    placed, refused_by = pickup.placed, pickup.store
    channel = await get_channel(session, placed.order.channel_code)
    demand = demand_by_sku([(line.sku, line.quantity) for line in placed.lines])
    released = await _release_held(session, placed, f"to be delivered instead of collected at {refused_by}")
    routed = await route_new_order(session, order_id=placed.order.id, demand=demand, channel=channel,
                                   ship_to=ship_to, excluded=(refused_by,), trigger="refused_pickup")
    for line in placed.lines:
        line.location_code = routed.sites[line.sku]
    for row in pickup.inbound:
        await session.delete(row)
    await session.delete(pickup.task)
    order = placed.order
    order.fulfillment, order.location_code, order.ship_to = "ship", None, ship_to
    await session.flush()
    await move_order(session, placed, "confirmed", changes=[*released, *routed.changes], fulfillment_from="pickup",
                     refused_by=refused_by)
    return placed


# --- no answer ----------------------------------------------------------------------------------------------
async def cancel_unanswered_refusals(session: AsyncSession, *, now: datetime | None = None, limit: int = 200) -> int:
    """Cancel the refused orders whose customer did not choose by ``decide_by``: what they hold is released,
    what was paid is due back (``order.cancelled``). Returns how many."""
    now = now or utcnow()
    query = (select(PickupTask.order_id).join(Order, Order.id == PickupTask.order_id)
             .where(Order.status == AWAITING, PickupTask.decide_by <= now)
             .order_by(PickupTask.decide_by, PickupTask.order_id).limit(limit))
    if (await session.connection()).dialect.name == "postgresql":  # another sweeper takes the others
        query = query.with_for_update(of=Order, skip_locked=True)
    cancelled = 0
    for order_id in (await session.scalars(query)).all():
        pickup = await get_pickup(session, order_id, lock=True)
        if pickup.placed.order.status != AWAITING:  # answered meanwhile
            continue
        await cancel_order(session, order_id=order_id, reason="refused by the store; no answer from the customer "
                                                              "in time")
        cancelled += 1
    return cancelled
