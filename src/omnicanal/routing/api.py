"""Order routing: explain a routing, a store's rejection with re-routing, batch re-optimisation, and each
location's routing figures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter

from omnicanal.access.deps import Allow
from omnicanal.access.rules import Permission, Principal, require_channel, require_location
from omnicanal.access.scope import require_order_access
from omnicanal.fulfillment import refusals
from omnicanal.fulfillment.api import alternatives_out
from omnicanal.fulfillment.schemas import AlternativesOut
from omnicanal.inventory.ledger import StockChange
from omnicanal.kit.deps import SessionDep, SettingsDep
from omnicanal.kit.errors import Forbidden
from omnicanal.kit.pagination import Page, Paging, page_of
from omnicanal.kit.transaction import TransactionalRoute
from omnicanal.orders.models import Order, OrderLine
from omnicanal.orders.service import get_order
from omnicanal.routing import batches, rejections, service
from omnicanal.routing.rules import DEFAULT_COST_MODEL, Plan
from omnicanal.routing.schemas import (
    AlternativeOut,
    BatchIn,
    BatchOut,
    CostOut,
    DecisionOut,
    ExplainIn,
    ExplanationOut,
    MoveOut,
    OrderRoutingOut,
    ParcelLineOut,
    ParcelOut,
    PlanOut,
    ProfileIn,
    ProfileOut,
    RejectIn,
    RejectionOut,
    RejectOut,
    RoutedLineOut,
    StockEffectOut,
)

router = APIRouter(prefix="/api/v1/routing", tags=["routing"], route_class=TransactionalRoute)
orders_router = APIRouter(prefix="/api/v1/orders", tags=["orders"], route_class=TransactionalRoute)
Reader = Annotated[Principal, Allow(Permission.ORDERS_READ)]
Writer = Annotated[Principal, Allow(Permission.ORDERS_WRITE)]


def plan_out(plan: Plan, currency: str) -> PlanOut:
    return PlanOut(
        parcels=[ParcelOut(location=p.location, lines=[ParcelLineOut(sku=s, quantity=n) for s, n in p.units],
                           distance_km=p.distance_km, carrier=p.carrier, handling=p.handling, picking=p.picking,
                           cost=p.cost) for p in plan.parcels],
        cost=CostOut(**plan.breakdown()), currency=currency)


@router.post("/explain", response_model=ExplanationOut)
async def explain_routing(session: SessionDep, settings: SettingsDep, body: ExplainIn,
                          principal: Reader) -> ExplanationOut:
    """Which location(s) would send this order now, what it would cost, and every alternative considered with
    its cost or why it was passed over (no_stock, no_capacity, more_parcels, dearer). Nothing is reserved."""
    require_channel(principal, body.channel)
    explanation = await service.explain_routing(
        session, channel=body.channel, lines=[(li.sku, li.quantity) for li in body.lines],
        ship_to=body.ship_to.model_dump() if body.ship_to else None, location=body.location)
    currency = settings.currency
    return ExplanationOut(
        chosen=plan_out(explanation.chosen, currency) if explanation.chosen else None,
        alternatives=[AlternativeOut(
            locations=list(a.locations), verdict=a.verdict, missing=list(a.missing),
            parcels=len(a.plan.parcels) if a.plan else None, cost=a.plan.cost if a.plan else None,
            plan=plan_out(a.plan, currency) if a.plan else None) for a in explanation.alternatives],
        shortages=list(explanation.shortages), cost_model=DEFAULT_COST_MODEL.figures())


@router.post("/batch", response_model=BatchOut)
async def route_batch(session: SessionDep, body: BatchIn, principal: Writer) -> BatchOut:
    """Route the waiting ship orders (confirmed, not yet shipped, or backordered) jointly and optimally within
    the time limit (MIP, HiGHS), falling back to one by one; only plans that get cheaper change."""
    if principal.store_scoped or principal.channel_scoped:
        raise Forbidden("Batch routing moves orders between every location: it is for hub-wide roles.",
                        code="outside-scope")
    outcome = await batches.route_batch(session, time_limit=body.time_limit, limit=body.limit,
                                        order_ids=body.orders)
    return BatchOut(**{**asdict(outcome), "moves": [MoveOut(**asdict(m)) for m in outcome.moves]})


@router.get("/locations", response_model=Page[ProfileOut], dependencies=[Allow(Permission.NETWORK_READ)])
async def list_profiles(session: SessionDep, paging: Paging) -> Page[ProfileOut]:
    """Every location's handling and picking rates and daily capacity, and the orders routed there today."""
    views = await service.list_profiles(session, after_code=paging.after_one(str), limit=paging.limit + 1)
    return page_of([ProfileOut(**asdict(v)) for v in views], paging, lambda out: (out.location,))


@router.put("/locations/{code}", response_model=ProfileOut, dependencies=[Allow(Permission.NETWORK_WRITE)])
async def set_profile(session: SessionDep, code: str, body: ProfileIn) -> ProfileOut:
    """Give a location its own rates and daily order capacity (null: no limit)."""
    view = await service.set_profile(session, code=code, handling_per_parcel=body.handling_per_parcel,
                                     picking_per_unit=body.picking_per_unit, daily_capacity=body.daily_capacity)
    return ProfileOut(**asdict(view))


@orders_router.get("/{order_id}/routing", response_model=OrderRoutingOut)
async def order_routing(session: SessionDep, order_id: str, principal: Reader) -> OrderRoutingOut:
    """Every routing decision of the order (newest first: the first is the current plan) and the rejections."""
    await require_order_access(session, principal, order_id)
    found = await service.order_routing(session, order_id=order_id)
    return OrderRoutingOut(
        order=found.order.id, status=found.order.status,
        decisions=[DecisionOut(id=d.id, trigger=d.trigger, cost=d.cost, plan=d.plan, at=d.at) for d in found.decisions],
        rejections=[RejectionOut(id=r.id, location=r.location_code, reason=r.reason, lines=r.lines.get("lines", []),
                                 note=r.note, at=r.at) for r in found.rejections])


@orders_router.post("/{order_id}/reject", response_model=RejectOut,
                    responses={409: {"description": "Not routed there, not waiting to ship or prepare, or too few "
                                                    "units; nothing changed."}})
async def reject_order(session: SessionDep, settings: SettingsDep, order_id: str, body: RejectIn,
                       principal: Writer) -> RejectOut:
    """A location refuses (some of) the order's lines. The reason decides the stock effect (not_in_stock:
    nothing left to sell there; count_mismatch: on hand set to `counted`; damaged: `units` out of sellable
    stock; no_variance: unchanged). A ship order's lines are routed again elsewhere, or wait (backordered); a
    click & collect order refused by its store waits for its customer (awaiting_customer) with the
    `alternatives` to offer — another store, delivery or cancellation (POST …/pickup/choice)."""
    require_location(principal, body.location)
    await require_order_access(session, principal, order_id)
    lines = [rejections.RefusedLine(li.line_no, li.counted, li.units) for li in body.lines] if body.lines else None
    figures: dict[str, Any] = {"location": body.location, "reason": body.reason.value, "lines": lines,
                               "counted": body.counted, "units": body.units, "note": body.note}
    if (await get_order(session, order_id)).order.fulfillment == "pickup":
        refusal = await refusals.refuse_pickup(session, order_id=order_id, **figures)
        return _reject_out(refusal.rejection.order, refusal.rejection.lines, refusal.rejection.effects,
                           alternatives=alternatives_out(refusal.pickup, refusal.alternatives))
    outcome = await rejections.reject_order(session, order_id=order_id, **figures)
    return _reject_out(outcome.order, outcome.lines, outcome.effects, waiting=outcome.waiting,
                       rerouted=plan_out(outcome.rerouted, settings.currency) if outcome.rerouted else None)


def _reject_out(order: Order, lines: Sequence[OrderLine], effects: Sequence[StockChange], *,
                waiting: Sequence[str] = (), rerouted: PlanOut | None = None,
                alternatives: AlternativesOut | None = None) -> RejectOut:
    return RejectOut(
        order=order.id, status=order.status,
        lines=[RoutedLineOut(line_no=li.line_no, sku=li.sku, quantity=li.quantity, location=li.location_code)
               for li in lines],
        rerouted=rerouted, waiting=list(waiting), alternatives=alternatives,
        stock_effects=[StockEffectOut(sku=c.sku, location=c.location, kind=c.kind.value, on_hand_delta=c.on_hand_delta,
                                      reserved_delta=c.reserved_delta, on_hand=c.on_hand, reserved=c.reserved)
                       for c in effects])
