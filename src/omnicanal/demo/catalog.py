"""The demo catalogue: categories, products with French names, channel prices (most with a reason, a few
without — the price audit should find those) and promotions (seasonal ones and online-only ones)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from omnicanal.catalog.rules import PriceOverride, PromotionTerms, category_lineage
from omnicanal.demo import seasons
from omnicanal.demo.ids import demo_id
from omnicanal.demo.reference import COLLECTIONS, COLOURS, FAMILIES, ROOTS, SITES, Family
from omnicanal.kit.money import percent_of

MARKETPLACE_FEES = "Commission de la place de marché (+5 %)"
APP_MEMBER_PRICE = "Prix membre de l'application (-10 %)"
UNEXPLAINED_WEB_PRICES = 3  # channel prices with no reason: the price audit must flag them
UNPROMOTED_ON_WEB = frozenset({"home.lighting", "home.furniture"})
FLAGSHIP = "LUM-00001"  # always sold on the marketplace at its own price: the CLI's curl examples show it
IMAGE_HOST = "https://img.maison-lumiere.example/produits"


@dataclass(frozen=True)
class Item:
    """A product as the order generator needs it."""

    sku: str
    base_price: int
    categories: frozenset[str]
    popularity: float


@dataclass
class CatalogPlan:
    categories: list[dict[str, Any]]
    products: list[dict[str, Any]]
    channel_prices: list[dict[str, Any]]
    promotions: list[dict[str, Any]]
    items: list[Item]
    overrides: dict[tuple[str, str], PriceOverride]
    terms: list[PromotionTerms]
    assortment: dict[str, list[Item]] = field(default_factory=dict)  # location code → items it holds


def plan_catalog(rng: random.Random, *, products: int, now: datetime, currency: str) -> CatalogPlan:
    """Everything the catalogue tables will hold, decided by ``rng`` alone."""
    parents: dict[str, str | None] = {code: None for code, _ in ROOTS}
    parents |= {f.code: f.code.split(".")[0] for f in FAMILIES}
    names = dict(ROOTS) | {f.code: f.name for f in FAMILIES}
    categories = [{"code": code, "name": names[code], "parent_code": parent} for code, parent in parents.items()]
    rows, items = _products(rng, products, now, currency, parents)
    prices, overrides = _channel_prices(rng, items, now)
    promotions, terms = _promotions(rng, now)
    plan = CatalogPlan(categories, rows, prices, promotions, items, overrides, terms)
    plan.assortment = _assortment(rng, items)
    return plan


def _family_counts(total: int) -> list[tuple[Family, int]]:
    """``total`` products shared by family weight (largest remainders); lighting, the flagship's, gets one."""
    weights = sum(f.weight for f in FAMILIES)
    shares = [total * f.weight / weights for f in FAMILIES]
    counts = [int(share) for share in shares]
    by_remainder = sorted(range(len(shares)), key=lambda i: counts[i] - shares[i])
    for i in by_remainder[:total - sum(counts)]:
        counts[i] += 1
    if total and not counts[0]:
        counts[counts.index(max(counts))] -= 1
        counts[0] = 1
    return list(zip(FAMILIES, counts, strict=True))


def _products(
    rng: random.Random, total: int, now: datetime, currency: str, parents: dict[str, str | None],
) -> tuple[list[dict[str, Any]], list[Item]]:
    rows: list[dict[str, Any]] = []
    items: list[Item] = []
    for family, count in _family_counts(total):
        lineage = category_lineage(family.code, parents)
        for n in range(1, count + 1):
            sku = f"{family.prefix}-{n:05d}"
            row = _product_row(rng, family, sku, now, currency)
            rows.append(row)
            # A long tail: a few best sellers, many slow movers.
            popularity = family.popularity * rng.paretovariate(1.2)
            items.append(Item(sku, row["base_price"], lineage, popularity))
    return rows, items


def _product_row(rng: random.Random, family: Family, sku: str, now: datetime, currency: str) -> dict[str, Any]:
    noun, material, colour = rng.choice(family.nouns), rng.choice(family.materials), rng.choice(COLOURS)
    collection = rng.choice(COLLECTIONS)
    low, high = family.price_range
    price = rng.randint(low, high) * 100 - rng.choice((10, 10, 1, 0))
    created = now - timedelta(days=rng.randint(400, 900), minutes=rng.randint(0, 1439))
    return {
        "sku": sku, "name": f"{noun} {collection} en {material}, {colour}",
        "description": (f"{noun} de la collection {collection}, en {material} coloris {colour}. "
                        "Dessiné par le studio Maison Lumière."),
        "category_code": family.code,
        "attributes": {"colour": colour, "size": rng.choice(family.sizes), "material": material,
                       "collection": collection},
        "image_urls": [f"{IMAGE_HOST}/{sku}-1.jpg", f"{IMAGE_HOST}/{sku}-2.jpg"],
        "base_price": price, "currency": currency, "active": rng.random() > 0.02,
        "created_at": created, "updated_at": created + timedelta(days=rng.randint(0, 300)),
    }


def _channel_prices(
    rng: random.Random, items: list[Item], now: datetime,
) -> tuple[list[dict[str, Any]], dict[tuple[str, str], PriceOverride]]:
    overrides: dict[tuple[str, str], PriceOverride] = {}
    for item in items:
        if rng.random() < 0.15 or item.sku == FLAGSHIP:
            overrides[(item.sku, "marketplace")] = PriceOverride(percent_of(item.base_price, 10_500), MARKETPLACE_FEES)
        elif rng.random() < 0.04:
            overrides[(item.sku, "app")] = PriceOverride(percent_of(item.base_price, 9_000), APP_MEMBER_PRICE)
    # From families no web promotion covers (bar Black Friday), so that the audit sees the bare difference.
    plain = [item for item in items if item.categories & UNPROMOTED_ON_WEB
             and not any((item.sku, c) in overrides for c in ("app", "marketplace"))]
    for item in rng.sample(plain, min(UNEXPLAINED_WEB_PRICES, len(plain))):
        # Somebody typed a web price and gave no reason: exactly what the audit is for.
        cut = min(rng.choice((200, 300, 500)), item.base_price // 4)
        overrides[(item.sku, "web")] = PriceOverride(item.base_price - cut)
    rows = [
        {"sku": sku, "channel_code": channel, "amount": o.amount, "reason": o.reason, "valid_from": None,
         "valid_until": None, "updated_at": now - timedelta(days=rng.randint(20, 380))}
        for (sku, channel), o in sorted(overrides.items())
    ]
    return rows, overrides


def _promotion_windows(now: datetime) -> list[tuple[str, int, tuple[date, date], list[str], list[str]]]:
    """(name, percent, local dates, channels, categories) of every promotion of the demo year."""
    today = now.astimezone(seasons.PARIS).date()
    first = today - timedelta(days=366)
    windows: list[tuple[str, int, tuple[date, date], list[str], list[str]]] = []
    for year in (first.year, today.year):
        windows += [
            (f"Soldes d'hiver {year}", 30, seasons.winter_sales(year), [], ["fashion", "home.textiles"]),
            (f"Soldes d'été {year}", 30, seasons.summer_sales(year), [], ["fashion", "home.textiles"]),
            (f"Noël {year} : -15 % déco et arts de la table", 15, seasons.christmas(year), [],
             ["home.decor", "home.tableware"]),
            (f"Black Friday {year} (web et appli)", 20, seasons.black_friday(year), ["web", "app"], []),
            (f"Rentrée {year} : -20 % mode enfant en ligne", 20,
             (date(year, 8, 25), date(year, 9, 8)), ["web", "app"], ["fashion.kids"]),
        ]
    windows.append(("Semaine du linge de maison (web et appli)", 15,
                    (today - timedelta(days=3), today + timedelta(days=11)), ["web", "app"], ["home.textiles"]))
    windows.append(("Luminaires : -10 % sur l'appli", 10,
                    (today - timedelta(days=120), today - timedelta(days=106)), ["app"], ["home.lighting"]))
    return [w for w in windows if first <= w[2][1] and w[2][0] <= today + timedelta(days=60)]


def _promotions(rng: random.Random, now: datetime) -> tuple[list[dict[str, Any]], list[PromotionTerms]]:
    rows: list[dict[str, Any]] = []
    terms: list[PromotionTerms] = []
    for name, percent, (start, end), channels, categories in _promotion_windows(now):
        starts_at, ends_at = seasons.local_midnight(start), seasons.local_midnight(end)
        promotion_id = demo_id("promo", starts_at - timedelta(days=20), rng)
        rows.append({"id": promotion_id, "name": name, "kind": "percent", "value": percent, "starts_at": starts_at,
                     "ends_at": ends_at, "channels": channels, "skus": [], "categories": categories,
                     "active": True, "created_at": starts_at - timedelta(days=20)})
        terms.append(PromotionTerms(promotion_id, "percent", percent, starts_at, ends_at, frozenset(channels),
                                    frozenset(), frozenset(categories)))
    return rows, terms


def _assortment(rng: random.Random, items: list[Item]) -> dict[str, list[Item]]:
    """Which products each site holds: the warehouse everything, a store its share (best sellers first)."""
    ranked = sorted(items, key=lambda item: -item.popularity)
    held: dict[str, list[Item]] = {}
    for site in SITES:
        if site.assortment >= 1:
            held[site.code] = list(items)
            continue
        keep = {item.sku for n, item in enumerate(ranked)
                if rng.random() < site.assortment * (1.3 if n < len(ranked) / 2 else 0.7)}
        held[site.code] = [item for item in items if item.sku in keep]
    return held
