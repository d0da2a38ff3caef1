"""A location refuses to send an order's lines. The reason decides the stock effect, as mature order-management
systems do — all of it through the ledger:

* ``not_in_stock``: the shelf is empty; on hand becomes what other orders hold there (nothing left to sell);
* ``count_mismatch``: a recount; on hand becomes the counted figure;
* ``damaged``: damaged or worn display units leave sellable stock (an adjustment);
* ``no_variance``: the figures are right (no time, no packaging…); stock unchanged.

The order's reservation there is released first; then :func:`reject_order` routes the refused lines again
without that location (nor any that refused this order before) — or, when no location can send them, the
order waits as ``backordered`` and ``order.unfulfillable`` says so. :func:`apply_rejection` is the first half
alone, for flows that decide themselves what happens next (a pickup store's short pick).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.events.service import record_event
from omnicanal.inventory import ledger
from omnicanal.inventory.service import adjust_stock, count_stock
from omnicanal.kit.clock import utcnow
from omnicanal.network.service import get_channel
from omnicanal.orders.errors import OrderNotFound
from omnicanal.orders.models import Order, OrderLine
from omnicanal.routing.errors import RejectionInvalid, RejectionRefused
from omnicanal.routing.models import RoutingRejection
from omnicanal.routing.rules import DEFAULT_COST_MODEL, CostModel, OrderToRoute, Plan, cheapest_plan, senders
from omnicanal.routing.service import (
    add_parcels,
    destination_of,
    load_network,
    record_decision,
    remove_parcels,
    reserve_plan,
)

REASONS = ("not_in_stock", "count_mismatch", "damaged", "no_variance")


@dataclass(frozen=True)
class RefusedLine:
    line_no: int
    counted: int | None = None
    units: int | None = None


@dataclass(frozen=True)
class Rejection:
    """What a rejection did: the order (locked), all its lines (the refused ones now reserved nowhere), the
    refused lines, and the stock changes (releases and the reason's effect)."""

    order: Order
    lines: list[OrderLine]
    refused: list[OrderLine]
    effects: list[ledger.StockChange]


async def apply_rejection(
    session: AsyncSession, *, order_id: str, location: str, reason: str, lines: Sequence[RefusedLine] | None = None,
    counted: int | None = None, units: int | None = None, note: str | None = None,
    statuses: Sequence[str] = ("confirmed",),
) -> Rejection:
    """Record that ``location`` refuses the order's lines (``lines``; default: all it sends), release their
    reservation there and apply the reason's stock effect. Refused lines are left reserved nowhere
    (``location`` None): the caller re-sources them. Raises 404/409/422 with nothing changed."""
    if reason not in REASONS:
        raise RejectionInvalid(f"Unknown reason {reason!r}: use {', '.join(REASONS)}.")
    order = await _locked_order(session, order_id)
    if order.status not in statuses:
        raise RejectionRefused(f"Order {order_id} is {order.status}; only a {' or '.join(statuses)} order "
                               f"can be refused by a location.")
    all_lines = list((await session.scalars(
        select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.line_no))).all())
    refused = _refused_lines(order_id, all_lines, location, lines)
    figures = _figures(reason, refused, lines, counted, units)
    await ledger.lock_levels(session, [line.sku for line in refused])
    effects = await _release(session, order_id, location, refused, reason)
    for sku in sorted(figures or {line.sku for line in refused}):
        effect = await _stock_effect(session, sku=sku, location=location, reason=reason,
                                     figure=figures.get(sku), order_id=order_id)
        if effect is not None:
            effects.append(effect)
    for line in refused:
        line.location_code = None
    await session.flush()
    if not any(line.location_code == location for line in all_lines):
        await remove_parcels(session, order_id=order_id, locations=[location])
    await _record(session, order, location, reason, refused, figures, note, effects)
    return Rejection(order, all_lines, refused, effects)


async def _locked_order(session: AsyncSession, order_id: str) -> Order:
    order = await session.scalar(
        select(Order).where(Order.id == order_id).with_for_update().execution_options(populate_existing=True))
    if order is None:
        raise OrderNotFound(f"No order {order_id}.")
    return order


def _refused_lines(order_id: str, all_lines: Sequence[OrderLine], location: str,
                   wanted: Sequence[RefusedLine] | None) -> list[OrderLine]:
    there = [line for line in all_lines if line.location_code == location]
    if not there:
        raise RejectionRefused(f"Order {order_id} has nothing to be sent from {location}.")
    if wanted is None:
        return there
    by_number = {line.line_no: line for line in all_lines}
    refused = []
    for item in wanted:
        line = by_number.get(item.line_no)
        if line is None:
            raise RejectionInvalid(f"Order {order_id} has no line {item.line_no}.")
        if line.location_code != location:
            raise RejectionInvalid(f"Line {item.line_no} of order {order_id} is not sent from {location}.")
        refused.append(line)
    return refused


def _figures(reason: str, refused: Sequence[OrderLine], wanted: Sequence[RefusedLine] | None,
             counted: int | None, units: int | None) -> dict[str, int]:
    """The counted units (count_mismatch) or damaged units (damaged) per refused SKU."""
    if reason not in ("count_mismatch", "damaged"):
        return {}
    field, overall = ("counted", counted) if reason == "count_mismatch" else ("units", units)
    skus = sorted({line.sku for line in refused})
    per_line = {item.line_no: getattr(item, field) for item in wanted or () if getattr(item, field) is not None}
    figures: dict[str, int] = {}
    for line in refused:
        figure = per_line.get(line.line_no)
        if figure is not None and figures.get(line.sku, figure) != figure:
            raise RejectionInvalid(f"Two different {field} figures for {line.sku}.")
        if figure is not None:
            figures[line.sku] = figure
    if overall is not None:
        if len(skus) != 1:
            raise RejectionInvalid(f"{field} for the whole rejection needs a single SKU; give it per line.")
        figures.setdefault(skus[0], overall)
    missing = [sku for sku in skus if sku not in figures]
    if missing:
        raise RejectionInvalid(f"{reason} needs {field} for {', '.join(missing)}.")
    return figures


async def _release(session: AsyncSession, order_id: str, location: str, refused: Sequence[OrderLine],
                   reason: str) -> list[ledger.StockChange]:
    units: dict[str, int] = {}
    for line in refused:
        units[line.sku] = units.get(line.sku, 0) + line.quantity
    changes = []
    for sku in sorted(units):  # the fixed lock order
        change = await ledger.release(session, sku=sku, location=location, quantity=units[sku], reference=order_id,
                                      reason=f"refused by {location}: {reason}")
        if change is None:
            raise RejectionRefused(f"{units[sku]} units of {sku} are not reserved at {location} for {order_id}.")
        changes.append(change)
    await ledger.record_changes(session, changes)
    return changes


async def _stock_effect(session: AsyncSession, *, sku: str, location: str, reason: str, figure: int | None,
                        order_id: str) -> ledger.StockChange | None:
    why = f"order {order_id} refused by {location}: {reason}"
    if reason == "not_in_stock":
        level = await ledger.lock_level(session, sku=sku, location=location)
        if level is None:
            return None
        # Others' reservations stay covered (their stores will say); nothing is left to sell.
        return await count_stock(session, sku=sku, location=location, on_hand=min(level.on_hand, level.reserved),
                                 reason=why)
    if reason == "count_mismatch" and figure is not None:
        return await count_stock(session, sku=sku, location=location, on_hand=figure, reason=why)
    if reason == "damaged" and figure is not None:
        return await adjust_stock(session, sku=sku, location=location, delta=-figure, reason=why, reference=order_id)
    return None


async def _record(session: AsyncSession, order: Order, location: str, reason: str, refused: Sequence[OrderLine],
                  figures: Mapping[str, int], note: str | None, effects: Sequence[ledger.StockChange]) -> None:
    field = "counted" if reason == "count_mismatch" else "units"
    lines = [{"line_no": line.line_no, "sku": line.sku, "quantity": line.quantity,
              **({field: figures[line.sku]} if line.sku in figures else {})} for line in refused]
    await session.execute(insert(RoutingRejection).values(
        order_id=order.id, location_code=location, reason=reason, lines={"lines": lines}, note=note, at=utcnow()))
    await record_event(session, "order.location_rejected", order.id, {
        "order": order.id, "fulfillment": order.fulfillment, "location": location, "reason": reason,
        "lines": lines, "note": note,
        "stock": [{"sku": c.sku, "kind": c.kind.value, "on_hand": c.on_hand, "reserved": c.reserved}
                  for c in effects]})


# --- re-routing a ship order ------------------------------------------------------------------------------
@dataclass(frozen=True)
class RejectOutcome:
    order: Order
    lines: list[OrderLine]
    rerouted: Plan | None
    waiting: list[str]  # SKUs no location could send
    effects: list[ledger.StockChange]


async def reject_order(
    session: AsyncSession, *, order_id: str, location: str, reason: str, lines: Sequence[RefusedLine] | None = None,
    counted: int | None = None, units: int | None = None, note: str | None = None,
    model: CostModel = DEFAULT_COST_MODEL,
) -> RejectOutcome:
    """A shipping location refuses a ship order's lines: apply the reason's stock effect, then route the
    lines again without it. What no location can send waits: the order becomes ``backordered``."""
    order = await session.get(Order, order_id)
    if order is not None and order.fulfillment != "ship":
        raise RejectionRefused(f"Order {order_id} is a {order.fulfillment} order: its store reports missing "
                               "goods through the pickup preparation (short pick).")
    rejection = await apply_rejection(session, order_id=order_id, location=location, reason=reason, lines=lines,
                                      counted=counted, units=units, note=note, statuses=("confirmed", "backordered"))
    plan, waiting, changes = await _reroute(session, rejection, model)
    await ledger.record_changes(session, changes)
    return RejectOutcome(rejection.order, rejection.lines, plan, waiting, [*rejection.effects, *changes])


async def _reroute(session: AsyncSession, rejection: Rejection,
                   model: CostModel) -> tuple[Plan | None, list[str], list[ledger.StockChange]]:
    order, refused = rejection.order, rejection.refused
    demand: dict[str, int] = {}
    for line in refused:
        demand[line.sku] = demand.get(line.sku, 0) + line.quantity
    excluded = set((await session.scalars(
        select(RoutingRejection.location_code).where(RoutingRejection.order_id == order.id))).all())
    opened = {line.location_code for line in rejection.lines if line.location_code is not None}
    channel = await get_channel(session, order.channel_code)
    wanted = OrderToRoute(demand, destination_of(order.ship_to), channel.promise_buffer, None,
                          frozenset(opened - excluded), frozenset(excluded))
    now = utcnow()
    for _attempt in range(2):  # a second time on fresh stock if another order took the units meanwhile
        network = await load_network(session, skus=list(demand), now=now, model=model)
        can = senders(wanted, network.sites, network.supply)
        servable = replace(wanted, demand={sku: n for sku, n in demand.items() if can[sku]})
        plan = cheapest_plan(servable, network.sites, network.supply, model) if servable.demand else None
        changes = await reserve_plan(session, plan, buffer=wanted.buffer, reference=order.id) if plan else []
        if changes is not None:
            break
    else:
        plan, changes = None, []
    assignment = plan.assignment if plan else {}
    for line in refused:
        line.location_code = assignment.get(line.sku)
    await session.flush()
    if plan:
        await add_parcels(session, order_id=order.id, locations=[c for c in plan.locations if c not in opened],
                          network=network, now=now)
    waiting = sorted(sku for sku in demand if sku not in assignment)
    await _settle(session, order, rejection.lines, plan, waiting, wanted)
    return plan, waiting, changes


async def _settle(session: AsyncSession, order: Order, lines: Sequence[OrderLine], plan: Plan | None,
                  waiting: list[str], wanted: OrderToRoute) -> None:
    after = [{"line_no": li.line_no, "sku": li.sku, "quantity": li.quantity, "location": li.location_code}
             for li in lines]
    await record_decision(session, order_id=order.id, plan=plan, trigger="rejected", order=wanted, now=utcnow(),
                          scope="the refused lines", waiting=waiting, lines=after)
    if plan is not None:
        await record_event(session, "order.rerouted", order.id, {
            "order": order.id, "trigger": "rejected", "lines": after, "cost": plan.cost})
    if waiting:
        await session.execute(update(Order).where(Order.id == order.id, Order.status == "confirmed")
                              .values(status="backordered", updated_at=utcnow()))
        await session.refresh(order)
        await record_event(session, "order.unfulfillable", order.id, {
            "order": order.id, "status": order.status, "waiting": waiting, "lines": after,
            "options": ["wait: the order is routed again when stock arrives (omnicanal orders route --batch)",
                        "cancel: POST /api/v1/orders/{id}/cancel releases what is still reserved"]})
