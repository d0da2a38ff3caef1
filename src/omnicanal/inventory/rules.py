"""Stock rules — pure functions over numbers and movements.

ATP (available to promise) = on hand − reserved − safety stock − the channel's safety buffer, never below
zero. The ledger is the truth: each movement kind moves on-hand and/or reserved quantities in a fixed
direction, and a level is the sum of its movements.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class MovementKind(StrEnum):
    RECEIPT = "receipt"
    SALE = "sale"
    RETURN = "return"
    ADJUSTMENT = "adjustment"
    COUNT = "count"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    RESERVATION = "reservation"
    RELEASE = "release"


def available_to_promise(*, on_hand: int, reserved: int, safety: int, buffer: int = 0) -> int:
    """Units that may still be promised; 0 when the location is short."""
    return max(0, on_hand - reserved - safety - buffer)


def can_reserve(*, on_hand: int, reserved: int, safety: int, buffer: int, quantity: int) -> bool:
    """The condition of the reserving UPDATE (``on_hand - reserved - safety - buffer >= quantity``)."""
    return quantity > 0 and on_hand - reserved - safety - buffer >= quantity


def is_discrepancy(*, on_hand: int, reserved: int) -> bool:
    """The system's count is impossible: negative on hand, or more reserved than is there."""
    return on_hand < 0 or reserved > on_hand


@dataclass(frozen=True)
class Movement:
    sku: str
    location: str
    kind: MovementKind
    on_hand_delta: int = 0
    reserved_delta: int = 0


@dataclass(frozen=True)
class Level:
    on_hand: int = 0
    reserved: int = 0


def rebuild_levels(movements: Iterable[Movement]) -> dict[tuple[str, str], Level]:
    """Levels per (sku, location) as the ledger says they are."""
    levels: dict[tuple[str, str], Level] = {}
    for m in movements:
        old = levels.get((m.sku, m.location), Level())
        levels[(m.sku, m.location)] = Level(old.on_hand + m.on_hand_delta, old.reserved + m.reserved_delta)
    return levels


# The states a reservation (a hold outside an order) may move between.
RESERVATION_TRANSITIONS: dict[str, frozenset[str]] = {
    "active": frozenset({"consumed", "released", "expired"}),
    "consumed": frozenset(),
    "released": frozenset(),
    "expired": frozenset(),
}
