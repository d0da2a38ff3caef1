"""Twelve months of the demo's orders on every channel, and what they did to the stock.

Trading follows the calendar (weekend peaks, soldes in January and July, Black Friday, Christmas). Till
sales are ``carry_out`` and ``completed``; online orders ship from the warehouse or a shipping store and
are ``delivered``, ``shipped`` or — the last day or two — still ``confirmed`` with their stock reserved.
Every order's totals are the sums of its lines, priced by the catalogue's own pricing rule.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from typing import Any, TypeVar

from omnicanal.catalog.rules import PromotionTerms, effective_price
from omnicanal.demo import seasons
from omnicanal.demo.catalog import CatalogPlan, Item
from omnicanal.demo.customers import CustomerPlan
from omnicanal.demo.ids import demo_id
from omnicanal.demo.reference import CHANNELS, SITES, WAREHOUSE, WEEK, ChannelSpec, Site

BASKET_SIZES, BASKET_CUMULATIVE = (1, 2, 3, 4), list(accumulate((50, 30, 14, 6)))
QUANTITIES, QUANTITY_CUMULATIVE = (1, 2, 3), list(accumulate((85, 12, 3)))
CANCELLED_SHARE = 0.03
T = TypeVar("T")
SHIP_FROM_STORE_SHARE = 0.15


@dataclass
class StockBook:
    """What the orders did to each (sku, location): units gone per month, units still reserved."""

    sold: dict[tuple[str, str, str], int] = field(default_factory=lambda: defaultdict(int))
    reserved: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    reservations: list[dict[str, Any]] = field(default_factory=list)  # one ledger row per open line


@dataclass(frozen=True)
class Pool:
    """Products to draw from, the best sellers more often."""

    items: list[Item]
    cumulative: list[float]

    @classmethod
    def of(cls, items: list[Item]) -> Pool:
        return cls(items, list(accumulate(item.popularity for item in items)))

    def basket(self, rng: random.Random, size: int) -> list[Item]:
        picked = rng.choices(self.items, cum_weights=self.cumulative, k=size)
        unique = {item.sku: item for item in picked}
        return list(unique.values())


@dataclass
class OrderPlanner:
    rng: random.Random
    now: datetime
    catalog: CatalogPlan
    customers: CustomerPlan
    currency: str
    book: StockBook = field(default_factory=StockBook)

    def __post_init__(self) -> None:
        self.pools = {code: Pool.of(items) for code, items in self.catalog.assortment.items()}
        self.stores = [site for site in SITES if site.kind == "store"]
        self.shipping_stores = [site for site in self.stores if site.ships]
        self.customer_cumulative = list(accumulate(self.customers.weights))
        self.store_customer_cumulative = {
            code: list(accumulate(self.customers.weights[i] for i in indexes))
            for code, indexes in self.customers.by_store.items()
        }
        self.held = {code: {item.sku for item in items} for code, items in self.catalog.assortment.items()}
        self.open_cache: dict[date, tuple[list[Site], list[float]]] = {}
        self.references: dict[str, int] = defaultdict(int)
        self.price_cache: dict[tuple[str, str, tuple[str, ...]], tuple[int, int, str | None]] = {}

    # --- the calendar ---------------------------------------------------------------------------------
    def days(self, total: int) -> list[tuple[date, int]]:
        """The 365 trading days up to today and how many orders each gets (summing to ``total``)."""
        today = self.now.astimezone(seasons.PARIS).date()
        days = [today - timedelta(days=offset) for offset in range(364, -1, -1)]
        weights = [seasons.trading_factor(day) * (0.85 + 0.3 * n / 365) for n, day in enumerate(days)]
        scale = total / sum(weights)
        counts, carry = [], 0.0
        for weight in weights:
            carry += weight * scale
            counts.append(int(carry))
            carry -= int(carry)
        counts[-1] += total - sum(counts)
        return list(zip(days, counts, strict=True))

    def chunks(self, total: int, size: int) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
        """Orders and their lines, day by day, in chunks of about ``size`` orders."""
        orders: list[dict[str, Any]] = []
        lines: list[dict[str, Any]] = []
        for day, count in self.days(total):
            channels, shares = self._channel_mix(day)
            for spec in self.rng.choices(channels, shares, k=count):
                self._add_order(day, spec, orders, lines)
            if len(orders) >= size:
                yield orders, lines
                orders, lines = [], []
        if orders:
            yield orders, lines

    def _channel_mix(self, day: date) -> tuple[list[ChannelSpec], list[float]]:
        open_weight = sum(s.weight for s in self._open_stores(day)) / sum(s.weight for s in self.stores)
        shares = [spec.share * (open_weight if spec.fulfillment == "carry_out" or spec.kind == "kiosk" else 1)
                  for spec in CHANNELS]
        return list(CHANNELS), shares

    def _open_stores(self, day: date) -> list[Site]:
        return self._open(day)[0]

    def _open(self, day: date) -> tuple[list[Site], list[float]]:
        """The stores open on ``day`` and their cumulative traffic weights."""
        if day not in self.open_cache:
            stores = [] if seasons.stores_closed(day) else [
                s for s in self.stores if day.weekday() < 6 or s.open_on_sunday]
            self.open_cache[day] = (stores, list(accumulate(s.weight for s in stores)))
        return self.open_cache[day]

    # --- one order --------------------------------------------------------------------------------------
    def _add_order(self, day: date, spec: ChannelSpec, orders: list[dict[str, Any]],
                   lines: list[dict[str, Any]]) -> None:
        rng = self.rng
        size = pick(rng, BASKET_SIZES, BASKET_CUMULATIVE)
        if spec.fulfillment == "carry_out":
            stores, cumulative = self._open(day)
            store = pick(rng, stores, cumulative)
            at = self._local_time(day, store.opening_hours.get(WEEK[day.weekday()]), peak=16.5)
            basket, site = self.pools[store.code].basket(rng, size), store.code
        else:
            at = self._online_time(day, spec)
            basket = self.pools[WAREHOUSE].basket(rng, size)
            site = self._ship_site(basket)
        order = self._order_row(spec, at, site if spec.fulfillment == "carry_out" else None)
        self._price(order, basket, spec.code, at, site, lines)
        self._settle(order, lines[-len(basket):], at)
        orders.append(order)

    def _local_time(self, day: date, opening: list[list[str]] | None, *, peak: float) -> datetime:
        start, end = (10.0, 19.5) if not opening else (_hour(opening[0][0]), _hour(opening[-1][1]))
        hour = self.rng.triangular(start, end, min(max(peak, start), end))
        return self._instant(day, hour)

    def _online_time(self, day: date, spec: ChannelSpec) -> datetime:
        if spec.kind == "kiosk":
            return self._instant(day, self.rng.triangular(10.0, 19.5, 16.0))
        return self._instant(day, self.rng.triangular(6.0, 24.0, 21.0))

    def _instant(self, day: date, hour: float) -> datetime:
        seconds = min(int(hour * 3600), 86_399)
        local = datetime.combine(day, time(seconds // 3600, seconds % 3600 // 60, seconds % 60),
                                 tzinfo=seasons.PARIS)
        at = local.astimezone(UTC)
        return at if at <= self.now else self.now - timedelta(minutes=self.rng.randint(1, 180))

    def _ship_site(self, basket: list[Item]) -> str:
        if self.rng.random() < SHIP_FROM_STORE_SHARE:
            store = self.rng.choice(self.shipping_stores)
            held = self.held[store.code]
            if all(item.sku in held for item in basket):
                return store.code
        return WAREHOUSE

    def _order_row(self, spec: ChannelSpec, at: datetime, location: str | None) -> dict[str, Any]:
        self.references[spec.code] += 1
        prefix = location or spec.code.upper()[:3]
        return {
            "id": demo_id("ord", at, self.rng), "channel_code": spec.code, "location_code": location,
            "customer_id": self._customer(spec, location),
            "external_reference": f"{prefix}-{self.references[spec.code]:08d}",
            "fulfillment": spec.fulfillment, "status": "", "currency": self.currency, "subtotal": 0,
            "discount_total": 0, "total": 0, "payment_status": "paid", "payment_reference": None,
            "created_at": at, "updated_at": at,
        }

    def _customer(self, spec: ChannelSpec, store: str | None) -> str | None:
        rng = self.rng
        if not self.customers.ids:
            return None
        if spec.kind == "marketplace" or (spec.kind in ("pos", "kiosk") and rng.random() < 0.45):
            return None  # the marketplace keeps its customers; many till sales are anonymous
        if store and self.customers.by_store.get(store) and rng.random() < 0.8:
            return self.customers.ids[pick(rng, self.customers.by_store[store], self.store_customer_cumulative[store])]
        return pick(rng, self.customers.ids, self.customer_cumulative)

    # --- prices and totals ------------------------------------------------------------------------------
    def _price(self, order: dict[str, Any], basket: list[Item], channel: str, at: datetime, site: str,
               lines: list[dict[str, Any]]) -> None:
        promotions = [p for p in self.catalog.terms if p.starts_at <= at < p.ends_at
                      and (not p.channels or channel in p.channels)]
        for line_no, item in enumerate(basket, start=1):
            list_price, unit_price, promotion_id = self._unit_price(item, channel, at, promotions)
            quantity = pick(self.rng, QUANTITIES, QUANTITY_CUMULATIVE)
            lines.append({
                "order_id": order["id"], "line_no": line_no, "sku": item.sku, "quantity": quantity,
                "location_code": site, "unit_list_price": list_price, "unit_price": unit_price,
                "promotion_id": promotion_id, "line_total": unit_price * quantity,
            })
            order["subtotal"] += list_price * quantity
            order["total"] += unit_price * quantity
        order["discount_total"] = order["subtotal"] - order["total"]

    def _unit_price(self, item: Item, channel: str, at: datetime,
                    promotions: list[PromotionTerms]) -> tuple[int, int, str | None]:
        key = (item.sku, channel, tuple(p.id for p in promotions))
        cached = self.price_cache.get(key)
        if cached is None:
            quote = effective_price(
                sku=item.sku, channel=channel, currency=self.currency, base_price=item.base_price,
                categories=item.categories, override=self.catalog.overrides.get((item.sku, channel)),
                promotions=promotions, at=at)
            cached = self.price_cache[key] = (quote.list_price, quote.price, quote.promotion_id)
        return cached

    # --- status and stock -------------------------------------------------------------------------------
    def _settle(self, order: dict[str, Any], lines: list[dict[str, Any]], at: datetime) -> None:
        if order["fulfillment"] == "carry_out":
            order["status"] = "completed"
            self._consume(lines, at)
            return
        rng = self.rng
        if rng.random() < CANCELLED_SHARE:
            order.update(status="cancelled", payment_status="refunded",
                         updated_at=min(self.now, at + timedelta(hours=rng.uniform(0.5, 20))))
            return
        shipped = at + timedelta(hours=rng.uniform(18, 48))
        delivered = shipped + timedelta(hours=rng.uniform(30, 96))
        order["payment_reference"] = f"psp_{rng.getrandbits(48):012x}"
        if delivered <= self.now:
            order.update(status="delivered", updated_at=delivered)
            self._consume(lines, shipped)
        elif shipped <= self.now:
            order.update(status="shipped", updated_at=shipped)
            self._consume(lines, shipped)
        else:
            order.update(status="confirmed", payment_status="paid" if order["channel_code"] == "marketplace"
                         else "authorized")
            self._reserve(lines, at)

    def _consume(self, lines: list[dict[str, Any]], at: datetime) -> None:
        month = f"{at.year:04d}-{at.month:02d}"
        for line in lines:
            self.book.sold[(line["sku"], line["location_code"], month)] += line["quantity"]

    def _reserve(self, lines: list[dict[str, Any]], at: datetime) -> None:
        for line in lines:
            self.book.reserved[(line["sku"], line["location_code"])] += line["quantity"]
            self.book.reservations.append({
                "sku": line["sku"], "location_code": line["location_code"], "kind": "reservation",
                "on_hand_delta": 0, "reserved_delta": line["quantity"], "reference": line["order_id"],
                "reason": None, "created_at": at,
            })


def pick(rng: random.Random, items: Sequence[T], cumulative: Sequence[float]) -> T:
    """One of ``items``, drawn by cumulative weights (what ``rng.choices(..., k=1)`` does, without its lists)."""
    return items[bisect(cumulative, rng.random() * cumulative[-1], 0, len(cumulative) - 1)]


def _hour(text: str) -> float:
    hours, minutes = text.split(":")
    return int(hours) + int(minutes) / 60
