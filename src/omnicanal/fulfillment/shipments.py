"""Parcels of shipped orders: carrier, tracking number, cost, and when each left and arrived.

A parcel leaves from one location with some or all of the units still to ship; those units' reservations
become a sale there. The order is ``partially_shipped`` until every unit is in a parcel, then ``shipped``,
then ``delivered`` once every parcel has arrived. Delivery times and logistics costs are measured from these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.events.service import Event, record_event
from omnicanal.fulfillment import rules
from omnicanal.fulfillment.errors import ShipmentInvalid, ShipmentNotFound, ShipmentRefused
from omnicanal.fulfillment.models import Shipment, ShipmentLine
from omnicanal.inventory import ledger
from omnicanal.inventory.rules import MovementKind
from omnicanal.kit.clock import utcnow
from omnicanal.kit.errors import AlreadyExists
from omnicanal.kit.ids import new_id
from omnicanal.orders.service import PlacedOrder, lock_order, move_order

SHIPPABLE = ("confirmed", "partially_shipped")


@dataclass(frozen=True)
class Parcel:
    shipment: Shipment
    lines: list[ShipmentLine]


@dataclass(frozen=True)
class ParcelDetails:
    carrier: str | None = None
    tracking_number: str | None = None
    cost_amount: int | None = None
    cost_currency: str | None = None


def parcel_data(parcel: Parcel) -> dict[str, Any]:
    s = parcel.shipment
    return {"id": s.id, "order": s.order_id, "location": s.location_code, "carrier": s.carrier,
            "tracking_number": s.tracking_number, "status": s.status,
            "cost": None if s.cost_amount is None else {"amount": s.cost_amount, "currency": s.cost_currency},
            "shipped_at": s.shipped_at.isoformat(),
            "delivered_at": s.delivered_at.isoformat() if s.delivered_at else None,
            "lines": [{"line_no": li.line_no, "sku": li.sku, "quantity": li.quantity} for li in parcel.lines]}


async def shipped_units(session: AsyncSession, order_id: str) -> dict[int, int]:
    """Units per order line already in a parcel."""
    rows = (await session.execute(
        select(ShipmentLine.line_no, func.sum(ShipmentLine.quantity)).join(Shipment)
        .where(Shipment.order_id == order_id).group_by(ShipmentLine.line_no))).all()
    return {int(line_no): int(quantity) for line_no, quantity in rows}


async def create_shipment(
    session: AsyncSession, *, order_id: str, details: ParcelDetails,
    lines: Sequence[tuple[int, int | None]] | None = None, now: datetime | None = None,
) -> Parcel:
    """A parcel leaves with ``lines`` (order line number, units — ``None``: all that is left of it), or with
    everything left to ship. Its units must all be reserved at one location; they leave it as a sale."""
    now = now or utcnow()
    placed = await lock_order(session, order_id)  # two parcels of one order are made one after the other
    _check_shippable(placed)
    left = rules.left_to_ship({line.line_no: line.quantity for line in placed.lines},
                              await shipped_units(session, order_id))
    wanted = [(no, left.get(no, 0) if qty is None else qty) for no, qty in lines] if lines else sorted(left.items())
    problems = rules.parcel_problems(wanted, left) + [
        {"line_no": no, "requested": 0, "left": left.get(no, 0)} for no, qty in wanted if qty == 0]
    if problems or not wanted:
        raise ShipmentInvalid(f"Order {order_id} has less than that left to ship.", lines=problems)
    location = _one_location(placed, [no for no, _ in wanted])
    parcel = await _write_parcel(session, placed, location, wanted, details, now)
    changes = await _consume(session, placed, location, wanted)
    event = Event("shipment.created", parcel.shipment.id, parcel_data(parcel))
    everything = all(qty >= left[no] for no, qty in _summed(wanted).items()) and set(_summed(wanted)) == set(left)
    target = "shipped" if everything else "partially_shipped"
    if target != placed.order.status:
        await move_order(session, placed, target, changes=changes, also=[event], shipment=parcel.shipment.id)
    else:
        await ledger.record_changes(session, changes, also=[event])
    return parcel


def _check_shippable(placed: PlacedOrder) -> None:
    order = placed.order
    if order.fulfillment != "ship":
        raise ShipmentRefused(f"Order {order.id} is a {order.fulfillment} order: it does not travel in parcels.")
    if order.status not in SHIPPABLE:
        raise ShipmentRefused(f"Order {order.id} is {order.status}; only a confirmed or partially shipped order "
                              "can send a parcel.")


def _summed(wanted: Sequence[tuple[int, int]]) -> dict[int, int]:
    totals: dict[int, int] = {}
    for line_no, quantity in wanted:
        totals[line_no] = totals.get(line_no, 0) + quantity
    return totals


def _one_location(placed: PlacedOrder, line_nos: Sequence[int]) -> str:
    sites = {line.line_no: line.location_code for line in placed.lines}
    where = {sites.get(no) for no in line_nos}
    if len(where) != 1 or None in where:
        by_site = sorted(f"line {no} at {sites.get(no)}" for no in sorted(set(line_nos)))
        raise ShipmentInvalid(f"A parcel leaves from one location: {', '.join(by_site)}. Send one parcel per "
                              "location.")
    return str(where.pop())


async def _write_parcel(session: AsyncSession, placed: PlacedOrder, location: str,
                        wanted: Sequence[tuple[int, int]], details: ParcelDetails, now: datetime) -> Parcel:
    if details.carrier and details.tracking_number and await session.scalar(select(Shipment.id).where(
            Shipment.carrier == details.carrier, Shipment.tracking_number == details.tracking_number)):
        raise AlreadyExists(f"{details.carrier} tracking number {details.tracking_number} is already another parcel's.")
    shipment = Shipment(id=new_id("shp"), order_id=placed.order.id, location_code=location, carrier=details.carrier,
                        tracking_number=details.tracking_number, cost_amount=details.cost_amount,
                        cost_currency=details.cost_currency, status="shipped", shipped_at=now)
    skus = {line.line_no: line.sku for line in placed.lines}
    lines = [ShipmentLine(shipment_id=shipment.id, line_no=no, sku=skus[no], quantity=qty)
             for no, qty in sorted(_summed(wanted).items())]
    session.add(shipment)
    await session.flush()
    session.add_all(lines)
    await session.flush()
    return Parcel(shipment, lines)


async def _consume(session: AsyncSession, placed: PlacedOrder, location: str,
                   wanted: Sequence[tuple[int, int]]) -> list[ledger.StockChange]:
    skus = {line.line_no: line.sku for line in placed.lines}
    units: dict[str, int] = {}
    for no, qty in wanted:
        units[skus[no]] = units.get(skus[no], 0) + qty
    changes = []
    for sku, quantity in sorted(units.items()):
        change = await ledger.change_level(
            session, sku=sku, location=location, kind=MovementKind.SALE, on_hand_delta=-quantity,
            reserved_delta=-quantity, reference=placed.order.id, condition=ledger.LEVEL.reserved >= quantity)
        if change is None:
            raise ShipmentRefused(f"{location} no longer holds {quantity} × {sku} reserved for order "
                                  f"{placed.order.id}; count the stock there.")
        changes.append(change)
    return changes


async def get_parcel(session: AsyncSession, shipment_id: str) -> Parcel:
    shipment = await session.get(Shipment, shipment_id, populate_existing=True)
    if shipment is None:
        raise ShipmentNotFound(f"No shipment {shipment_id}.")
    return Parcel(shipment, await _lines_of(session, shipment_id))


async def _lines_of(session: AsyncSession, shipment_id: str) -> list[ShipmentLine]:
    return list((await session.scalars(select(ShipmentLine).where(ShipmentLine.shipment_id == shipment_id)
                                       .order_by(ShipmentLine.line_no))).all())


async def list_parcels(session: AsyncSession, *, order_id: str) -> list[Parcel]:
    """The parcels of an order, in the order they left."""
    shipments = (await session.scalars(select(Shipment).where(Shipment.order_id == order_id)
                                       .order_by(Shipment.id))).all()
    return [Parcel(s, await _lines_of(session, s.id)) for s in shipments]


async def deliver_shipment(session: AsyncSession, *, shipment_id: str, now: datetime | None = None) -> Parcel:
    """The carrier delivered this parcel; the order is delivered when all its parcels are and none is left to
    send."""
    now = now or utcnow()
    parcel = await get_parcel(session, shipment_id)
    placed = await lock_order(session, parcel.shipment.order_id)
    claimed = await session.execute(update(Shipment).where(Shipment.id == shipment_id, Shipment.status == "shipped")
                                    .values(status="delivered", delivered_at=now))
    if not claimed.rowcount:  # type: ignore[attr-defined]
        raise ShipmentRefused(f"Shipment {shipment_id} is already {parcel.shipment.status}.")
    parcel = await get_parcel(session, shipment_id)
    await record_event(session, "shipment.delivered", shipment_id, parcel_data(parcel))
    undelivered = await session.scalar(select(func.count()).select_from(Shipment).where(
        Shipment.order_id == placed.order.id, Shipment.status != "delivered"))
    if placed.order.status == "shipped" and not undelivered:
        await move_order(session, placed, "delivered", shipment=shipment_id)
    return parcel


async def ship_everything(session: AsyncSession, *, order_id: str, now: datetime | None = None) -> list[Parcel]:
    """Everything left to ship leaves now: one parcel per location (no carrier details)."""
    placed = await lock_order(session, order_id)
    _check_shippable(placed)
    left = rules.left_to_ship({line.line_no: line.quantity for line in placed.lines},
                              await shipped_units(session, order_id))
    sites = {line.line_no: line.location_code or "" for line in placed.lines}
    parcels = []
    for location in sorted({sites[no] for no in left}):
        parcels.append(await create_shipment(session, order_id=order_id, details=ParcelDetails(), now=now,
                                             lines=[(no, qty) for no, qty in sorted(left.items())
                                                    if sites[no] == location]))
    return parcels


async def deliver_everything(session: AsyncSession, *, order_id: str, now: datetime | None = None) -> PlacedOrder:
    """Every parcel of a shipped order arrived (the order is delivered even if it was shipped without parcels)."""
    now = now or utcnow()
    placed = await lock_order(session, order_id)
    if placed.order.status != "shipped":
        raise ShipmentRefused(f"Order {order_id} is {placed.order.status}; only a shipped order can be delivered.")
    for parcel in await list_parcels(session, order_id=order_id):
        if parcel.shipment.status == "shipped":
            await deliver_shipment(session, shipment_id=parcel.shipment.id, now=now)
    placed = await lock_order(session, order_id)
    if placed.order.status == "shipped":
        await move_order(session, placed, "delivered")
    return placed
