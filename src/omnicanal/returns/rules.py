"""Return rules — what may still be returned, what it refunds, and the return's state machine. Pure.

Refunds come from what the customer actually paid: each order line's ``line_total`` (its unit price *after*
promotions, snapshotted on the order), with any order-level discount (an order total below the sum of its
lines) spread over the lines pro rata. A line's refund is its paid amount's share for the units returned so
far, minus what earlier returns of that line already refund — so any sequence of partial returns refunds
exactly what was paid once every unit is back, and never more. Orders carry no shipping charge yet; when they
do, the policy is to refund it only with the return that completes the order (see :func:`refund_for_line`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class ReturnStatus(StrEnum):
    REQUESTED = "requested"  # announced (a parcel on its way to the returns location)
    RECEIVED = "received"  # the goods are back: restocked or put in the damaged bin
    REFUNDED = "refunded"  # the payment provider was told to pay back (the hub moves no money)
    CANCELLED = "cancelled"  # an announced return that never came


class ReturnMethod(StrEnum):
    IN_STORE = "in_store"
    MAIL = "mail"


class Condition(StrEnum):
    SELLABLE = "sellable"
    DAMAGED = "damaged"


RETURN_TRANSITIONS: dict[str, frozenset[str]] = {
    "requested": frozenset({"received", "cancelled"}),
    "received": frozenset({"refunded"}),
    "refunded": frozenset(),
    "cancelled": frozenset(),
}
# Orders whose goods are in the customer's hands (``collected``: click & collect, once it exists).
RETURNABLE_ORDER_STATUSES = frozenset({"delivered", "completed", "collected"})
# Returns that count against what may still be returned (a cancelled one gives its units back).
LIVE_STATUSES = ("requested", "received", "refunded")
DAMAGED_BIN_SUFFIX = "-DAMAGED"
MAX_CODE_LENGTH = 40


def can_move(current: str, target: str) -> bool:
    return target in RETURN_TRANSITIONS.get(current, frozenset())


def damaged_bin_code(location: str) -> str:
    """The pseudo-location that holds a location's damaged returns: ``PAR-RIV`` → ``PAR-RIV-DAMAGED``."""
    return location[: MAX_CODE_LENGTH - len(DAMAGED_BIN_SUFFIX)] + DAMAGED_BIN_SUFFIX


@dataclass(frozen=True)
class BoughtLine:
    """One order line as bought: ``paid`` is what the customer paid for all its units."""

    line_no: int
    sku: str
    quantity: int
    paid: int


@dataclass(frozen=True)
class WantedLine:
    """A line of a return request: an order line named by ``line_no``, or by ``sku``."""

    quantity: int
    condition: str
    sku: str | None = None
    line_no: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ReturnedUnits:
    """So far, per order line: units in live returns and what those returns refund."""

    quantity: int = 0
    refunded: int = 0


@dataclass(frozen=True)
class AllocatedLine:
    line_no: int
    sku: str
    quantity: int
    condition: str
    reason: str | None
    refund: int


def paid_per_line(line_totals: Mapping[int, int], order_total: int) -> dict[int, int]:
    """What was paid for each line: its total, less its pro-rata share of an order-level discount
    (``order_total`` below the lines' sum), shares rounded by largest remainder so they add up exactly."""
    gross = sum(line_totals.values())
    discount = gross - order_total
    if discount <= 0 or gross == 0:
        return dict(line_totals)
    shares = {n: discount * total // gross for n, total in line_totals.items()}
    remainders = sorted(line_totals, key=lambda n: (-(discount * line_totals[n] % gross), n))
    for n in remainders[: discount - sum(shares.values())]:
        shares[n] += 1
    return {n: total - shares[n] for n, total in line_totals.items()}


def refund_for_line(line: BoughtLine, returned: ReturnedUnits, quantity: int) -> int:
    """The refund for ``quantity`` more units of ``line``: the paid amount's share of every unit returned so
    far, less what earlier returns refund. Never negative; all units back ⇒ exactly ``line.paid`` in all."""
    share = line.paid * (returned.quantity + quantity) // line.quantity
    return max(0, share - returned.refunded)


@dataclass(frozen=True)
class Allocation:
    lines: list[AllocatedLine]
    unknown: list[dict[str, object]]  # lines not on the order
    excess: list[dict[str, object]]  # more units than may still be returned

    @property
    def refund(self) -> int:
        return sum(line.refund for line in self.lines)


def allocate_return(
    bought: Sequence[BoughtLine], returned: Mapping[int, ReturnedUnits], wanted: Sequence[WantedLine],
) -> Allocation:
    """Match the wanted lines to the order's lines and price them.

    A wanted line by ``sku`` takes units from the order's lines of that SKU in line order. ``unknown`` lists
    what is not on the order; ``excess`` what asks for more than was bought less what was already returned.
    """
    lines_by_no = {line.line_no: line for line in bought}
    remaining = {n: line.quantity - returned.get(n, ReturnedUnits()).quantity for n, line in lines_by_no.items()}
    so_far = {n: returned.get(n, ReturnedUnits()) for n in lines_by_no}
    allocated: list[AllocatedLine] = []
    unknown: list[dict[str, object]] = []
    excess: list[dict[str, object]] = []
    for want in wanted:
        candidates = _candidates(bought, want)
        if not candidates:
            unknown.append({"sku": want.sku, "line_no": want.line_no})
            continue
        left = want.quantity
        for line in candidates:
            take = min(left, remaining[line.line_no])
            if take <= 0:
                continue
            refund = refund_for_line(line, so_far[line.line_no], take)
            so_far[line.line_no] = ReturnedUnits(so_far[line.line_no].quantity + take,
                                                 so_far[line.line_no].refunded + refund)
            remaining[line.line_no] -= take
            left -= take
            allocated.append(AllocatedLine(line.line_no, line.sku, take, want.condition, want.reason, refund))
        if left:
            excess.append({"sku": candidates[0].sku, "line_no": want.line_no, "requested": want.quantity,
                           "returnable": want.quantity - left})
    return Allocation(allocated, unknown, excess)


def _candidates(bought: Sequence[BoughtLine], want: WantedLine) -> list[BoughtLine]:
    if want.line_no is not None:
        return [line for line in bought if line.line_no == want.line_no and want.sku in (None, line.sku)]
    return [line for line in bought if line.sku == want.sku]
