"""Fulfilment rules — pure functions: promised ready times, sourcing a pickup, pickup codes, parcels.

**Promised ready time.** A store prepares an order during its opening hours only: the preparation lead time
(default two hours) is counted in *opening* minutes from the moment the goods are in the store — now, or
when an inbound transfer arrives (default 48 hours of clock time later). The promise is therefore always a
moment when the store is open. A store with no opening hours recorded at all counts clock time.

**Sourcing a pickup.** Units are taken at the pickup store first; what it lacks may come from other
locations (nearest first) by transfer, when the customer accepts the later promise.

**Pickup codes.** 8 characters of Crockford's base-32 (40 random bits; no I, L, O or U to misread), stored
only as a SHA-256 digest salted with the order id. A wrong code is refused; after
:data:`MAX_CODE_ATTEMPTS` wrong codes the order is locked until a new code is issued.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum

from omnicanal.network.rules import DAYS, OpeningHours, minutes_of

DEFAULT_PREPARATION_MINUTES = 120
DEFAULT_HOLDING_DAYS = 5
DEFAULT_TRANSFER_HOURS = 48
MAX_CODE_ATTEMPTS = 5
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8
QR_PREFIX = "omnicanal:pickup"
_MISREAD = str.maketrans({"O": "0", "I": "1", "L": "1"})


# --- promised ready time ------------------------------------------------------------------------------------
def _intervals(hours: OpeningHours, day: str) -> list[tuple[int, int]]:
    return sorted((minutes_of(opens), minutes_of(closes)) for opens, closes in hours.get(day, ()))


def has_hours(hours: OpeningHours) -> bool:
    return any(hours.get(day) for day in DAYS)


def ready_time(hours: OpeningHours, start: datetime, lead_minutes: int) -> datetime | None:
    """The moment ``lead_minutes`` of opening time have passed after ``start`` (a local, tz-aware time).

    The answer is a moment the store is open: work that ends at closing time is ready at the next opening.
    With no opening hours recorded, clock time is counted. ``None`` if the store never opens.
    """
    if not has_hours(hours):
        return start + timedelta(minutes=lead_minutes)
    weekly = sum(closes - opens for day in DAYS for opens, closes in _intervals(hours, day))
    remaining = timedelta(minutes=lead_minutes)
    for ahead in range(7 * (lead_minutes // weekly + 2)):
        day = start.date() + timedelta(days=ahead)
        midnight = datetime.combine(day, time(0), tzinfo=start.tzinfo)
        for opens, closes in _intervals(hours, DAYS[day.weekday()]):
            begin, end = midnight + timedelta(minutes=opens), midnight + timedelta(minutes=closes)
            if end <= start:
                continue
            begin = max(begin, start)
            if remaining < end - begin:
                return begin + remaining
            remaining -= end - begin
    return None


# --- sourcing a pickup --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Allocation:
    """``quantity`` units of ``sku`` taken at ``location`` (the pickup store, or a source of a transfer)."""

    sku: str
    location: str
    quantity: int


@dataclass(frozen=True)
class SourcingPlan:
    allocations: list[Allocation]
    shortages: dict[str, int] = field(default_factory=dict)  # sku -> units nobody can supply

    @property
    def complete(self) -> bool:
        return not self.shortages

    def transferred(self, store: str) -> list[Allocation]:
        return [a for a in self.allocations if a.location != store]


def plan_sourcing(
    demand: Mapping[str, int], *, store: str, available: Mapping[str, Mapping[str, int]],
    distance_to_store: Mapping[str, float], allow_transfer: bool,
) -> SourcingPlan:
    """Take each SKU at ``store`` as far as it has units, then (``allow_transfer``) the rest from the other
    locations, nearest to the store first. ``available[sku][location]`` is the ATP there."""
    allocations, shortages = [], {}
    for sku, wanted in sorted(demand.items()):
        at = available.get(sku, {})
        local = min(wanted, max(0, at.get(store, 0)))
        if local:
            allocations.append(Allocation(sku, store, local))
        missing = wanted - local
        sources = sorted((loc for loc in at if loc != store and at[loc] > 0),
                         key=lambda loc: (distance_to_store.get(loc, float("inf")), loc))
        for source in sources if allow_transfer else ():
            if missing == 0:
                break
            take = min(missing, at[source])
            allocations.append(Allocation(sku, source, take))
            missing -= take
        if missing:
            shortages[sku] = missing
    return SourcingPlan(allocations, shortages)


# --- pickup codes -------------------------------------------------------------------------------------------
def pickup_code(random_bytes: bytes) -> str:
    """An 8-character code from 5 random bytes (the caller draws them with ``secrets``)."""
    value = int.from_bytes(random_bytes[:5], "big")
    return "".join(CODE_ALPHABET[(value >> (5 * n)) & 31] for n in reversed(range(CODE_LENGTH)))


def normalise_code(typed: str) -> str:
    """What the customer typed or the scanner read, as the code: upper case, no spaces or dashes, and the
    letters people confuse with digits read as those digits."""
    return "".join(typed.split()).replace("-", "").upper().translate(_MISREAD)


def code_digest(order_id: str, code: str) -> str:
    return hashlib.sha256(f"{order_id}:{normalise_code(code)}".encode()).hexdigest()


def code_matches(order_id: str, typed: str, digest: str | None) -> bool:
    return digest is not None and hmac.compare_digest(code_digest(order_id, typed), digest)


def qr_payload(order_id: str, code: str) -> str:
    """What the QR code shown by the customer's app holds."""
    return f"{QR_PREFIX}:{order_id}:{code}"


def code_from_scan(order_id: str, scanned: str) -> str:
    """Accept either the bare code or the whole QR payload of this order."""
    prefix = f"{QR_PREFIX}:{order_id}:"
    return scanned[len(prefix):] if scanned.startswith(prefix) else scanned


# --- preparation --------------------------------------------------------------------------------------------
class PickupState(StrEnum):
    """What the store sees of a click & collect order."""

    AWAITING_GOODS = "awaiting_goods"  # confirmed; some units are still to come from another location
    TO_PREPARE = "to_prepare"  # confirmed; every unit is reserved in the store
    PREPARING = "preparing"
    AWAITING_CUSTOMER = "awaiting_customer"  # the store refused the order; the customer chooses what next
    READY = "ready"
    COLLECTED = "collected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


def pickup_state(order_status: str, *, goods_in_store: bool) -> str:
    """The preparation state the store sees, from the order's status and whether every unit is in store."""
    if order_status == "confirmed":
        return "to_prepare" if goods_in_store else "awaiting_goods"
    return order_status


class ShortReason(StrEnum):
    MISSING = "missing"  # not on the shelf: the count was wrong
    DAMAGED = "damaged"  # there, but not fit to sell


class Alternative(StrEnum):
    """What a customer may choose when the pickup store refuses their order."""

    ANOTHER_STORE = "another_store"  # collect it at another store (by transfer when that store lacks units)
    DELIVERY = "delivery"  # have it shipped home: the order becomes a ship order, routed as one
    CANCEL = "cancel"  # give it up: what is held is released and what was paid is due back


class Resolution(StrEnum):
    TRANSFER = "transfer"  # bring the units from another location
    CANCEL = "cancel"  # take the units off the order


def holding_deadline(ready_at: datetime, holding_days: int) -> datetime:
    return ready_at + timedelta(days=holding_days)


# --- parcels ------------------------------------------------------------------------------------------------
def left_to_ship(ordered: Mapping[int, int], shipped: Mapping[int, int]) -> dict[int, int]:
    """Units per order line not yet in a parcel."""
    return {line: quantity - shipped.get(line, 0) for line, quantity in ordered.items()
            if quantity - shipped.get(line, 0) > 0}


def parcel_problems(wanted: Sequence[tuple[int, int]], left: Mapping[int, int]) -> list[dict[str, int]]:
    """The lines of a parcel that ask for more than is left to ship (an unknown line has nothing left)."""
    asked: dict[int, int] = {}
    for line, quantity in wanted:
        asked[line] = asked.get(line, 0) + quantity
    return [{"line_no": line, "requested": quantity, "left": left.get(line, 0)}
            for line, quantity in sorted(asked.items()) if quantity > left.get(line, 0)]
