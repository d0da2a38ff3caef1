"""Try-on rules — the slots of a store's day, the booking's state machine, what a purchase may take. Pure.

Slots follow the store's opening hours (``network.rules``): each opening interval is cut into slots of
``slot_minutes`` from its opening time; a slot must end by closing time. Times are the store's wall clock,
converted to UTC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from omnicanal.network.rules import DAYS, OpeningHours, minutes_of


class TryOnStatus(StrEnum):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    PURCHASED = "purchased"
    PARTIALLY_PURCHASED = "partially_purchased"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"  # never came: the hold lapsed while booked
    EXPIRED = "expired"  # came, but nothing was recorded before the hold lapsed


TRY_ON_TRANSITIONS: dict[str, frozenset[str]] = {
    "booked": frozenset({"checked_in", "purchased", "partially_purchased", "declined", "cancelled", "no_show"}),
    "checked_in": frozenset({"purchased", "partially_purchased", "declined", "expired"}),
    "purchased": frozenset(),
    "partially_purchased": frozenset(),
    "declined": frozenset(),
    "cancelled": frozenset(),
    "no_show": frozenset(),
    "expired": frozenset(),
}
OPEN_STATUSES = ("booked", "checked_in")  # the articles are held


def can_move(current: str, target: str) -> bool:
    return target in TRY_ON_TRANSITIONS.get(current, frozenset())


def lapse_status(status: str) -> str:
    """What a try-on becomes when its hold runs out: a booking never checked in is a no-show."""
    return "no_show" if status == "booked" else "expired"


@dataclass(frozen=True)
class Slot:
    starts_at: datetime  # UTC
    ends_at: datetime


def _at(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    wall = datetime.combine(day, time()) + timedelta(minutes=minutes)
    return wall.replace(tzinfo=zone).astimezone(UTC)


def day_slots(opening_hours: OpeningHours, day: date, timezone: str, slot_minutes: int) -> list[Slot]:
    """The try-on slots of a store's local ``day``: each opening interval cut into ``slot_minutes`` pieces
    from its opening time, the last one ending by closing time. A closed day has none."""
    zone = ZoneInfo(timezone)
    slots = []
    for opens, closes in sorted((minutes_of(a), minutes_of(b)) for a, b in opening_hours.get(DAYS[day.weekday()], ())):
        for start in range(opens, closes - slot_minutes + 1, slot_minutes):
            slots.append(Slot(_at(day, start, zone), _at(day, start + slot_minutes, zone)))
    return slots


def local_day(moment: datetime, timezone: str) -> date:
    """The store's calendar date at ``moment``."""
    return moment.astimezone(ZoneInfo(timezone)).date()


def find_slot(slots: Sequence[Slot], starts_at: datetime) -> Slot | None:
    """The slot that starts exactly at ``starts_at`` (any time zone), or ``None``."""
    return next((slot for slot in slots if slot.starts_at == starts_at), None)


def hold_until(slot: Slot, grace_minutes: int) -> datetime:
    """Articles stay held until the slot ends plus the grace period (a customer running late)."""
    return slot.ends_at + timedelta(minutes=grace_minutes)


def booking_problem(slot_start: datetime, *, now: datetime, today: date, day: date, horizon_days: int) -> str | None:
    """Why a slot cannot be booked now (``None`` when it can): it has started, or lies beyond the horizon."""
    if slot_start <= now:
        return "this slot has already started"
    if day > today + timedelta(days=horizon_days):
        return f"slots can be booked at most {horizon_days} days ahead"
    return None


def remaining(capacity: int, booked: int) -> int:
    return max(0, capacity - booked)


def purchase_problems(held: Mapping[str, int], bought: Mapping[str, int]) -> list[dict[str, object]]:
    """Lines of a purchase that were not held for this try-on, or in greater quantity than held."""
    return [{"sku": sku, "requested": quantity, "held": held.get(sku, 0)}
            for sku, quantity in sorted(bought.items()) if quantity > held.get(sku, 0)]


def purchase_outcome(held: Mapping[str, int], bought: Mapping[str, int]) -> str:
    """``purchased`` when every held unit was bought, else ``partially_purchased``."""
    return "purchased" if all(bought.get(sku, 0) >= quantity for sku, quantity in held.items()) \
        else "partially_purchased"


def merge_lines(lines: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Units per SKU (the same article may be scanned twice)."""
    merged: dict[str, int] = {}
    for sku, quantity in lines:
        merged[sku] = merged.get(sku, 0) + quantity
    return merged
