from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from omnicanal.access.deps import Allow, AllowAt
from omnicanal.access.rules import Permission, Principal, require_channel, require_location
from omnicanal.access.scope import require_customer_access
from omnicanal.audit.service import record_customer_read
from omnicanal.kit.deps import SessionDep, SettingsDep
from omnicanal.kit.pagination import Page, Paging, page_of
from omnicanal.kit.transaction import TransactionalRoute
from omnicanal.tryon import service, slots
from omnicanal.tryon.models import TryOnSetting
from omnicanal.tryon.rules import TryOnStatus
from omnicanal.tryon.schemas import (
    CustomerTryOnsOut,
    DayCapacityIn,
    PurchaseIn,
    SlotOut,
    TryOnDayOut,
    TryOnIn,
    TryOnLineOut,
    TryOnOut,
    TryOnSettingsIn,
    TryOnSettingsOut,
)
from omnicanal.tryon.service import TryOnFilter, TryOnRecord, TryOnRequest

router = APIRouter(prefix="/api/v1", tags=["try-ons"], route_class=TransactionalRoute)
# A store's try-on offer is part of the network's set-up; a booking is part of the order flow. The offer and
# its free places are what every channel shows its customers, so any store's are readable (no person in them);
# changing them stays confined to the caller's stores.
SETUP_READ, SETUP_WRITE = Allow(Permission.NETWORK_READ), AllowAt(Permission.NETWORK_WRITE)
READ, WRITE = Allow(Permission.ORDERS_READ), Allow(Permission.ORDERS_WRITE)
Reader = Annotated[Principal, READ]
Writer = Annotated[Principal, WRITE]
REFUSALS: dict[int | str, dict[str, Any]] = {
    409: {"description": "The slot is full (`slot-full`), the articles are not in stock (`shortages`), the hold "
                         "lapsed (`try-on-lapsed`) or the try-on is past this step; nothing written."},
    422: {"description": "Not a slot of the store, a store without try-ons, or articles not held."},
}
SETTINGS_PATH = "/locations/{location}/try-on-settings"


def _settings_out(setting: TryOnSetting) -> TryOnSettingsOut:
    return TryOnSettingsOut(location=setting.location_code, updated_at=setting.updated_at,
                            **{name: getattr(setting, name) for name in slots.SETTING_FIELDS})


def try_on_out(record: TryOnRecord) -> TryOnOut:
    t = record.try_on
    return TryOnOut(
        id=t.id, location=t.location_code, channel=t.channel_code, customer=t.customer_id,
        status=TryOnStatus(t.status), slot_start=t.slot_start, slot_end=t.slot_end, hold_until=t.hold_until,
        order_id=t.order_id, purchase_channel=t.purchase_channel,
        lines=[TryOnLineOut(sku=li.sku, quantity=li.quantity, bought=li.bought, reservation=li.reservation_id)
               for li in record.lines],
        created_at=t.created_at, updated_at=t.updated_at, checked_in_at=t.checked_in_at, closed_at=t.closed_at)


async def _day_out(session: SessionDep, location: str, day: date) -> TryOnDayOut:
    schedule = await slots.day_schedule(session, location=location, day=day)
    return TryOnDayOut(
        location=schedule.location, date=schedule.day, timezone=schedule.timezone,
        slot_minutes=schedule.slot_minutes, capacity=schedule.capacity,
        slots=[SlotOut(starts_at=p.slot.starts_at, ends_at=p.slot.ends_at, capacity=p.capacity, booked=p.booked,
                       remaining=p.remaining, bookable=p.bookable) for p in schedule.slots])


# --- a store's offer --------------------------------------------------------------------------------------
@router.get(SETTINGS_PATH, response_model=TryOnSettingsOut, dependencies=[SETUP_READ])
async def get_try_on_settings(session: SessionDep, location: str) -> TryOnSettingsOut:
    return _settings_out(await slots.get_try_on_settings(session, location=location))


@router.put(SETTINGS_PATH, response_model=TryOnSettingsOut, dependencies=[SETUP_WRITE], responses=REFUSALS)
async def configure_try_ons(session: SessionDep, location: str, body: TryOnSettingsIn) -> TryOnSettingsOut:
    """Offer try-ons at a store (or stop: `enabled: false`); slots follow its opening hours."""
    return _settings_out(await slots.configure_try_ons(session, location=location, values=body.model_dump()))


@router.put("/locations/{location}/try-on-days/{day}", response_model=TryOnDayOut, dependencies=[SETUP_WRITE],
            responses=REFUSALS)
async def set_day_capacity(session: SessionDep, location: str, day: date, body: DayCapacityIn) -> TryOnDayOut:
    """Bookings per slot on one day of the store's calendar (0: no try-ons that day; null: the usual)."""
    await slots.set_day_capacity(session, location=location, day=day, capacity=body.capacity)
    return await _day_out(session, location, day)


@router.get("/locations/{location}/try-on-slots", response_model=TryOnDayOut, dependencies=[SETUP_READ],
            responses=REFUSALS)
async def list_try_on_slots(session: SessionDep, location: str,
                            day: Annotated[date, Query(alias="date", description="The store's local date.")]
                            ) -> TryOnDayOut:
    """A day's try-on slots at a store, with the places left in each."""
    return await _day_out(session, location, day)


# --- bookings ---------------------------------------------------------------------------------------------
async def _reachable(session: SessionDep, principal: Principal, try_on_id: str, *, sale_channel: str | None = None,
                     ) -> TryOnRecord:
    """The try-on, if the caller may act on it: store staff at its store; an integration key for the channel
    that booked it — or, buying, for the channel of the sale (a till fleet sells what the store held)."""
    record = await service.get_try_on(session, try_on_id)
    require_location(principal, record.try_on.location_code)
    require_channel(principal, sale_channel or record.try_on.channel_code)
    return record


@router.post("/try-ons", response_model=TryOnOut, status_code=201, responses=REFUSALS)
async def book_try_on(session: SessionDep, principal: Writer, body: TryOnIn, response: Response) -> TryOnOut:
    """Book a slot and hold the articles at the store until the slot ends plus grace — all or nothing."""
    require_location(principal, body.location)
    require_channel(principal, body.channel)
    record = await service.book_try_on(session, TryOnRequest(
        location=body.location, channel=body.channel, slot_start=body.slot_start, customer=body.customer,
        lines=[(line.sku, line.quantity) for line in body.lines]))
    response.headers["Location"] = f"/api/v1/try-ons/{record.try_on.id}"
    return try_on_out(record)


@router.get("/try-ons", response_model=Page[TryOnOut])
async def list_try_ons(
    session: SessionDep, request: Request, principal: Reader, paging: Paging, location: str | None = None,
    customer: str | None = None,
    status: Annotated[TryOnStatus | None, Query()] = None, channel: str | None = None,
    slot_from: datetime | None = None, slot_to: datetime | None = None,
) -> Page[TryOnOut]:
    """Try-ons, newest booking first — e.g. a customer's no-shows: `?customer=…&status=no_show`. Store staff
    see their stores' try-ons, an integration key those its channel booked; listing a customer's try-ons is
    written to the audit log."""
    if location is not None:
        require_location(principal, location)
    records = await service.list_try_ons(
        session, filters=TryOnFilter(
            location=location, customer=customer, status=status, channel=channel, slot_from=slot_from,
            slot_to=slot_to, within_locations=principal.locations if principal.store_scoped else None,
            within_channel=principal.channel if principal.channel_scoped else None),
        before_id=paging.after_one(str), limit=paging.limit + 1)
    await record_customer_read(session, request, principal, customer)
    return page_of([try_on_out(r) for r in records], paging, lambda out: (out.id,))


@router.get("/try-ons/{try_on_id}", response_model=TryOnOut)
async def get_try_on(session: SessionDep, request: Request, principal: Reader, try_on_id: str) -> TryOnOut:
    record = await _reachable(session, principal, try_on_id)
    await record_customer_read(session, request, principal, record.try_on.customer_id)
    return try_on_out(record)


@router.post("/try-ons/{try_on_id}/check-in", response_model=TryOnOut, responses=REFUSALS)
async def check_in(session: SessionDep, principal: Writer, try_on_id: str) -> TryOnOut:
    """The customer arrived at the store."""
    await _reachable(session, principal, try_on_id)
    return try_on_out(await service.check_in(session, try_on_id=try_on_id))


@router.post("/try-ons/{try_on_id}/purchase", response_model=TryOnOut, responses=REFUSALS)
async def purchase_try_on(session: SessionDep, settings: SettingsDep, principal: Writer, try_on_id: str,
                          body: PurchaseIn) -> TryOnOut:
    """Buy some or all held articles — at the till (a carry-out sale of the held units) or online (a ship
    order); the rest go back on sale. `order_id` names the order."""
    await _reachable(session, principal, try_on_id, sale_channel=body.channel)
    record, _ = await service.purchase_try_on(
        session, try_on_id=try_on_id, channel=body.channel, lines=[(li.sku, li.quantity) for li in body.lines],
        currency=settings.currency)
    return try_on_out(record)


@router.post("/try-ons/{try_on_id}/decline", response_model=TryOnOut, responses=REFUSALS)
async def decline_try_on(session: SessionDep, principal: Writer, try_on_id: str) -> TryOnOut:
    """Tried, nothing bought: the articles go back on sale at once."""
    await _reachable(session, principal, try_on_id)
    return try_on_out(await service.decline_try_on(session, try_on_id=try_on_id))


@router.post("/try-ons/{try_on_id}/cancel", response_model=TryOnOut, responses=REFUSALS)
async def cancel_try_on(session: SessionDep, principal: Writer, try_on_id: str) -> TryOnOut:
    """The customer will not come (before check-in): the place and the articles are freed."""
    await _reachable(session, principal, try_on_id)
    return try_on_out(await service.cancel_try_on(session, try_on_id=try_on_id))


@router.get("/customers/{customer_id}/try-ons", response_model=CustomerTryOnsOut)
async def customer_try_ons(session: SessionDep, request: Request,
                           principal: Annotated[Principal, Allow(Permission.CUSTOMERS_READ)],
                           customer_id: str) -> CustomerTryOnsOut:
    """A customer's try-on record: how many ended in each status, no-shows among them (read: audited)."""
    await require_customer_access(session, principal, customer_id)
    await record_customer_read(session, request, principal, customer_id)
    counts = await service.try_on_record(session, customer_id=customer_id)
    return CustomerTryOnsOut(customer=customer_id, total=sum(counts.values()), no_shows=counts.get("no_show", 0),
                             by_status=counts)
