"""Stock use cases: counts, receipts, adjustments, safety stock, availability and the ledger check."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.catalog.service import get_product
from omnicanal.db import table_of
from omnicanal.inventory.errors import StockInsufficient, StockLevelNotFound
from omnicanal.inventory.ledger import (
    LEVEL,
    StockChange,
    add_to_level,
    change_level,
    lock_level,
    record_changes,
)
from omnicanal.inventory.models import StockLevel, StockMovement
from omnicanal.inventory.rules import MovementKind, available_to_promise
from omnicanal.kit.prebuilt import Prebuilt
from omnicanal.network.models import Channel, Location
from omnicanal.network.service import ChannelTerms, channel_terms, get_location


async def get_level(session: AsyncSession, *, sku: str, location: str) -> StockLevel:
    level = await session.get(StockLevel, (sku, location))
    if level is None:
        await get_product(session, sku)
        await get_location(session, location)
        raise StockLevelNotFound(f"SKU {sku} has never been stocked at {location}.")
    return level


async def count_stock(
    session: AsyncSession, *, sku: str, location: str, on_hand: int, safety: int | None = None,
    reason: str | None = None,
) -> StockChange:
    """Record a physical count: on hand becomes ``on_hand``; the ledger gets the difference."""
    await get_product(session, sku)
    await get_location(session, location)
    level = await lock_level(session, sku=sku, location=location)
    # Under the row lock the level cannot move, so the difference is exact.
    change = await add_to_level(session, sku=sku, location=location, kind=MovementKind.COUNT,
                                on_hand_delta=on_hand - (level.on_hand if level else 0), reason=reason)
    if safety is not None:
        change = await set_safety_stock(session, sku=sku, location=location, safety=safety, change=change)
    await record_changes(session, [change])
    return change


async def set_safety_stock(
    session: AsyncSession, *, sku: str, location: str, safety: int, change: StockChange
) -> StockChange:
    await session.execute(
        update(table_of(StockLevel))
        .where(LEVEL.sku == sku, LEVEL.location_code == location).values(safety=safety))
    return StockChange(change.sku, change.location, change.kind, change.on_hand_delta, change.reserved_delta,
                       change.on_hand, change.reserved, safety, change.reference, change.reason)


async def receive_stock(
    session: AsyncSession, *, sku: str, location: str, quantity: int, reference: str | None = None,
) -> StockChange:
    """Goods arrived (a delivery from a supplier): on hand grows by ``quantity``."""
    await get_product(session, sku)
    await get_location(session, location)
    change = await add_to_level(session, sku=sku, location=location, kind=MovementKind.RECEIPT,
                                on_hand_delta=quantity, reference=reference)
    await record_changes(session, [change])
    return change


async def adjust_stock(
    session: AsyncSession, *, sku: str, location: str, delta: int, reason: str, reference: str | None = None,
) -> StockChange:
    """A correction (breakage, theft, found goods). It may not take away units that are not there."""
    await get_level(session, sku=sku, location=location)
    change = await change_level(
        session, sku=sku, location=location, kind=MovementKind.ADJUSTMENT, on_hand_delta=delta,
        reason=reason, reference=reference, condition=LEVEL.on_hand + delta >= 0)
    if change is None:
        raise StockInsufficient(
            f"Cannot remove {-delta} units of {sku} at {location}: fewer are on hand.",
            shortages=[{"sku": sku, "location": location, "requested": -delta}])
    await record_changes(session, [change])
    return change


@dataclass(frozen=True)
class LocationAvailability:
    location: str
    kind: str
    on_hand: int
    reserved: int
    safety: int
    available: int


@dataclass(frozen=True)
class Availability:
    sku: str
    channel: str | None
    total: int
    locations: list[LocationAvailability]


def serves_channel(location: Location | Any, channel: Channel | ChannelTerms | None) -> bool:
    """Online channels promise what can be shipped or collected; tills and kiosks what stores sell."""
    if not location.active:
        return False
    if channel is None:
        return True
    return (location.ships or location.pickup) if channel.online else location.sells


_STOCK_EVERYWHERE = (
    select(StockLevel.location_code, StockLevel.on_hand, StockLevel.reserved, StockLevel.safety, Location.kind,
           Location.active, Location.sells, Location.ships, Location.pickup)
    .join(Location, Location.code == StockLevel.location_code)
    .where(StockLevel.sku == bindparam("b_sku")).order_by(StockLevel.location_code)
)
CHANNEL = table_of(Channel).c
# What a shop asks before showing a product page — one round trip: the channel's terms come with the levels.
_STOCK_ON_CHANNEL = Prebuilt(
    _STOCK_EVERYWHERE.add_columns(CHANNEL.code.label("channel_code"), CHANNEL.kind.label("channel_kind"),
                                  CHANNEL.online, CHANNEL.safety_buffer, CHANNEL.active.label("channel_active"))
    .join(Channel, CHANNEL.code == bindparam("b_channel"))
)


async def availability(session: AsyncSession, *, sku: str, channel: Channel | ChannelTerms | None) -> Availability:
    """ATP of ``sku`` at every location serving ``channel`` (all locations when ``channel`` is None)."""
    rows = (await (await session.connection()).execute(_STOCK_EVERYWHERE, {"b_sku": sku})).all()
    if not rows:
        await get_product(session, sku)
    return _availability(sku, channel, rows)


async def availability_on(session: AsyncSession, *, sku: str, channel: str | None) -> Availability:
    """:func:`availability` on the channel named ``channel`` (:class:`ChannelNotFound` when there is none)."""
    if not channel:
        return await availability(session, sku=sku, channel=None)
    rows = await _STOCK_ON_CHANNEL.rows(session, {"b_sku": sku, "b_channel": channel})
    if not rows:  # no level of the SKU anywhere — or no such channel, or no such SKU: say which
        return await availability(session, sku=sku, channel=await channel_terms(session, channel))
    first = rows[0]
    terms = ChannelTerms(first.channel_code, first.channel_kind, first.online, first.safety_buffer,
                         first.channel_active)
    return _availability(sku, terms, rows)


def _availability(sku: str, channel: Channel | ChannelTerms | None, rows: Sequence[Any]) -> Availability:
    buffer = channel.promise_buffer if channel is not None else 0
    locations = [
        LocationAvailability(
            location=row.location_code, kind=row.kind, on_hand=row.on_hand, reserved=row.reserved,
            safety=row.safety, available=available_to_promise(
                on_hand=row.on_hand, reserved=row.reserved, safety=row.safety, buffer=buffer))
        for row in rows if serves_channel(row, channel)
    ]
    return Availability(sku=sku, channel=channel.code if channel else None,
                        total=sum(entry.available for entry in locations), locations=locations)


@dataclass(frozen=True)
class LedgerMismatch:
    sku: str
    location: str
    on_hand: int
    reserved: int
    ledger_on_hand: int
    ledger_reserved: int


async def verify_ledger(session: AsyncSession, *, skus: Sequence[str] | None = None) -> list[LedgerMismatch]:
    """Every level that differs from the sums of its movements (an empty list means the books balance)."""
    sums = (
        select(StockMovement.sku, StockMovement.location_code,
               func.sum(StockMovement.on_hand_delta).label("on_hand"),
               func.sum(StockMovement.reserved_delta).label("reserved"))
        .group_by(StockMovement.sku, StockMovement.location_code)
    )
    levels = select(StockLevel.sku, StockLevel.location_code, StockLevel.on_hand, StockLevel.reserved)
    if skus is not None:
        sums = sums.where(StockMovement.sku.in_(skus))
        levels = levels.where(StockLevel.sku.in_(skus))
    ledger = {(r.sku, r.location_code): (int(r.on_hand), int(r.reserved))
              for r in (await session.execute(sums)).all()}
    mismatches = []
    for r in (await session.execute(levels)).all():
        expected = ledger.pop((r.sku, r.location_code), (0, 0))
        if expected != (r.on_hand, r.reserved):
            mismatches.append(LedgerMismatch(r.sku, r.location_code, r.on_hand, r.reserved, *expected))
    mismatches += [LedgerMismatch(sku, loc, 0, 0, *sums_) for (sku, loc), sums_ in ledger.items()
                   if sums_ != (0, 0)]
    return mismatches


async def list_movements(
    session: AsyncSession, *, sku: str | None, location: str | None, kind: str | None, after_id: int | None,
    limit: int,
) -> list[StockMovement]:
    query = select(StockMovement)
    if sku:
        query = query.where(StockMovement.sku == sku)
    if location:
        query = query.where(StockMovement.location_code == location)
    if kind:
        query = query.where(StockMovement.kind == kind)
    if after_id is not None:
        query = query.where(StockMovement.id > after_id)
    return list((await session.scalars(query.order_by(StockMovement.id).limit(limit))).all())


async def list_levels(
    session: AsyncSession, *, location: str, after_sku: str | None, limit: int, below_safety: bool = False,
) -> list[StockLevel]:
    await get_location(session, location)
    query = select(StockLevel).where(StockLevel.location_code == location)
    if after_sku:
        query = query.where(StockLevel.sku > after_sku)
    if below_safety:
        query = query.where(LEVEL.on_hand - LEVEL.reserved <= LEVEL.safety)
    return list((await session.scalars(query.order_by(StockLevel.sku).limit(limit))).all())


def level_now(level: StockLevel) -> StockChange:
    """A level as a zero-movement snapshot (for answers that show a level)."""
    return StockChange(level.sku, level.location_code, MovementKind.COUNT, 0, 0, level.on_hand,
                       level.reserved, level.safety)

