from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic_core import to_json

from omnicanal.access.deps import Allow, AllowAt
from omnicanal.access.rules import Permission, Principal, may_access_location, require_channel, require_location
from omnicanal.inventory import holds, service
from omnicanal.inventory.ledger import StockChange
from omnicanal.inventory.models import Reservation, StockLevel, Transfer
from omnicanal.inventory.rules import MovementKind
from omnicanal.inventory.schemas import (
    AvailabilityOut,
    LedgerMismatchOut,
    MovementOut,
    ReservationIn,
    ReservationOut,
    StockAdjustment,
    StockCount,
    StockLevelOut,
    StockReceipt,
    TransferIn,
    TransferLineIn,
    TransferOut,
)
from omnicanal.kit.clock import utcnow
from omnicanal.kit.deps import SessionDep, get_request_session
from omnicanal.kit.pagination import Page, Paging, page_of
from omnicanal.kit.transaction import TransactionalRoute
from omnicanal.network.service import get_channel

router = APIRouter(prefix="/api/v1", tags=["inventory"], route_class=TransactionalRoute)
# Availability, the hub's most frequent request (every product page), on a router of its own that the app
# matches first: each route tried before costs a read about 1 % of its CPU.
availability_router = APIRouter(prefix="/api/v1", tags=["inventory"], route_class=TransactionalRoute)
READ, WRITE = Allow(Permission.STOCK_READ), Allow(Permission.STOCK_WRITE)
# Store staff reach only their own stores' levels, ledger, holds and transfers; network-wide availability
# (what the web shop shows every customer) stays readable to every role with stock:read.
READ_AT, WRITE_AT = AllowAt(Permission.STOCK_READ), AllowAt(Permission.STOCK_WRITE)
Reader = Annotated[Principal, READ]
Writer = Annotated[Principal, WRITE]
LEVEL_PATH = "/locations/{location}/stock/{sku}"


def _level_out(change: StockChange) -> StockLevelOut:
    return StockLevelOut(sku=change.sku, location=change.location, on_hand=change.on_hand,
                         reserved=change.reserved, safety=change.safety, available=change.available)


def _stock_level_out(level: StockLevel) -> StockLevelOut:
    return _level_out(service.level_now(level))


def _reservation_out(r: Reservation) -> ReservationOut:
    return ReservationOut(id=r.id, sku=r.sku, location=r.location_code, quantity=r.quantity, status=r.status,
                          channel=r.channel_code, reference=r.reference, expires_at=r.expires_at,
                          created_at=r.created_at, closed_at=r.closed_at)


async def _transfer_out(session: SessionDep, t: Transfer) -> TransferOut:
    lines = [TransferLineIn(sku=line.sku, quantity=line.quantity)
             for line in await holds.transfer_lines(session, t.id)]
    return TransferOut(id=t.id, from_location=t.from_location, to_location=t.to_location, status=t.status,
                       reason=t.reason, lines=lines, created_at=t.created_at, received_at=t.received_at)


@availability_router.get("/availability/{sku}", response_model=AvailabilityOut, dependencies=[READ])
async def get_availability(request: Request, sku: str, channel: str | None = None) -> Response:
    """Units available to promise for ``sku``, per location and network-wide, on ``channel``."""
    # The hub's most frequent request: its session straight from the request, not as a dependency (FastAPI
    # resolving one costs a read about 4 % of its CPU) …
    found = await service.availability_on(get_request_session(request), sku=sku, channel=channel)
    # … and its answer serialised by its model at once, not validated a second time by FastAPI. (Most of these
    # requests are answered before they reach FastAPI, by inventory.shortcut, in exactly the same words.)
    return Response(availability_json(found), media_type="application/json")


def availability_json(found: service.Availability) -> bytes:
    """:class:`AvailabilityOut` as JSON — written by pydantic's serializer straight from the figures, as the model
    would write them: the answer to every product page, built without building the models first."""
    return to_json({"sku": found.sku, "channel": found.channel, "total": found.total, "locations": [
        {"location": entry.location, "available": entry.available} for entry in found.locations]})


@router.get("/locations/{location}/stock", response_model=Page[StockLevelOut], dependencies=[READ_AT])
async def list_stock(session: SessionDep, location: str, paging: Paging,
                     below_safety: Annotated[bool, Query(description="Only levels at or under safety stock.")] = False,
                     ) -> Page[StockLevelOut]:
    """Every SKU's level at a location, by SKU."""
    levels = await service.list_levels(session, location=location, after_sku=paging.after_one(str),
                                       limit=paging.limit + 1, below_safety=below_safety)
    return page_of([_stock_level_out(level) for level in levels], paging, lambda out: (out.sku,))


@router.get(LEVEL_PATH, response_model=StockLevelOut, dependencies=[READ_AT])
async def get_stock(session: SessionDep, location: str, sku: str) -> StockLevelOut:
    return _stock_level_out(await service.get_level(session, sku=sku, location=location))


@router.put(LEVEL_PATH, response_model=StockLevelOut, dependencies=[WRITE_AT])
async def count_stock(session: SessionDep, location: str, sku: str, body: StockCount) -> StockLevelOut:
    """Record a physical count (on hand becomes the counted figure) and optionally the safety stock."""
    return _level_out(await service.count_stock(session, sku=sku, location=location, on_hand=body.on_hand,
                                                safety=body.safety, reason=body.reason))


@router.post(f"{LEVEL_PATH}/receipts", response_model=StockLevelOut, status_code=201, dependencies=[WRITE_AT])
async def receive_stock(session: SessionDep, location: str, sku: str, body: StockReceipt) -> StockLevelOut:
    return _level_out(await service.receive_stock(session, sku=sku, location=location, quantity=body.quantity,
                                                  reference=body.reference))


@router.post(f"{LEVEL_PATH}/adjustments", response_model=StockLevelOut, status_code=201, dependencies=[WRITE_AT])
async def adjust_stock(session: SessionDep, location: str, sku: str, body: StockAdjustment) -> StockLevelOut:
    return _level_out(await service.adjust_stock(session, sku=sku, location=location, delta=body.delta,
                                                 reason=body.reason))


@router.get("/stock/movements", response_model=Page[MovementOut])
async def list_movements(
    session: SessionDep, principal: Reader, paging: Paging, sku: str | None = None, location: str | None = None,
    kind: Annotated[MovementKind | None, Query()] = None,
) -> Page[MovementOut]:
    """The append-only stock ledger, oldest first (store staff name one of their stores)."""
    require_location(principal, location)
    rows = await service.list_movements(session, sku=sku, location=location, kind=kind,
                                        after_id=paging.after_one(int), limit=paging.limit + 1)
    items = [MovementOut(id=m.id, sku=m.sku, location=m.location_code, kind=m.kind, on_hand_delta=m.on_hand_delta,
                         reserved_delta=m.reserved_delta, reference=m.reference, reason=m.reason,
                         created_at=m.created_at) for m in rows]
    return page_of(items, paging, lambda out: (out.id,))


@router.get("/stock/ledger-check", response_model=list[LedgerMismatchOut])
async def check_ledger(session: SessionDep, principal: Reader, sku: Annotated[list[str] | None, Query()] = None,
                       ) -> list[LedgerMismatchOut]:
    """Levels that differ from the sums of their movements; an empty list means the books balance."""
    return [LedgerMismatchOut(**vars(m)) for m in await service.verify_ledger(session, skus=sku)
            if may_access_location(principal, m.location)]


@router.post("/reservations", response_model=ReservationOut, status_code=201)
async def reserve_stock(session: SessionDep, principal: Writer, body: ReservationIn) -> ReservationOut:
    """Hold units for a cart or a try-on; they return to stock when the hold expires or is released."""
    require_location(principal, body.location)
    require_channel(principal, body.channel)
    channel = await get_channel(session, body.channel) if body.channel else None
    return _reservation_out(await holds.reserve_stock(
        session, sku=body.sku, location=body.location, quantity=body.quantity, channel=channel,
        expires_at=utcnow() + timedelta(seconds=body.expires_in_seconds), reference=body.reference))


def _require_hold(principal: Principal, reservation: Reservation) -> Reservation:
    require_location(principal, reservation.location_code)
    require_channel(principal, reservation.channel_code)
    return reservation


@router.get("/reservations/{reservation_id}", response_model=ReservationOut)
async def get_reservation(session: SessionDep, principal: Reader, reservation_id: str) -> ReservationOut:
    return _reservation_out(_require_hold(principal, await holds.get_reservation(session, reservation_id)))


@router.post("/reservations/{reservation_id}/release", response_model=ReservationOut)
async def release_reservation(session: SessionDep, principal: Writer, reservation_id: str) -> ReservationOut:
    reservation = _require_hold(principal, await holds.get_reservation(session, reservation_id))
    return _reservation_out(await holds.close_reservation(session, reservation, status="released"))


@router.post("/transfers", response_model=TransferOut, status_code=201)
async def transfer_stock(session: SessionDep, principal: Writer, body: TransferIn) -> TransferOut:
    """Send goods between locations; they leave now and arrive when the destination receives them.
    Store staff send from their own stores."""
    require_location(principal, body.from_location)
    transfer = await holds.transfer_stock(
        session, from_location=body.from_location, to_location=body.to_location,
        lines=[(line.sku, line.quantity) for line in body.lines], reason=body.reason)
    return await _transfer_out(session, transfer)


async def _require_transfer(session: SessionDep, principal: Principal, transfer_id: str, *ends: str) -> None:
    """Store staff see a transfer from or to their stores, and act on it at the end named in ``ends``."""
    if not principal.store_scoped:
        return
    transfer = await holds.get_transfer(session, transfer_id)
    if not any(may_access_location(principal, getattr(transfer, end)) for end in ends):
        require_location(principal, getattr(transfer, ends[0]))


@router.get("/transfers/{transfer_id}", response_model=TransferOut)
async def get_transfer(session: SessionDep, principal: Reader, transfer_id: str) -> TransferOut:
    await _require_transfer(session, principal, transfer_id, "from_location", "to_location")
    return await _transfer_out(session, await holds.get_transfer(session, transfer_id))


@router.post("/transfers/{transfer_id}/receive", response_model=TransferOut)
async def receive_transfer(session: SessionDep, principal: Writer, transfer_id: str) -> TransferOut:
    await _require_transfer(session, principal, transfer_id, "to_location")
    return await _transfer_out(session, await holds.settle_transfer(session, transfer_id=transfer_id,
                                                                    outcome="received"))


@router.post("/transfers/{transfer_id}/cancel", response_model=TransferOut)
async def cancel_transfer(session: SessionDep, principal: Writer, transfer_id: str) -> TransferOut:
    await _require_transfer(session, principal, transfer_id, "from_location")
    return await _transfer_out(session, await holds.settle_transfer(session, transfer_id=transfer_id,
                                                                    outcome="cancelled"))
