"""Routing waiting orders jointly (``omnicanal orders route --batch``, ``POST /api/v1/routing/batch``).

**Which orders wait.** A ship order is re-optimisable while no parcel of it has left: status ``confirmed``
(its stock is reserved, its plan may still change) or ``backordered`` (some lines wait for stock after a
rejection). Orders whose customer chose the shipping store are left alone, and so are orders with a SKU
split over two locations or sent from a location that no longer ships. On PostgreSQL the orders are locked
(``FOR UPDATE SKIP LOCKED``: one being cancelled or shipped right now is simply not in this batch).

**How.** In one transaction: the batch's stock rows are locked in (sku, location) order, the MIP
(:mod:`omnicanal.routing.batch`) routes the batch jointly — every confirmed order must keep a plan, a
backordered one may go on waiting (keeping what it holds) — and its answer is compared with keeping the
current plans (backordered orders then routed one by one on what is left): the cheaper wins, so a batch never
makes the routing worse. Reservations follow the sequence the answer was checked in (``joint``: every routed
order's holding released, then the plans reserved largest channel buffer first; ``one_by_one``: order by
order). Orders whose plan changes get their lines moved, parcels re-counted, a ``batch`` decision and
``order.rerouted``; the ledger records their movements only (an unchanged order's release and reservation
cancel out).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.events.service import record_event
from omnicanal.inventory import ledger
from omnicanal.kit.clock import utcnow
from omnicanal.network.models import Channel
from omnicanal.orders.models import Order, OrderLine
from omnicanal.routing.batch import BatchResult, reservation_order, route_one_by_one, solve_batch
from omnicanal.routing.errors import BatchRefused
from omnicanal.routing.models import RoutingRejection
from omnicanal.routing.rules import DEFAULT_COST_MODEL, Costing, CostModel, OrderToRoute, Plan, iter_units
from omnicanal.routing.service import (
    Network,
    add_parcels,
    destination_of,
    load_network,
    record_decision,
    remove_parcels,
)

WAITING = ("confirmed", "backordered")


@dataclass(frozen=True)
class Move:
    order: str
    before: list[str]
    after: list[str]
    status: str


@dataclass(frozen=True)
class BatchOutcome:
    considered: int
    changed: int
    method: str  # mip | greedy | unchanged
    solver_status: str
    seconds: float
    cost_before: int
    cost_after: int
    parcels_before: int
    parcels_after: int
    still_waiting: list[str]
    moves: list[Move] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Waiting:
    order: Order
    lines: list[OrderLine]
    wanted: OrderToRoute
    current: dict[str, str]  # sku → location of the lines reserved now


async def route_batch(
    session: AsyncSession, *, time_limit: float = 10.0, limit: int = 500, order_ids: Sequence[str] | None = None,
    model: CostModel = DEFAULT_COST_MODEL,
) -> BatchOutcome:
    """Route up to ``limit`` waiting ship orders (oldest first; only ``order_ids`` if given) jointly and
    optimally within ``time_limit`` seconds, and apply the plans that changed. Records ``routing.batched``."""
    now = utcnow()
    waiting, skipped = await _waiting_orders(session, limit=limit, order_ids=order_ids)
    if not waiting:
        return BatchOutcome(0, 0, "unchanged", "not_run", 0.0, 0, 0, 0, 0, [], notes=skipped)
    skus = sorted({sku for item in waiting for sku in item.wanted.demand})
    network = await load_network(session, skus=skus, now=now, model=model,
                                 ignore_orders=[item.order.id for item in waiting], lock=True)
    usable = {site.code for site in network.sites}
    skipped += [f"{item.order.id}: sent from a location that no longer ships" for item in waiting
                if not set(item.current.values()) <= usable]
    waiting = [item for item in waiting if set(item.current.values()) <= usable]
    current = _current_plans(waiting, network, model)
    chosen = _best(waiting, network, current, model, time_limit)
    moves = await _apply(session, waiting, network, chosen, now)
    outcome = _outcome(waiting, current, chosen, moves, skipped)
    await record_event(session, "routing.batched", "batch", {
        "considered": outcome.considered, "changed": outcome.changed, "method": outcome.method,
        "solver_status": outcome.solver_status, "cost_before": outcome.cost_before,
        "cost_after": outcome.cost_after, "orders": [move.order for move in moves]})
    return outcome


async def _waiting_orders(session: AsyncSession, *, limit: int,
                          order_ids: Sequence[str] | None) -> tuple[list[_Waiting], list[str]]:
    query = (select(Order).where(Order.fulfillment == "ship", Order.status.in_(WAITING), Order.location_code.is_(None))
             .order_by(Order.id).limit(limit).with_for_update(skip_locked=True)
             .execution_options(populate_existing=True))
    if order_ids is not None:
        query = query.where(Order.id.in_(list(order_ids)))
    orders = list((await session.scalars(query)).all())
    if not orders:
        return [], []
    lines = (await session.scalars(select(OrderLine).where(OrderLine.order_id.in_([o.id for o in orders]))
                                   .order_by(OrderLine.order_id, OrderLine.line_no))).all()
    by_order: dict[str, list[OrderLine]] = {}
    for line in lines:
        by_order.setdefault(line.order_id, []).append(line)
    buffers = {c.code: c.promise_buffer for c in (await session.scalars(
        select(Channel).where(Channel.code.in_({o.channel_code for o in orders})))).all()}
    excluded: dict[str, set[str]] = {}
    for order_id, code in (await session.execute(select(RoutingRejection.order_id, RoutingRejection.location_code)
                                                 .where(RoutingRejection.order_id.in_([o.id for o in orders])))).all():
        excluded.setdefault(order_id, set()).add(code)
    waiting, skipped = [], []
    for order in orders:
        item = _waiting(order, by_order.get(order.id, []), buffers.get(order.channel_code, 0),
                        frozenset(excluded.get(order.id, ())))
        if item is None:
            skipped.append(f"{order.id}: a SKU is sent from two locations")
        else:
            waiting.append(item)
    return waiting, skipped


def _waiting(order: Order, lines: list[OrderLine], buffer: int, excluded: frozenset[str]) -> _Waiting | None:
    """The order as the batch sees it (``None`` when a SKU is sent from two locations)."""
    demand: dict[str, int] = {}
    held: dict[tuple[str, str], int] = {}
    for line in lines:
        demand[line.sku] = demand.get(line.sku, 0) + line.quantity
        if line.location_code is not None:
            held[(line.sku, line.location_code)] = held.get((line.sku, line.location_code), 0) + line.quantity
    if len({sku for sku, _ in held}) != len(held):
        return None
    current = {sku: code for (sku, code), units in held.items() if units == demand[sku]}
    wanted = OrderToRoute(demand, destination_of(order.ship_to), buffer, None, excluded=excluded,
                          held=tuple((sku, code, units) for (sku, code), units in sorted(held.items())))
    return _Waiting(order, lines, wanted, current)


def _current_plans(waiting: Sequence[_Waiting], network: Network, model: CostModel) -> dict[str, Plan]:
    """The plans the confirmed orders have now (backordered ones have none)."""
    return {item.order.id: Costing(item.wanted, network.sites, model).plan(item.current)
            for item in waiting if set(item.current) == set(item.wanted.demand)}


def _best(waiting: Sequence[_Waiting], network: Network, current: dict[str, Plan], model: CostModel,
          time_limit: float) -> BatchResult:
    """The MIP's answer, unless keeping the current plans (and routing the backordered orders one by one on
    what that leaves) is at least as good."""
    orders = [(item.order.id, item.wanted) for item in waiting]
    solved = solve_batch(orders, network.sites, network.supply, model, time_limit=time_limit, must_route=current)
    late = route_one_by_one([(k, o) for k, o in orders if k not in current], network.sites, network.supply, model)
    keep = BatchResult({**current, **late.plans}, late.unrouted, "unchanged", solved.solver_status, solved.seconds,
                       "one_by_one", ("keeping the current plans is as good as the batch's answer",))
    broken = set(solved.unrouted) & set(current)
    return keep if broken or keep.score() <= solved.score() else solved


async def _apply(session: AsyncSession, waiting: Sequence[_Waiting], network: Network, chosen: BatchResult,
                 now: datetime) -> list[Move]:
    plans = chosen.plans
    changed = {item.order.id for item in waiting
               if item.order.id in plans and plans[item.order.id].assignment != item.current}
    if chosen.sequence == "joint":
        touched = [item for item in waiting if item.order.id in plans]
        releases = [await _release(session, item) for item in touched]
        by_id = {item.order.id: item for item in touched}
        reserves = {order_id: await _reserve(session, by_id[order_id], plans[order_id])
                    for order_id, _ in reservation_order([(item.order.id, item.wanted) for item in touched])}
        recorded = [c for item, done in zip(touched, releases, strict=True) if item.order.id in changed for c in done]
        recorded += [c for order_id, done in reserves.items() if order_id in changed for c in done]
    else:
        recorded = []
        for item in waiting:
            if item.order.id in changed:
                recorded += await _release(session, item)
                recorded += await _reserve(session, item, plans[item.order.id])
    await ledger.record_changes(session, recorded)
    return [await _move(session, item, plans[item.order.id], network, now) for item in waiting
            if item.order.id in changed]


async def _release(session: AsyncSession, item: _Waiting) -> list[ledger.StockChange]:
    changes = []
    for sku, code, units in item.wanted.held:
        change = await ledger.release(session, sku=sku, location=code, quantity=units, reference=item.order.id,
                                      reason="batch routing")
        if change is None:
            raise BatchRefused(f"The reservation of {sku} at {code} for {item.order.id} is gone; nothing changed.")
        changes.append(change)
    return changes


async def _reserve(session: AsyncSession, item: _Waiting, plan: Plan) -> list[ledger.StockChange]:
    changes = []
    for sku, code, units in iter_units(plan):
        change = await ledger.reserve(session, sku=sku, location=code, quantity=units, buffer=item.wanted.buffer,
                                      reference=item.order.id)
        if change is None:
            raise BatchRefused(f"{units} × {sku} could not be reserved at {code} for {item.order.id}; "
                               "nothing changed.")
        changes.append(change)
    return changes


async def _move(session: AsyncSession, item: _Waiting, plan: Plan, network: Network, now: datetime) -> Move:
    assignment = plan.assignment
    for line in item.lines:
        line.location_code = assignment.get(line.sku)
    status = "confirmed"
    if status != item.order.status:
        await session.execute(update(Order).where(Order.id == item.order.id).values(status=status, updated_at=now))
    await session.flush()
    await remove_parcels(session, order_id=item.order.id, locations=set(item.current.values()))
    await add_parcels(session, order_id=item.order.id, locations=plan.locations, network=network, now=now)
    await record_decision(session, order_id=item.order.id, plan=plan, trigger="batch", order=item.wanted, now=now)
    before, after = sorted(set(item.current.values())), sorted(set(assignment.values()))
    await record_event(session, "order.rerouted", item.order.id, {
        "order": item.order.id, "trigger": "batch", "status": status, "before": before, "after": after,
        "lines": [{"line_no": li.line_no, "sku": li.sku, "quantity": li.quantity, "location": li.location_code}
                  for li in item.lines], "cost": plan.cost})
    return Move(item.order.id, before, after, status)


def _outcome(waiting: Sequence[_Waiting], current: dict[str, Plan], chosen: BatchResult, moves: list[Move],
             skipped: list[str]) -> BatchOutcome:
    return BatchOutcome(
        considered=len(waiting), changed=len(moves), method=chosen.method, solver_status=chosen.solver_status,
        seconds=round(chosen.seconds, 3), cost_before=sum(p.cost for p in current.values()),
        cost_after=sum(p.cost for k, p in chosen.plans.items() if k in current),
        parcels_before=sum(len(p.parcels) for p in current.values()),
        parcels_after=sum(len(p.parcels) for k, p in chosen.plans.items() if k in current),
        still_waiting=sorted(set(chosen.unrouted)), moves=moves, notes=[*chosen.notes, *skipped])
