"""Routing use cases: the candidates of an order (shipping locations, their stock and capacity left today),
routing an order as it is placed, ``explain``, the decisions kept per order, and per-location profiles.

Other domains call :func:`route_new_order` (orders, when a ship order is placed) and
:func:`omnicanal.routing.rejections.apply_rejection` (pickup, when a store cannot serve).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.catalog.service import get_product
from omnicanal.events.service import record_event
from omnicanal.inventory import ledger
from omnicanal.inventory.errors import StockInsufficient
from omnicanal.inventory.models import StockLevel
from omnicanal.kit.clock import utcnow
from omnicanal.kit.errors import InvalidRequest
from omnicanal.kit.prebuilt import Params, Prebuilt, Read, read_before_transaction
from omnicanal.network.models import Channel, Location
from omnicanal.network.rules import local_time
from omnicanal.network.service import ChannelTerms, get_channel, get_location
from omnicanal.orders.errors import OrderNotFound
from omnicanal.orders.models import Order
from omnicanal.routing.errors import CapacityExhausted
from omnicanal.routing.models import RoutingDecision, RoutingParcel, RoutingProfile, RoutingRejection
from omnicanal.routing.rules import (
    DEFAULT_COST_MODEL,
    CostModel,
    Destination,
    Explanation,
    OrderToRoute,
    Plan,
    Site,
    Supply,
    cheapest_plan,
    explain,
    iter_units,
    senders,
    site_of,
)


def destination_of(ship_to: Mapping[str, Any] | None) -> Destination | None:
    """The delivery address's coordinates, if it has them."""
    if not ship_to or ship_to.get("latitude") is None or ship_to.get("longitude") is None:
        return None
    return float(ship_to["latitude"]), float(ship_to["longitude"])



# --- the network an order can be routed on -----------------------------------------------------------------
@dataclass(frozen=True)
class Network:
    """The shipping locations as routing sees them now: sites with their rates, free stock of the SKUs asked
    about and capacity left today, and each location's local date (what capacity counts against)."""

    sites: list[Site]
    supply: Supply
    today: dict[str, date]
    capacity: dict[str, int | None]  # orders a day
    custom: frozenset[str]  # locations with their own profile
    levels: dict[tuple[str, str], ledger.Level]  # (sku, location) → the level as read


LOCATION, PROFILE, LEVEL = Location.__table__.c, RoutingProfile.__table__.c, StockLevel.__table__.c
# The hot path (every ship order placed): one round trip for the candidates, their rates and their stock.
_NETWORK = Prebuilt(
    select(LOCATION.code, LOCATION.kind, LOCATION.latitude, LOCATION.longitude, LOCATION.timezone,
           PROFILE.location_code.label("profiled"), PROFILE.handling_per_parcel, PROFILE.picking_per_unit,
           PROFILE.daily_capacity, LEVEL.sku, LEVEL.on_hand, LEVEL.reserved, LEVEL.safety)
    .select_from(Location.__table__
                 .outerjoin(RoutingProfile.__table__, PROFILE.location_code == LOCATION.code)
                 .outerjoin(StockLevel.__table__, and_(LEVEL.location_code == LOCATION.code,
                                                      LEVEL.sku.in_(bindparam("skus", expanding=True)))))
    .where(LOCATION.ships.is_(True), LOCATION.active.is_(True))
    .order_by(LOCATION.code, LEVEL.sku)
)
_LOCKED_STOCK = (
    select(LEVEL.sku, LEVEL.location_code, LEVEL.on_hand, LEVEL.reserved, LEVEL.safety)
    .where(LEVEL.sku.in_(bindparam("skus", expanding=True)),
           LEVEL.location_code.in_(bindparam("codes", expanding=True)))
    .order_by(LEVEL.sku, LEVEL.location_code).with_for_update()
)


def network_read(skus: Collection[str]) -> Read:
    """What :func:`load_network` reads first."""
    return _NETWORK, {"skus": sorted(set(skus))}


def network_reads(skus: Collection[str]) -> list[Read]:
    """What :func:`load_network` will read, to send ahead with others: the network, and the orders already routed
    today to the locations with a daily capacity — as this process last found them, which is nearly always what
    load_network asks for again (when it is not, load_network reads the counts it needs itself)."""
    guess = _last_capacity_read
    return [network_read(skus), *([(_ROUTED_TODAY_PREBUILT, guess)] if guess else [])]


_last_capacity_read: Params | None = None


async def load_network(
    session: AsyncSession, *, skus: Collection[str], now: datetime, model: CostModel = DEFAULT_COST_MODEL,
    ignore_orders: Collection[str] = (), lock: bool = False,
) -> Network:
    """The active shipping locations, their stock of ``skus`` and the capacity they have left today (orders in
    ``ignore_orders`` are not counted: a batch is about to route them again). ``lock``: lock the stock rows,
    in (sku, location) order, until the transaction ends."""
    wanted = sorted(set(skus))
    sites: list[Site] = []
    today: dict[str, date] = {}
    capacity: dict[str, int | None] = {}
    custom: set[str] = set()
    free: dict[str, dict[str, int]] = {sku: {} for sku in wanted}
    levels: dict[tuple[str, str], ledger.Level] = {}
    for row in await _NETWORK.rows(session, network_read(wanted)[1]):
        if not sites or sites[-1].code != row.code:
            sites.append(site_of(row.code, row.kind, row.latitude, row.longitude, model,
                                 handling=row.handling_per_parcel, picking=row.picking_per_unit))
            today[row.code] = local_time(now, row.timezone).date()
            capacity[row.code] = row.daily_capacity if row.profiled else model.daily_capacity.get(row.kind)
            if row.profiled:
                custom.add(row.code)
        if row.sku is not None:
            free[row.sku][row.code] = row.on_hand - row.reserved - row.safety
            levels[(row.sku, row.code)] = (row.on_hand, row.reserved, row.safety)
    if lock and wanted and sites:
        free, levels = {sku: {} for sku in wanted}, {}
        codes = [site.code for site in sites]
        locked = await (await session.connection()).execute(_LOCKED_STOCK, {"skus": wanted, "codes": codes})
        for level in locked.all():
            free[level.sku][level.location_code] = level.on_hand - level.reserved - level.safety
            levels[(level.sku, level.location_code)] = (level.on_hand, level.reserved, level.safety)
    # Every location with a daily capacity gets its day's orders counted, whatever SKUs it holds: the same count
    # for every order, so that it can be sent ahead (network_reads).
    limited = {c: d for c, d in today.items() if capacity[c] is not None}
    if limited and not ignore_orders:
        global _last_capacity_read
        _last_capacity_read = _capacity_params(limited)
    routed = await routed_today(session, today=limited, ignore_orders=ignore_orders)
    left = {code: max(0, (capacity[code] or 0) - routed.get(code, 0)) for code in limited}
    return Network(sites, Supply(free, left), today, capacity, frozenset(custom), levels)


_ROUTED_TODAY = (
    select(RoutingParcel.location_code, RoutingParcel.routed_on, func.count())
    .join(Order, Order.id == RoutingParcel.order_id)
    .where(RoutingParcel.location_code.in_(bindparam("codes", expanding=True)),
           RoutingParcel.routed_on.in_(bindparam("days", expanding=True)), Order.status != "cancelled")
    .group_by(RoutingParcel.location_code, RoutingParcel.routed_on)
)


_ROUTED_TODAY_PREBUILT = Prebuilt(_ROUTED_TODAY)


def _capacity_params(today: Mapping[str, date]) -> Params:
    return {"codes": list(today), "days": sorted(set(today.values()))}


async def routed_today(session: AsyncSession, *, today: Mapping[str, date],
                       ignore_orders: Collection[str] = ()) -> dict[str, int]:
    """Orders routed to each location on its local ``today`` (cancelled orders do not count)."""
    if not today:
        return {}
    params = _capacity_params(today)
    if ignore_orders:
        query = _ROUTED_TODAY.where(RoutingParcel.order_id.not_in(list(ignore_orders)))
        rows = list((await (await session.connection()).execute(query, params)).all())
    else:  # read before the transaction where it is taken late, as when read ahead (network_reads)
        await read_before_transaction(session, [(_ROUTED_TODAY_PREBUILT, params)])
        rows = await _ROUTED_TODAY_PREBUILT.rows(session, params)
    return {code: int(n) for code, day, n in rows if today.get(code) == day}


# --- routing an order as it is placed ----------------------------------------------------------------------
@dataclass(frozen=True)
class RoutedOrder:
    plan: Plan
    changes: list[ledger.StockChange]

    @property
    def sites(self) -> dict[str, str]:
        """SKU → the location sending it."""
        return self.plan.assignment


async def route_new_order(
    session: AsyncSession, *, order_id: str, demand: Mapping[str, int], channel: Channel | ChannelTerms,
    ship_to: Mapping[str, Any] | None = None, forced: str | None = None, excluded: Collection[str] = (),
    trigger: str = "placed", model: CostModel = DEFAULT_COST_MODEL,
) -> RoutedOrder:
    """Choose the order's cheapest plan and reserve it all or nothing (in SKU order, one conditional UPDATE
    each); if another order took the units meanwhile, route once more on fresh stock. Records the decision.

    Raises :class:`StockInsufficient` (``shortages``) or :class:`CapacityExhausted` — nothing reserved."""
    order = OrderToRoute(dict(demand), destination_of(ship_to), channel.promise_buffer, forced,
                         excluded=frozenset(excluded))
    now = utcnow()
    for _attempt in range(2):
        network = await load_network(session, skus=list(demand), now=now, model=model)
        plan = cheapest_plan(order, network.sites, network.supply, model)
        if plan is None:
            raise cannot_route(order, network)
        changes = await reserve_plan(session, plan, buffer=order.buffer, reference=order_id, levels=network.levels)
        if changes is not None:
            await record_decision(session, order_id=order_id, plan=plan, trigger=trigger, order=order, now=now)
            await add_parcels(session, order_id=order_id, locations=plan.locations, network=network, now=now)
            return RoutedOrder(plan, changes)
    raise StockInsufficient("The stock changed twice while this order was routed; nothing was reserved. Retry.",
                            shortages=[{"sku": sku, "requested": qty} for sku, qty in sorted(demand.items())])


def cannot_route(order: OrderToRoute, network: Network) -> StockInsufficient | CapacityExhausted:
    """Why no plan exists: SKUs no location holds (409 ``shortages``), or none with capacity left."""
    supply, everywhere = network.supply, Supply(network.supply.free)
    where = [site for site in network.sites if order.forced in (None, site.code)]
    lacking = senders(OrderToRoute(order.demand, buffer=order.buffer, forced=order.forced, excluded=order.excluded),
                      where, everywhere)
    shortages: list[dict[str, Any]] = [{"sku": sku, "requested": qty,
                                         "available": max((supply.units(sku, s.code, order.buffer) for s in where),
                                                          default=0)}
                                        for sku, qty in sorted(order.demand.items()) if not lacking[sku]]
    origin = f" at {order.forced}" if order.forced else ""
    if shortages:
        names = ", ".join(s["sku"] for s in shortages)
        return StockInsufficient(f"Not enough stock to ship{origin}: {names}. Nothing was reserved.",
                                 shortages=shortages)
    with_capacity = senders(order, where, supply)
    full = sorted({code for sku, codes in lacking.items() if not with_capacity[sku] for code in codes})
    return CapacityExhausted(
        f"{', '.join(full)} {'has' if len(full) == 1 else 'have'} routed all the orders they can take today; "
        "nothing was reserved.", locations=full)


async def reserve_plan(session: AsyncSession, plan: Plan, *, buffer: int, reference: str,
                       levels: Mapping[tuple[str, str], ledger.Level] | None = None,
                       ) -> list[ledger.StockChange] | None:
    """Reserve every unit of ``plan`` in (sku, location) order — every line in one round trip — or nothing:
    ``None`` when one reservation is refused, after giving back — unrecorded, so the ledger sees neither — those
    taken. ``levels``: the levels the plan was made on (:func:`omnicanal.inventory.ledger.reserve_each`)."""
    answers = await ledger.reserve_each(session, list(iter_units(plan)), buffer=buffer, reference=reference,
                                        levels=levels)
    changes = [change for change in answers if change is not None]
    if len(changes) < len(answers):
        for taken in changes:
            await ledger.release(session, sku=taken.sku, location=taken.location, quantity=taken.reserved_delta,
                                 reference=reference)
        return None
    return changes


# --- recording decisions and parcels -----------------------------------------------------------------------
def plan_data(plan: Plan | None, order: OrderToRoute, **extra: Any) -> dict[str, Any]:
    """A plan as stored and shown: parcels, cost breakdown, and what constrained it."""
    parcels = [] if plan is None else [
        {"location": p.location, "lines": [{"sku": sku, "quantity": n} for sku, n in p.units],
         "distance_km": p.distance_km, "carrier": p.carrier, "handling": p.handling, "picking": p.picking,
         "cost": p.cost}
        for p in plan.parcels]
    return {"parcels": parcels, "cost": plan.breakdown() if plan else None,
            "carrier_rate": "distance" if order.destination else "flat zone rate",
            "forced": order.forced, "excluded": sorted(order.excluded), **extra}


_INSERT_DECISION = Prebuilt(insert(cast(Table, RoutingDecision.__table__)))
_INSERT_PARCELS = Prebuilt(insert(cast(Table, RoutingParcel.__table__)))


async def record_decision(session: AsyncSession, *, order_id: str, plan: Plan | None, trigger: str,
                          order: OrderToRoute, now: datetime, **extra: Any) -> None:
    await _INSERT_DECISION.run_later(session, {
        "order_id": order_id, "trigger": trigger, "cost": plan.cost if plan else None,
        "plan": plan_data(plan, order, **extra), "at": now})


async def add_parcels(session: AsyncSession, *, order_id: str, locations: Sequence[str], network: Network,
                      now: datetime) -> None:
    """Count the order against the capacity of each location newly sending it a parcel."""
    if locations:
        await _INSERT_PARCELS.run_many_later(session, [
            {"order_id": order_id, "location_code": code, "routed_on": network.today.get(code, now.date()),
             "routed_at": now} for code in locations])


async def remove_parcels(session: AsyncSession, *, order_id: str, locations: Collection[str]) -> None:
    if locations:
        await session.execute(delete(RoutingParcel).where(
            RoutingParcel.order_id == order_id, RoutingParcel.location_code.in_(list(locations))))


# --- explain -----------------------------------------------------------------------------------------------
async def explain_routing(
    session: AsyncSession, *, channel: str, lines: Sequence[tuple[str, int]], ship_to: Mapping[str, Any] | None,
    location: str | None = None, excluded: Collection[str] = (), model: CostModel = DEFAULT_COST_MODEL,
) -> Explanation:
    """How an order would be routed now, and every alternative considered with its cost or why not.
    Nothing is reserved or written."""
    channel_row = await get_channel(session, channel)
    if location is not None:
        chosen = await get_location(session, location)
        if not (chosen.ships and chosen.active):
            raise InvalidRequest(f"{location} does not ship orders (or is not active).")
    demand: dict[str, int] = {}
    for sku, quantity in lines:
        demand[sku] = demand.get(sku, 0) + quantity
    for sku in sorted(demand):
        await get_product(session, sku)
    order = OrderToRoute(demand, destination_of(ship_to), channel_row.promise_buffer, location,
                         excluded=frozenset(excluded))
    network = await load_network(session, skus=list(demand), now=utcnow(), model=model)
    return explain(order, network.sites, network.supply, model)


# --- an order's routing history ----------------------------------------------------------------------------
@dataclass(frozen=True)
class OrderRouting:
    order: Order
    decisions: list[RoutingDecision]
    rejections: list[RoutingRejection]


async def order_routing(session: AsyncSession, *, order_id: str) -> OrderRouting:
    """Every routing decision of an order (newest first) and the rejections that caused re-routes."""
    order = await session.get(Order, order_id)
    if order is None:
        raise OrderNotFound(f"No order {order_id}.")
    decisions = (await session.scalars(select(RoutingDecision).where(RoutingDecision.order_id == order_id)
                                       .order_by(RoutingDecision.id.desc()))).all()
    rejections = (await session.scalars(select(RoutingRejection).where(RoutingRejection.order_id == order_id)
                                        .order_by(RoutingRejection.id))).all()
    return OrderRouting(order, list(decisions), list(rejections))


# --- per-location profiles ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProfileView:
    location: str
    kind: str
    ships: bool
    handling_per_parcel: int
    picking_per_unit: int
    daily_capacity: int | None
    routed_today: int
    custom: bool


async def list_profiles(session: AsyncSession, *, after_code: str | None, limit: int,
                        model: CostModel = DEFAULT_COST_MODEL) -> list[ProfileView]:
    """Every location's routing figures (its own, or the model's for its kind) and today's routed orders."""
    query = (select(Location, RoutingProfile).outerjoin(RoutingProfile, RoutingProfile.location_code == Location.code)
             .order_by(Location.code).limit(limit))
    if after_code is not None:
        query = query.where(Location.code > after_code)
    rows = (await session.execute(query)).all()
    now = utcnow()
    routed = await routed_today(session, today={loc.code: local_time(now, loc.timezone).date() for loc, _ in rows})
    return [_view(location, profile, routed.get(location.code, 0), model) for location, profile in rows]


def _view(location: Location, profile: RoutingProfile | None, routed: int, model: CostModel) -> ProfileView:
    site = site_of(location.code, location.kind, location.latitude, location.longitude, model,
                   handling=profile.handling_per_parcel if profile else None,
                   picking=profile.picking_per_unit if profile else None)
    capacity = profile.daily_capacity if profile else model.daily_capacity.get(location.kind)
    return ProfileView(location.code, location.kind, location.ships, site.handling, site.picking, capacity, routed,
                       profile is not None)


async def set_profile(session: AsyncSession, *, code: str, handling_per_parcel: int, picking_per_unit: int,
                      daily_capacity: int | None, model: CostModel = DEFAULT_COST_MODEL) -> ProfileView:
    """Give a location its own handling and picking rates and daily capacity (``None``: no limit)."""
    location = await get_location(session, code)
    profile = await session.get(RoutingProfile, code)
    if profile is None:
        profile = RoutingProfile(location_code=code)
        session.add(profile)
    profile.handling_per_parcel, profile.picking_per_unit = handling_per_parcel, picking_per_unit
    profile.daily_capacity, profile.updated_at = daily_capacity, utcnow()
    await session.flush()
    routed = await routed_today(session, today={code: local_time(utcnow(), location.timezone).date()})
    view = _view(location, profile, routed.get(code, 0), model)
    await record_event(session, "routing.profile_updated", code, {
        "location": code, "handling_per_parcel": handling_per_parcel, "picking_per_unit": picking_per_unit,
        "daily_capacity": daily_capacity})
    return view
