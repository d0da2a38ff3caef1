"""Where a pickup's units can come from, and when it can be ready: store settings, stock across the network,
promised ready times and the pickup options offered to a customer's cart."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.events.service import record_event
from omnicanal.fulfillment import rules
from omnicanal.fulfillment.errors import PickupInvalid
from omnicanal.fulfillment.models import PickupSetting
from omnicanal.fulfillment.rules import Allocation, SourcingPlan
from omnicanal.inventory.rules import available_to_promise
from omnicanal.inventory.service import availability
from omnicanal.kit.clock import utcnow
from omnicanal.network.models import Location
from omnicanal.network.rules import distance_km, local_time
from omnicanal.network.service import get_location, list_locations
from omnicanal.orders.rules import demand_by_sku
from omnicanal.orders.service import usable_channel


@dataclass(frozen=True)
class PickupTerms:
    """How a store runs click & collect (its row in ``pickup_setting``, or the defaults)."""

    location: str
    preparation_minutes: int = rules.DEFAULT_PREPARATION_MINUTES
    holding_days: int = rules.DEFAULT_HOLDING_DAYS
    transfer_hours: int = rules.DEFAULT_TRANSFER_HOURS


async def pickup_terms(session: AsyncSession, codes: Sequence[str]) -> dict[str, PickupTerms]:
    """The terms of each store in ``codes``."""
    rows = (await session.scalars(select(PickupSetting).where(PickupSetting.location_code.in_(codes)))).all()
    found = {row.location_code: PickupTerms(row.location_code, row.preparation_minutes, row.holding_days,
                                            row.transfer_hours) for row in rows}
    return {code: found.get(code, PickupTerms(code)) for code in codes}


async def set_pickup_terms(session: AsyncSession, *, location: str, preparation_minutes: int, holding_days: int,
                           transfer_hours: int) -> PickupTerms:
    """Set how a store runs click & collect; records ``pickup.settings_changed``."""
    await get_location(session, location)
    row = await session.get(PickupSetting, location)
    if row is None:
        row = PickupSetting(location_code=location)
        session.add(row)
    row.preparation_minutes, row.holding_days, row.transfer_hours = preparation_minutes, holding_days, transfer_hours
    row.updated_at = utcnow()
    await session.flush()
    terms = PickupTerms(location, preparation_minutes, holding_days, transfer_hours)
    await record_event(session, "pickup.settings_changed", location, vars(terms))
    return terms


async def pickup_store(session: AsyncSession, code: str) -> Location:
    """An active store offering click & collect (:class:`PickupInvalid` otherwise)."""
    store = await get_location(session, code)
    if not (store.active and store.pickup):
        raise PickupInvalid(f"{code} does not offer click & collect.")
    return store


def promise(store: Location, terms: PickupTerms, *, now: datetime, transfer: bool) -> datetime | None:
    """When an order placed ``now`` can be collected: the preparation lead time in the store's opening hours,
    counted from now or, for goods sent from elsewhere, from their arrival."""
    start = now + timedelta(hours=terms.transfer_hours) if transfer else now
    ready = rules.ready_time(store.opening_hours or {}, local_time(start, store.timezone), terms.preparation_minutes)
    return ready.astimezone(UTC) if ready is not None else None



async def stock_across(session: AsyncSession, skus: Sequence[str], *, buffer: int) -> dict[str, dict[str, int]]:
    """ATP per SKU and active location, less the channel's buffer (unknown SKU: :class:`ProductNotFound`)."""
    found: dict[str, dict[str, int]] = {}
    for sku in sorted(set(skus)):
        for entry in (await availability(session, sku=sku, channel=None)).locations:
            found.setdefault(sku, {})[entry.location] = available_to_promise(
                on_hand=entry.on_hand, reserved=entry.reserved, safety=entry.safety, buffer=buffer)
    return found


def distances_from(origin: Location, locations: Sequence[Location]) -> dict[str, float]:
    return {loc.code: distance_km(origin.latitude, origin.longitude, loc.latitude, loc.longitude)
            for loc in locations}


def _without(available: Mapping[str, Mapping[str, int]], excluded: Collection[str]) -> dict[str, dict[str, int]]:
    return {sku: {loc: units for loc, units in at.items() if loc not in excluded} for sku, at in available.items()}


async def plan_for_store(
    session: AsyncSession, store: Location, demand: Mapping[str, int], *, buffer: int, allow_transfer: bool,
    excluded: Collection[str] = (),
) -> SourcingPlan:
    """How ``demand`` would be served for a pickup at ``store`` with the stock as it is now, taking nothing from
    the ``excluded`` locations (the store itself after a short pick, a store that refused the order)."""
    available = _without(await stock_across(session, list(demand), buffer=buffer), excluded)
    distances = distances_from(store, await list_locations(session))
    return rules.plan_sourcing(demand, store=store.code, available=available, distance_to_store=distances,
                               allow_transfer=allow_transfer)


# --- pickup options -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LineAvailability:
    sku: str
    requested: int
    available: int  # at the store, for this channel


@dataclass(frozen=True)
class TransferOption:
    ready_at: datetime | None
    sources: list[Allocation]


@dataclass(frozen=True)
class PickupOption:
    store: Location
    distance_km: float | None
    lines: list[LineAvailability]
    in_stock: bool
    ready_at: datetime | None
    transfer: TransferOption | None


async def pickup_options(
    session: AsyncSession, *, lines: Sequence[tuple[str, int]], channel: str, latitude: float | None = None,
    longitude: float | None = None, limit: int = 20, now: datetime | None = None, excluded: Collection[str] = (),
) -> list[PickupOption]:
    """The stores where this cart can be collected: those holding every unit first (ready soonest), then those
    that could have it by transfer (a later promise), nearest first when a point is given. The ``excluded``
    locations are neither offered nor drawn from."""
    now = now or utcnow()
    buffer = (await usable_channel(session, channel)).promise_buffer
    demand = demand_by_sku(lines)
    available = _without(await stock_across(session, list(demand), buffer=buffer), excluded)
    locations = await list_locations(session)
    stores = [loc for loc in locations if loc.pickup and loc.code not in excluded]
    terms = await pickup_terms(session, [store.code for store in stores])
    options = [_option(store, terms[store.code], demand, available, locations, now, latitude, longitude)
               for store in stores]
    options.sort(key=lambda o: (not o.in_stock, o.transfer is None and not o.in_stock,
                                o.distance_km if o.distance_km is not None else 0.0, o.store.code))
    return options[:limit]


def _option(
    store: Location, terms: PickupTerms, demand: Mapping[str, int], available: Mapping[str, Mapping[str, int]],
    locations: Sequence[Location], now: datetime, latitude: float | None, longitude: float | None,
) -> PickupOption:
    here = [LineAvailability(sku, qty, available.get(sku, {}).get(store.code, 0))
            for sku, qty in sorted(demand.items())]
    in_stock = all(line.available >= line.requested for line in here)
    transfer = None
    if not in_stock:
        plan = rules.plan_sourcing(demand, store=store.code, available=available,
                                   distance_to_store=distances_from(store, locations), allow_transfer=True)
        if plan.complete:
            transfer = TransferOption(promise(store, terms, now=now, transfer=True), plan.transferred(store.code))
    distance = (None if latitude is None or longitude is None
                else round(distance_km(latitude, longitude, store.latitude, store.longitude), 1))
    return PickupOption(store=store, distance_km=distance, lines=here, in_stock=in_stock,
                        ready_at=promise(store, terms, now=now, transfer=False) if in_stock else None,
                        transfer=transfer)
