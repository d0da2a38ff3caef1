"""Order rules — the state machines and the totals. Pure (where a shipped order leaves from: omnicanal.routing)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from omnicanal.catalog.rules import PriceQuote

ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    # ship and pickup orders: stock reserved, awaiting dispatch or preparation
    "confirmed": frozenset({"shipped", "partially_shipped", "preparing", "awaiting_customer", "cancelled"}),
    # ship: a location rejected lines no other location could send; they wait for stock (routing batch)
    "backordered": frozenset({"confirmed", "cancelled"}),
    "partially_shipped": frozenset({"shipped"}),  # some parcels have left, not all
    "shipped": frozenset({"delivered"}),
    "delivered": frozenset(),
    "preparing": frozenset({"ready", "awaiting_customer", "cancelled"}),  # pickup: the store is picking the goods
    # pickup: the store refused the order; the customer chooses another store or delivery (confirmed again)
    # or cancellation
    "awaiting_customer": frozenset({"confirmed", "cancelled"}),
    "ready": frozenset({"collected", "expired", "cancelled"}),  # pickup: waiting for the customer
    "collected": frozenset(),
    "expired": frozenset(),  # pickup: not collected within the store's holding period
    "completed": frozenset(),  # a till sale: paid and handed over on the spot
    "cancelled": frozenset(),
}

PAYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"authorized", "paid", "failed"}),
    "authorized": frozenset({"paid", "failed"}),
    "failed": frozenset({"authorized", "paid"}),
    "paid": frozenset({"refunded"}),
    "refunded": frozenset(),
}

# From which states an action starts, and where it leads.
ACTIONS: dict[str, tuple[str, str]] = {
    "cancel": ("confirmed", "cancelled"),
    "ship": ("confirmed", "shipped"),
    "deliver": ("shipped", "delivered"),
}


def can_move(transitions: Mapping[str, frozenset[str]], current: str, target: str) -> bool:
    return target in transitions.get(current, frozenset())


# The statuses only one kind of fulfilment reaches: a pickup order is never shipped, a parcel never collected.
FULFILLMENT_ONLY: dict[str, frozenset[str]] = {
    "ship": frozenset({"backordered", "partially_shipped", "shipped", "delivered"}),
    "pickup": frozenset({"preparing", "awaiting_customer", "ready", "collected", "expired"}),
}


def may_become(fulfillment: str, current: str, target: str) -> bool:
    """Whether an order of this fulfilment may move from ``current`` to ``target``."""
    foreign = any(target in only for kind, only in FULFILLMENT_ONLY.items() if kind != fulfillment)
    return not foreign and can_move(ORDER_TRANSITIONS, current, target)


def action_sources(action: str) -> frozenset[str]:
    """The statuses from which an action starts: an order may be cancelled from any status that allows it."""
    source, target = ACTIONS[action]
    if action == "cancel":
        return frozenset(state for state, targets in ORDER_TRANSITIONS.items() if target in targets)
    return frozenset({source})


@dataclass(frozen=True)
class PricedLine:
    line_no: int
    sku: str
    quantity: int
    unit_list_price: int
    unit_price: int
    promotion_id: str | None

    @property
    def line_total(self) -> int:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Totals:
    subtotal: int
    discount_total: int
    total: int


def price_lines(lines: Sequence[tuple[str, int]], quotes: Mapping[str, PriceQuote]) -> list[PricedLine]:
    """Snapshot each line's unit price from the channel's quote at the time of the order."""
    return [
        PricedLine(n, sku, quantity, quotes[sku].list_price, quotes[sku].price, quotes[sku].promotion_id)
        for n, (sku, quantity) in enumerate(lines, start=1)
    ]


def order_totals(lines: Sequence[PricedLine]) -> Totals:
    subtotal = sum(line.unit_list_price * line.quantity for line in lines)
    total = sum(line.line_total for line in lines)
    return Totals(subtotal=subtotal, discount_total=subtotal - total, total=total)


def demand_by_sku(lines: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Units wanted per SKU (a till may scan the same article on two lines)."""
    demand: dict[str, int] = {}
    for sku, quantity in lines:
        demand[sku] = demand.get(sku, 0) + quantity
    return demand
