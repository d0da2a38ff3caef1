"""Holding stock outside an order — reservations that lapse — and moving it between locations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.catalog.service import get_product
from omnicanal.events.service import record_event
from omnicanal.inventory import ledger
from omnicanal.inventory.errors import (
    ReservationClosed,
    ReservationNotFound,
    StockInsufficient,
    TransferNotFound,
)
from omnicanal.inventory.models import Reservation, Transfer, TransferLine
from omnicanal.inventory.rules import RESERVATION_TRANSITIONS, MovementKind
from omnicanal.kit.clock import utcnow
from omnicanal.kit.errors import InvalidRequest, InvalidTransition
from omnicanal.kit.ids import new_id
from omnicanal.network.models import Channel
from omnicanal.network.service import get_location

SWEEP_BATCH = 500


def reservation_data(r: Reservation) -> dict[str, object]:
    return {"id": r.id, "sku": r.sku, "location": r.location_code, "quantity": r.quantity,
            "status": r.status, "reference": r.reference,
            "expires_at": r.expires_at.isoformat() if r.expires_at else None}


async def reserve_stock(
    session: AsyncSession, *, sku: str, location: str, quantity: int, expires_at: datetime | None,
    channel: Channel | None = None, reference: str | None = None,
) -> Reservation:
    """Hold ``quantity`` units at ``location`` until ``expires_at``; all or nothing."""
    await get_product(session, sku)
    await get_location(session, location)
    buffer = channel.promise_buffer if channel is not None else 0
    reservation_id = new_id("res")
    change = await ledger.reserve(session, sku=sku, location=location, quantity=quantity, buffer=buffer,
                                  reference=reservation_id)
    if change is None and await expire_reservations(session, now=utcnow(), sku=sku, location=location):
        change = await ledger.reserve(session, sku=sku, location=location, quantity=quantity, buffer=buffer,
                                      reference=reservation_id)
    if change is None:
        raise StockInsufficient(f"{quantity} × {sku} cannot be reserved at {location}.",
                                shortages=[{"sku": sku, "location": location, "requested": quantity}])
    reservation = Reservation(
        id=reservation_id, sku=sku, location_code=location, quantity=quantity, status="active",
        expires_at=expires_at, reference=reference, channel_code=channel.code if channel else None,
        created_at=utcnow())
    session.add(reservation)
    await ledger.record_changes(session, [change])
    await record_event(session, "reservation.created", reservation_id, reservation_data(reservation))
    return reservation


async def get_reservation(session: AsyncSession, reservation_id: str) -> Reservation:
    reservation = await session.get(Reservation, reservation_id)
    if reservation is None:
        raise ReservationNotFound(f"No reservation {reservation_id}.")
    return reservation


async def close_reservation(
    session: AsyncSession, reservation: Reservation, *, status: str, reason: str | None = None,
) -> Reservation:
    """Move an active reservation to ``released``, ``expired`` or ``consumed`` — the latter keeps the units
    reserved for the order or sale that took them over; the others give them back."""
    if status not in RESERVATION_TRANSITIONS[reservation.status]:
        raise ReservationClosed(f"Reservation {reservation.id} is {reservation.status}; it cannot become {status}.")
    claimed = await session.execute(
        update(Reservation).where(Reservation.id == reservation.id, Reservation.status == "active")
        .values(status=status, closed_at=utcnow()))
    if not claimed.rowcount:  # type: ignore[attr-defined]  # closed by a concurrent request
        raise ReservationClosed(f"Reservation {reservation.id} was closed meanwhile.")
    if status != "consumed":
        change = await ledger.release(session, sku=reservation.sku, location=reservation.location_code,
                                      quantity=reservation.quantity, reference=reservation.id, reason=reason)
        if change is not None:
            await ledger.record_changes(session, [change])
    await session.refresh(reservation)
    await record_event(session, f"reservation.{status}", reservation.id, reservation_data(reservation))
    return reservation


async def expire_reservations(
    session: AsyncSession, *, now: datetime, sku: str | None = None, location: str | None = None,
) -> int:
    """Give back the stock of every active reservation whose time has passed; returns how many."""
    query = select(Reservation).where(Reservation.status == "active", Reservation.expires_at <= now)
    if sku is not None:
        query = query.where(Reservation.sku == sku, Reservation.location_code == location)
    query = query.order_by(Reservation.sku, Reservation.location_code).limit(SWEEP_BATCH)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    expired = 0
    for reservation in (await session.scalars(query)).all():
        await close_reservation(session, reservation, status="expired", reason="reservation expired")
        expired += 1
    return expired


async def transfer_stock(
    session: AsyncSession, *, from_location: str, to_location: str, lines: Sequence[tuple[str, int]],
    reason: str | None = None,
) -> Transfer:
    """Send goods from one location to another: they leave the origin now and arrive when received.
    Only free units travel (never reserved or safety stock)."""
    if from_location == to_location:
        raise InvalidRequest("A transfer needs two different locations.")
    await get_location(session, from_location)
    await get_location(session, to_location)
    transfer = Transfer(id=new_id("trf"), from_location=from_location, to_location=to_location,
                        status="in_transit", reason=reason, created_at=utcnow())
    session.add(transfer)
    await session.flush()
    changes, shortages = [], []
    for sku, quantity in sorted(lines):
        await get_product(session, sku)
        change = await ledger.change_level(
            session, sku=sku, location=from_location, kind=MovementKind.TRANSFER_OUT, on_hand_delta=-quantity,
            reference=transfer.id, condition=ledger.reservable(quantity, 0))
        if change is None:
            shortages.append({"sku": sku, "location": from_location, "requested": quantity})
        else:
            changes.append(change)
        session.add(TransferLine(transfer_id=transfer.id, sku=sku, quantity=quantity))
    if shortages:
        raise StockInsufficient(f"{from_location} cannot send all of it.", shortages=shortages)
    await ledger.record_changes(session, changes)
    await record_event(session, "transfer.shipped", transfer.id, await transfer_data(session, transfer))
    return transfer


async def get_transfer(session: AsyncSession, transfer_id: str) -> Transfer:
    transfer = await session.get(Transfer, transfer_id, with_for_update=True)
    if transfer is None:
        raise TransferNotFound(f"No transfer {transfer_id}.")
    return transfer


async def transfer_lines(session: AsyncSession, transfer_id: str) -> list[TransferLine]:
    return list((await session.scalars(
        select(TransferLine).where(TransferLine.transfer_id == transfer_id).order_by(TransferLine.sku))).all())


async def transfer_data(session: AsyncSession, transfer: Transfer) -> dict[str, object]:
    return {"id": transfer.id, "from": transfer.from_location, "to": transfer.to_location,
            "status": transfer.status,
            "lines": [{"sku": line.sku, "quantity": line.quantity}
                      for line in await transfer_lines(session, transfer.id)]}


async def settle_transfer(session: AsyncSession, *, transfer_id: str, outcome: str) -> Transfer:
    """``received``: the goods enter the destination. ``cancelled``: they go back to the origin."""
    transfer = await get_transfer(session, transfer_id)
    if transfer.status != "in_transit":
        raise InvalidTransition(f"Transfer {transfer_id} is already {transfer.status}.")
    location = transfer.to_location if outcome == "received" else transfer.from_location
    changes = [
        await ledger.add_to_level(session, sku=line.sku, location=location, kind=MovementKind.TRANSFER_IN,
                                  on_hand_delta=line.quantity, reference=transfer.id)
        for line in await transfer_lines(session, transfer.id)
    ]
    transfer.status, transfer.received_at = outcome, utcnow()
    await ledger.record_changes(session, changes)
    await record_event(session, f"transfer.{outcome}", transfer.id, await transfer_data(session, transfer))
    return transfer
