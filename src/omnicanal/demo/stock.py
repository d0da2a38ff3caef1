"""The demo's stock: a level per (sku, location) the site holds — deep at the warehouse, shallow in stores,
some at zero, safety stock on some — and the ledger that explains every level.

The ledger per level: one opening receipt (today's on hand plus everything sold since), one aggregated
sale per month of sales, one reservation per line of an order still waiting to ship. So
``on_hand == Σ on_hand_delta`` and ``reserved == Σ reserved_delta`` hold for every level.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from omnicanal.demo.catalog import CatalogPlan
from omnicanal.demo.orders import StockBook
from omnicanal.demo.reference import SITES

OPENING = "demo-opening"


@dataclass
class StockPlan:
    levels: list[dict[str, Any]]
    movements: list[dict[str, Any]]


def plan_stock(rng: random.Random, catalog: CatalogPlan, book: StockBook, *, now: datetime,
               opened_at: datetime) -> StockPlan:
    """Levels for every product each site holds (and anything it sold or reserved), with their ledger."""
    sold_by_level: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for (sku, location, month), units in book.sold.items():
        sold_by_level[(sku, location)][month] = units
    keys = {(item.sku, code) for code, items in catalog.assortment.items() for item in items}
    keys |= set(sold_by_level) | set(book.reserved)
    kinds = {site.code: site.kind for site in SITES}
    plan = StockPlan([], [])
    for sku, location in sorted(keys):
        reserved = book.reserved.get((sku, location), 0)
        on_hand, safety = _shelf(rng, kinds[location] == "warehouse")
        on_hand = max(on_hand, reserved)
        plan.levels.append({"sku": sku, "location_code": location, "on_hand": on_hand, "reserved": reserved,
                            "safety": safety, "updated_at": now})
        plan.movements += _ledger(sku, location, on_hand, sold_by_level.get((sku, location), {}), now, opened_at)
    plan.movements += book.reservations
    return plan


def _shelf(rng: random.Random, warehouse: bool) -> tuple[int, int]:
    """Today's on hand and safety stock of one level."""
    if warehouse:
        on_hand = 0 if rng.random() < 0.03 else int(rng.lognormvariate(4.6, 0.6))
        return on_hand, rng.randint(3, 10) if rng.random() < 0.2 else 0
    on_hand = 0 if rng.random() < 0.15 else rng.randint(1, 12)
    return on_hand, rng.randint(1, 2) if rng.random() < 0.25 else 0


def _ledger(sku: str, location: str, on_hand: int, sold: dict[str, int], now: datetime,
            opened_at: datetime) -> list[dict[str, Any]]:
    total_sold = sum(sold.values())
    rows = []
    if on_hand + total_sold:
        rows.append(_movement(sku, location, "receipt", on_hand + total_sold, OPENING,
                              "Stock d'ouverture (démo)", opened_at))
    for month, units in sorted(sold.items()):
        rows.append(_movement(sku, location, "sale", -units, f"demo-sales-{month}",
                              "Ventes du mois, agrégées (démo)", min(now, _month_end(month))))
    return rows


def _movement(sku: str, location: str, kind: str, on_hand_delta: int, reference: str, reason: str,
              at: datetime) -> dict[str, Any]:
    return {"sku": sku, "location_code": location, "kind": kind, "on_hand_delta": on_hand_delta,
            "reserved_delta": 0, "reference": reference, "reason": reason, "created_at": at}


def _month_end(month: str) -> datetime:
    year, number = int(month[:4]), int(month[5:])
    first_of_next = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return first_of_next - timedelta(seconds=1)
