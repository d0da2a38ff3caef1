"""A store's try-on offer: its settings, the capacity of each day, the schedule of slots, and the places taken.

A place in a slot is taken by one conditional UPDATE of the slot's counter row (``booked < capacity``), so
concurrent bookings — from any number of hub processes — never exceed a slot's capacity.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.db import upsert_dialect
from omnicanal.events.service import record_event
from omnicanal.kit.clock import utcnow
from omnicanal.network.models import Location
from omnicanal.network.service import get_location
from omnicanal.tryon import rules
from omnicanal.tryon.errors import TryOnNotOffered, TryOnSlotFull, TryOnSlotInvalid
from omnicanal.tryon.models import TryOnDay, TryOnSetting, TryOnSlot
from omnicanal.tryon.rules import Slot

DEFAULTS = {"enabled": False, "slot_minutes": 30, "capacity": 2, "grace_minutes": 30, "max_items": 5,
            "horizon_days": 14}
SETTING_FIELDS = tuple(DEFAULTS)


def setting_data(setting: TryOnSetting) -> dict[str, object]:
    return {"location": setting.location_code, **{name: getattr(setting, name) for name in SETTING_FIELDS}}


async def get_try_on_settings(session: AsyncSession, *, location: str) -> TryOnSetting:
    """The store's try-on settings; a store never configured gets the defaults, disabled (not stored)."""
    await get_location(session, location)
    setting = await session.get(TryOnSetting, location)
    return setting or TryOnSetting(location_code=location, updated_at=None, **DEFAULTS)


async def configure_try_ons(session: AsyncSession, *, location: str, values: dict[str, object]) -> TryOnSetting:
    """Set how a store offers try-ons (``values``: the fields of :data:`DEFAULTS`); only a store that sells."""
    store = await get_location(session, location)
    if store.kind != "store" or not store.sells:
        raise TryOnNotOffered(f"{location} is not a store that sells: it cannot offer try-ons.")
    row = {"location_code": location, **DEFAULTS, **values, "updated_at": utcnow()}
    statement = upsert_dialect(session.get_bind().dialect.name).insert(TryOnSetting).values(**row)
    await session.execute(statement.on_conflict_do_update(
        index_elements=["location_code"], set_={k: v for k, v in row.items() if k != "location_code"}))
    setting = await session.get(TryOnSetting, location, populate_existing=True)
    assert setting is not None
    await record_event(session, "tryon.settings_changed", location, setting_data(setting))
    return setting


async def set_day_capacity(session: AsyncSession, *, location: str, day: date, capacity: int | None) -> None:
    """Bookings per slot on one local day (``None``: back to the store's usual capacity)."""
    await offering_store(session, location)
    if capacity is None:
        await session.execute(delete(TryOnDay).where(
            TryOnDay.location_code == location, TryOnDay.day == day))
    else:
        statement = upsert_dialect(session.get_bind().dialect.name).insert(TryOnDay).values(
            location_code=location, day=day, capacity=capacity, updated_at=utcnow())
        await session.execute(statement.on_conflict_do_update(
            index_elements=["location_code", "day"], set_={"capacity": capacity, "updated_at": utcnow()}))
    await record_event(session, "tryon.day_capacity_changed", location,
                       {"location": location, "day": day.isoformat(), "capacity": capacity})


async def offering_store(session: AsyncSession, location: str) -> tuple[Location, TryOnSetting]:
    """The store and its settings, when it offers try-ons now; :class:`TryOnNotOffered` otherwise."""
    store = await get_location(session, location)
    setting = await session.get(TryOnSetting, location)
    if setting is None or not setting.enabled:
        raise TryOnNotOffered(f"{location} does not offer try-ons.")
    if not (store.active and store.sells and store.kind == "store"):
        raise TryOnNotOffered(f"{location} is not an open store that sells: no try-ons there.")
    return store, setting


async def day_capacity(session: AsyncSession, setting: TryOnSetting, day: date) -> int:
    override = await session.get(TryOnDay, (setting.location_code, day))
    return setting.capacity if override is None else override.capacity


@dataclass(frozen=True)
class SlotPlaces:
    slot: Slot
    capacity: int
    booked: int
    bookable: bool

    @property
    def remaining(self) -> int:
        return rules.remaining(self.capacity, self.booked)


@dataclass(frozen=True)
class DaySchedule:
    location: str
    day: date
    timezone: str
    slot_minutes: int
    capacity: int
    slots: list[SlotPlaces]


async def day_schedule(session: AsyncSession, *, location: str, day: date, now: datetime | None = None) -> DaySchedule:
    """The slots of a store's local ``day`` with the places left in each and whether it can be booked now."""
    store, setting = await offering_store(session, location)
    now = now or utcnow()
    capacity = await day_capacity(session, setting, day)
    slots = rules.day_slots(store.opening_hours, day, store.timezone, setting.slot_minutes)
    booked = {row.starts_at: row.booked for row in (await session.scalars(
        select(TryOnSlot).where(TryOnSlot.location_code == location,
                                TryOnSlot.starts_at.in_([s.starts_at for s in slots])))).all()} if slots else {}
    today = rules.local_day(now, store.timezone)
    places = [
        SlotPlaces(slot, capacity, booked.get(slot.starts_at, 0), rules.booking_problem(
            slot.starts_at, now=now, today=today, day=day, horizon_days=setting.horizon_days) is None
            and booked.get(slot.starts_at, 0) < capacity)
        for slot in slots
    ]
    return DaySchedule(location, day, store.timezone, setting.slot_minutes, capacity, places)


async def bookable_slot(
    session: AsyncSession, store: Location, setting: TryOnSetting, starts_at: datetime, now: datetime,
) -> tuple[Slot, int]:
    """The slot starting at ``starts_at`` and its capacity, when it may be booked now."""
    day = rules.local_day(starts_at, store.timezone)
    slot = rules.find_slot(rules.day_slots(store.opening_hours, day, store.timezone, setting.slot_minutes), starts_at)
    if slot is None:
        raise TryOnSlotInvalid(f"{starts_at.isoformat()} is not the start of a try-on slot at {store.code} "
                               f"(slots of {setting.slot_minutes} min within opening hours).")
    problem = rules.booking_problem(slot.starts_at, now=now, today=rules.local_day(now, store.timezone), day=day,
                                    horizon_days=setting.horizon_days)
    if problem:
        raise TryOnSlotInvalid(f"Cannot book {starts_at.isoformat()} at {store.code}: {problem}.")
    return slot, await day_capacity(session, setting, day)


async def take_place(session: AsyncSession, *, location: str, slot: Slot, capacity: int) -> int:
    """Take one place in the slot — one conditional UPDATE, so never beyond ``capacity``; returns the places
    now booked. :class:`TryOnSlotFull` (409) when none is left."""
    dialect = upsert_dialect(session.get_bind().dialect.name)
    await session.execute(dialect.insert(TryOnSlot).values(location_code=location, starts_at=slot.starts_at, booked=0)
                          .on_conflict_do_nothing(index_elements=["location_code", "starts_at"]))
    taken = (await session.execute(
        update(TryOnSlot).where(TryOnSlot.location_code == location, TryOnSlot.starts_at == slot.starts_at,
                                TryOnSlot.booked < capacity)
        .values(booked=TryOnSlot.booked + 1).returning(TryOnSlot.booked))).first()
    if taken is None:
        raise TryOnSlotFull(f"The {slot.starts_at.isoformat()} slot at {location} is full ({capacity} bookings).")
    return int(taken[0])


async def give_back_place(session: AsyncSession, *, location: str, starts_at: datetime) -> None:
    await session.execute(
        update(TryOnSlot).where(TryOnSlot.location_code == location, TryOnSlot.starts_at == starts_at,
                                TryOnSlot.booked > 0)
        .values(booked=TryOnSlot.booked - 1))
