"""Pricing rules — pure functions, no session, no clock.

The effective price of a SKU on a channel at a moment is: the channel's own price if a valid override
exists, else the product's base price; then the single best promotion in force for that SKU (its own
scope or any ancestor category) on that channel. Promotions do not stack; a price never goes below zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from omnicanal.kit.money import percent_of

PROMOTION_KINDS = ("percent", "amount")
MAX_AMOUNT = 10**12


@dataclass(frozen=True)
class PriceOverride:
    amount: int
    reason: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    def in_force(self, at: datetime) -> bool:
        return (self.valid_from is None or self.valid_from <= at) and (
            self.valid_until is None or at < self.valid_until)


@dataclass(frozen=True)
class PromotionTerms:
    id: str
    kind: str  # percent | amount
    value: int
    starts_at: datetime
    ends_at: datetime
    channels: frozenset[str] = frozenset()
    skus: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    active: bool = True

    def applies(self, *, sku: str, categories: frozenset[str], channel: str, at: datetime) -> bool:
        if not self.active or not (self.starts_at <= at < self.ends_at):
            return False
        if self.channels and channel not in self.channels:
            return False
        if not self.skus and not self.categories:
            return True
        return sku in self.skus or bool(self.categories & categories)

    def discount_on(self, amount: int) -> int:
        off = percent_of(amount, self.value * 100) if self.kind == "percent" else self.value
        return min(off, amount)


@dataclass(frozen=True)
class PriceQuote:
    sku: str
    channel: str
    currency: str
    list_price: int  # base or channel override, before promotion
    price: int  # what the customer pays per unit
    source: str  # base | channel
    promotion_id: str | None = None
    override_reason: str | None = None

    @property
    def discount(self) -> int:
        return self.list_price - self.price


def category_lineage(code: str | None, parents: Mapping[str, str | None]) -> frozenset[str]:
    """The category and all its ancestors (cycles are cut)."""
    seen: list[str] = []
    while code is not None and code not in seen:
        seen.append(code)
        code = parents.get(code)
    return frozenset(seen)


def would_make_cycle(code: str, new_parent: str | None, parents: Mapping[str, str | None]) -> bool:
    """Whether hanging category ``code`` under ``new_parent`` would make it its own ancestor."""
    return new_parent is not None and code in category_lineage(new_parent, parents)


def promotion_terms_problem(kind: str, value: int, starts_at: datetime, ends_at: datetime) -> str | None:
    """Why these promotion terms cannot be accepted, or ``None`` when they can."""
    if kind not in PROMOTION_KINDS:
        return f"kind must be one of {', '.join(PROMOTION_KINDS)}"
    if kind == "percent" and not 1 <= value <= 100:
        return "a percent promotion takes 1 to 100 percent off"
    if kind == "amount" and not 1 <= value <= MAX_AMOUNT:
        return f"an amount promotion takes 1 to {MAX_AMOUNT} minor units off"
    if ends_at <= starts_at:
        return "ends_at must be after starts_at"
    return None


def effective_price(
    *, sku: str, channel: str, currency: str, base_price: int, categories: frozenset[str],
    override: PriceOverride | None, promotions: Iterable[PromotionTerms], at: datetime,
) -> PriceQuote:
    """The price a customer pays for one unit of ``sku`` on ``channel`` at ``at``.

    Among the promotions that apply, the one taking the most off wins (the lowest id on a tie)."""
    use_override = override is not None and override.in_force(at)
    list_price = override.amount if (override is not None and use_override) else base_price
    best: PromotionTerms | None = None
    best_off = 0
    for promotion in promotions:
        if promotion.applies(sku=sku, categories=categories, channel=channel, at=at):
            off = promotion.discount_on(list_price)
            if off > best_off or (off == best_off and best is not None and off > 0 and promotion.id < best.id):
                best, best_off = promotion, off
    return PriceQuote(
        sku=sku, channel=channel, currency=currency, list_price=list_price, price=list_price - best_off,
        source="channel" if use_override else "base", promotion_id=best.id if best else None,
        override_reason=override.reason if (override is not None and use_override) else None,
    )


@dataclass
class PromotionIndex:
    """Promotions in force, indexed by scope so that pricing many SKUs does not test every promotion on
    every SKU. ``candidates`` is a superset of the promotions that may apply; ``applies`` decides."""

    everywhere: list[PromotionTerms] = field(default_factory=list)
    by_sku: dict[str, list[PromotionTerms]] = field(default_factory=dict)
    by_category: dict[str, list[PromotionTerms]] = field(default_factory=dict)

    @classmethod
    def of(cls, promotions: Iterable[PromotionTerms]) -> PromotionIndex:
        index = cls()
        for promotion in promotions:
            if not promotion.skus and not promotion.categories:
                index.everywhere.append(promotion)
            for sku in promotion.skus:
                index.by_sku.setdefault(sku, []).append(promotion)
            for code in promotion.categories:
                index.by_category.setdefault(code, []).append(promotion)
        return index

    def candidates(self, sku: str, categories: frozenset[str]) -> list[PromotionTerms]:
        found = {p.id: p for p in self.everywhere}
        found.update((p.id, p) for p in self.by_sku.get(sku, ()))
        for code in categories:
            found.update((p.id, p) for p in self.by_category.get(code, ()))
        return list(found.values())

    @property
    def needs_categories(self) -> bool:
        return bool(self.by_category)


@dataclass(frozen=True)
class PriceDiscrepancy:
    """A SKU whose price differs between channels for no recorded reason."""

    sku: str
    prices: dict[str, int]
    unexplained_channels: list[str]
    base_price: int


def is_explained(quote: PriceQuote, base_price: int) -> bool:
    """A channel price may differ from the base price only through a promotion, or a channel override
    whose reason was recorded (an override without a reason stays unexplained even under a promotion)."""
    if quote.price == base_price:
        return True
    reasoned_override = quote.source == "channel" and bool(quote.override_reason)
    list_price_explained = quote.list_price == base_price or reasoned_override
    promotion_explained = quote.price == quote.list_price or quote.promotion_id is not None
    return list_price_explained and promotion_explained


def audit_price_consistency(sku: str, base_price: int, quotes: Sequence[PriceQuote]) -> PriceDiscrepancy | None:
    """Flag ``sku`` when its channel prices differ and a channel's difference from the base price comes
    neither from a promotion nor from an override whose reason was recorded."""
    prices = {q.channel: q.price for q in quotes}
    if len(set(prices.values())) <= 1:
        return None
    unexplained = sorted(q.channel for q in quotes if not is_explained(q, base_price))
    if not unexplained:
        return None
    return PriceDiscrepancy(sku=sku, prices=prices, unexplained_channels=unexplained, base_price=base_price)
