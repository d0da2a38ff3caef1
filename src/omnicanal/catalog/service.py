"""Catalog use cases: categories, products, and pricing SKUs on a channel (what orders call).

Channel prices, the price audit and promotions live in :mod:`.pricing` and :mod:`.promotions`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, cast, exists, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from omnicanal.catalog.errors import (
    CategoryAlreadyExists,
    CategoryCycle,
    CategoryNotFound,
    CategoryUnknown,
    ChannelUnknown,
    CurrencyMismatch,
    ProductAlreadyExists,
    ProductNotFound,
    ProductNotSellable,
)
from omnicanal.catalog.models import Category, ChannelPrice, Product, Promotion
from omnicanal.catalog.rules import (
    PriceOverride,
    PriceQuote,
    PromotionIndex,
    PromotionTerms,
    category_lineage,
    effective_price,
    would_make_cycle,
)
from omnicanal.events.service import record_event
from omnicanal.kit.clock import utcnow
from omnicanal.kit.money import Money
from omnicanal.kit.prebuilt import Prebuilt, Read
from omnicanal.network.models import Channel

# ---------------------------------------------------------------- categories


def category_data(category: Category) -> dict[str, Any]:
    """The category as event data."""
    return {"code": category.code, "name": category.name, "parent": category.parent_code}


async def get_category(session: AsyncSession, code: str) -> Category:
    """The category ``code``, or :class:`CategoryNotFound`."""
    category = await session.get(Category, code)
    if category is None:
        raise CategoryNotFound(f"No category {code}.")
    return category


async def create_category(session: AsyncSession, *, code: str, name: str, parent: str | None = None) -> Category:
    """Add a category under ``parent`` (or at the top of the tree)."""
    if await session.get(Category, code) is not None:
        raise CategoryAlreadyExists(f"Category {code} already exists.")
    if parent is not None:
        await require_categories(session, [parent])
    category = Category(code=code, name=name, parent_code=parent)
    session.add(category)
    await session.flush()
    await record_event(session, "category.created", code, category_data(category))
    return category


async def update_category(session: AsyncSession, *, code: str, changes: Mapping[str, Any]) -> Category:
    """Rename a category or move it under another parent; a move that would make it its own ancestor
    is refused."""
    category = await get_category(session, code)
    parent = changes.get("parent", category.parent_code)
    if parent != category.parent_code and parent is not None:
        await require_categories(session, [parent])
        if would_make_cycle(code, parent, await category_parents(session, [parent])):
            raise CategoryCycle(f"Category {parent} is {code} or lies under it; {code} cannot move there.")
    name = changes.get("name", category.name)
    if (name, parent) != (category.name, category.parent_code):
        category.name, category.parent_code = name, parent
        await session.flush()
        await record_event(session, "category.updated", code, category_data(category))
    return category


async def list_categories(session: AsyncSession, *, after_code: str | None, limit: int) -> list[Category]:
    """Categories by code, after ``after_code``."""
    query = select(Category).order_by(Category.code).limit(limit)
    if after_code is not None:
        query = query.where(Category.code > after_code)
    return list((await session.scalars(query)).all())


async def require_categories(session: AsyncSession, codes: Iterable[str]) -> None:
    """Refuse (422) a request naming categories that do not exist."""
    wanted = set(codes)
    if not wanted:
        return
    known = set((await session.scalars(select(Category.code).where(Category.code.in_(wanted)))).all())
    if missing := sorted(wanted - known):
        raise CategoryUnknown(f"Unknown categories: {', '.join(missing)}.", categories=missing)


def _lineage_query(*, of_skus: bool = False) -> Any:
    """The categories named ``b_codes`` (or, ``of_skus``, those of the products ``b_skus``) and their ancestors."""
    start = (Category.code.in_(select(Product.category_code).where(Product.sku.in_(bindparam("b_skus",
                                                                                             expanding=True))))
             if of_skus else Category.code.in_(bindparam("b_codes", expanding=True)))
    lineage = select(Category.code, Category.parent_code).where(start).cte("lineage", recursive=True)
    parent = aliased(Category)
    lineage = lineage.union(
        select(parent.code, parent.parent_code).join(lineage, parent.code == lineage.c.parent_code))
    return select(lineage.c.code, lineage.c.parent_code)


# Prebuilt: every order priced under a category promotion asks for this (building the CTE costs ~1 ms).
_LINEAGE = Prebuilt(_lineage_query())
_LINEAGE_OF_SKUS = Prebuilt(_lineage_query(of_skus=True))


async def category_parents(session: AsyncSession, codes: Iterable[str | None]) -> dict[str, str | None]:
    """The parent of each of ``codes`` and of all their ancestors, in one recursive query."""
    start = sorted({code for code in codes if code is not None})
    if not start:
        return {}
    return {code: parent_code for code, parent_code in await _LINEAGE.rows(session, {"b_codes": start})}


def descendants_of(code: str) -> Any:
    """A recursive CTE of ``code`` and every category under it (one column, ``code``)."""
    tree = select(Category.code).where(Category.code == code).cte("subtree", recursive=True)
    child = aliased(Category)
    return tree.union(select(child.code).join(tree, child.parent_code == tree.c.code))


# ---------------------------------------------------------------- products


def product_data(product: Product) -> dict[str, Any]:
    """The product as event data (JSON-able)."""
    return {
        "sku": product.sku, "name": product.name, "description": product.description,
        "category": product.category_code, "attributes": product.attributes, "image_urls": product.image_urls,
        "price": {"amount": product.base_price, "currency": product.currency}, "active": product.active,
    }


async def get_product(session: AsyncSession, sku: str) -> Product:
    """The product with this SKU, or :class:`ProductNotFound`."""
    product = await session.get(Product, sku)
    if product is None:
        raise ProductNotFound(f"No product with SKU {sku}.", skus=[sku])
    return product


def _check_currency(price: Money, currency: str) -> None:
    if price.currency != currency:
        raise CurrencyMismatch(f"Prices are in the retailer's currency {currency}, not {price.currency}.")


async def create_product(
    session: AsyncSession, *, sku: str, name: str, price: Money, currency: str, description: str = "",
    category: str | None = None, attributes: Mapping[str, Any] | None = None, image_urls: Sequence[str] = (),
    active: bool = True,
) -> Product:
    """Add a product to the catalog at its base ``price`` (in the retailer's ``currency``)."""
    _check_currency(price, currency)
    if category is not None:
        await require_categories(session, [category])
    if await session.get(Product, sku) is not None:
        raise ProductAlreadyExists(f"A product with SKU {sku} already exists.")
    now = utcnow()
    product = Product(sku=sku, name=name, description=description, category_code=category,
                      attributes=dict(attributes or {}), image_urls=list(image_urls), base_price=price.amount,
                      currency=price.currency, active=active, created_at=now, updated_at=now)
    session.add(product)
    await session.flush()
    await record_event(session, "product.created", sku, product_data(product))
    return product


PRODUCT_FIELDS = {"name": "name", "description": "description", "category": "category_code",
                  "attributes": "attributes", "image_urls": "image_urls", "active": "active"}


async def update_product(
    session: AsyncSession, *, sku: str, changes: Mapping[str, Any], currency: str,
) -> Product:
    """Change some of a product's fields (``price`` is a :class:`Money` in the retailer's currency).

    Records ``product.updated`` with the fields that really changed, and ``price.changed`` (channel
    ``null``) when the base price moved."""
    product = await get_product(session, sku)
    if changes.get("category") is not None:
        await require_categories(session, [changes["category"]])
    if (price := changes.get("price")) is not None:
        _check_currency(price, currency)
    changed: dict[str, Any] = {}
    for field, column in PRODUCT_FIELDS.items():
        if field in changes and getattr(product, column) != changes[field]:
            setattr(product, column, changes[field])
            changed[field] = changes[field]
    if price is not None and price.amount != product.base_price:
        product.base_price = price.amount
        changed["price"] = {"amount": price.amount, "currency": price.currency}
    if changed:
        product.updated_at = utcnow()
        await session.flush()
        await record_event(session, "product.updated", sku, {"sku": sku, "changes": changed})
        if "price" in changed:
            await record_event(session, "price.changed", sku, {"sku": sku, "channel": None,
                                                                "amount": product.base_price, "removed": False})
    return product


async def list_products(
    session: AsyncSession, *, after_sku: str | None, limit: int, category: str | None = None,
    active: bool | None = None, q: str | None = None,
) -> list[Product]:
    """Products by SKU; ``category`` includes its sub-categories, ``q`` matches name or SKU (any case)."""
    query = select(Product).order_by(Product.sku).limit(limit)
    if after_sku is not None:
        query = query.where(Product.sku > after_sku)
    if category is not None:
        await require_categories(session, [category])
        query = query.where(Product.category_code.in_(select(descendants_of(category).c.code)))
    if active is not None:
        query = query.where(Product.active.is_(active))
    if q:
        query = query.where(or_(Product.name.icontains(q, autoescape=True), Product.sku.icontains(q, autoescape=True)))
    return list((await session.scalars(query)).all())


# ---------------------------------------------------------------- channels and promotions in force


async def require_channels(session: AsyncSession, codes: Iterable[str]) -> None:
    """Refuse (422) a request naming channels that do not exist."""
    wanted = set(codes)
    if not wanted:
        return
    known = set((await session.scalars(select(Channel.code).where(Channel.code.in_(wanted)))).all())
    if missing := sorted(wanted - known):
        raise ChannelUnknown(f"Unknown channels: {', '.join(missing)}.", channels=missing)


def promotion_reaches(session: AsyncSession, channel: str) -> ColumnElement[bool]:
    """SQL: the promotion runs on ``channel`` (its channel list is empty or names it)."""
    if session.get_bind().dialect.name == "postgresql":
        channels = cast(Promotion.channels, JSONB)
        return or_(func.jsonb_array_length(channels) == 0, channels.contains([channel]))
    each = func.json_each(Promotion.channels).table_valued("value")
    return or_(func.json_array_length(Promotion.channels) == 0,
               exists(select(1).select_from(each).where(each.c.value == channel)))


def promotion_terms(promotion: Promotion | Any) -> PromotionTerms:
    """The pricing rule's view of a stored promotion (a model or a row: both carry the same names)."""
    return PromotionTerms(
        id=promotion.id, kind=promotion.kind, value=promotion.value, starts_at=promotion.starts_at,
        ends_at=promotion.ends_at, channels=frozenset(promotion.channels), skus=frozenset(promotion.skus),
        categories=frozenset(promotion.categories), active=promotion.active)


async def promotions_in_force(session: AsyncSession, *, at: datetime, channel: str | None = None,
                              ) -> list[PromotionTerms]:
    """Active promotions whose window contains ``at`` (on ``channel`` when given)."""
    query = select(Promotion).where(Promotion.active.is_(True), Promotion.starts_at <= at, Promotion.ends_at > at)
    if channel is not None:
        query = query.where(promotion_reaches(session, channel))
    return [promotion_terms(p) for p in (await session.scalars(query)).all()]


# ---------------------------------------------------------------- pricing for orders


# Prebuilt statements: pricing runs on every order, and building a statement costs more than running it.
_PRODUCTS_ON_CHANNEL = Prebuilt(
    select(Product.sku, Product.base_price, Product.currency, Product.active, Product.category_code,
           ChannelPrice.amount, ChannelPrice.reason, ChannelPrice.valid_from, ChannelPrice.valid_until)
    .outerjoin(ChannelPrice, (ChannelPrice.sku == Product.sku) & (ChannelPrice.channel_code == bindparam("b_channel")))
    .where(Product.sku.in_(bindparam("b_skus", expanding=True)))
)
_PROMOTIONS_AT = Prebuilt(select(*Promotion.__table__.c).where(
    Promotion.active.is_(True), Promotion.starts_at <= bindparam("b_at"), Promotion.ends_at > bindparam("b_at")))


def price_reads(skus: Sequence[str], *, channel: str, at: datetime) -> list[Read]:
    """What :func:`quote_prices` reads (to send it ahead with others): the products with their price on
    ``channel``, the promotions in force ``at``, and the lineage of the products' categories."""
    wanted = sorted(set(skus))
    return [(_PRODUCTS_ON_CHANNEL, {"b_skus": wanted, "b_channel": channel}), (_PROMOTIONS_AT, {"b_at": at}),
            (_LINEAGE_OF_SKUS, {"b_skus": wanted})]


async def quote_prices(
    session: AsyncSession, *, skus: Sequence[str], channel: str, at: datetime,
) -> dict[str, PriceQuote]:
    """The unit price of each SKU on ``channel`` at ``at`` — what an order placed then pays.

    Raises :class:`ProductNotFound` naming every unknown SKU, then :class:`ProductNotSellable` naming every
    inactive one. The channel is not checked (the caller has). At most three queries: products with
    their channel override, promotions in force, and (only if a promotion targets categories) their categories'
    lineage — sent together when read ahead (:func:`price_reads`)."""
    if not skus:
        return {}
    (products, on_channel), (promotions_at, in_force), (lineage_of, of_skus) = price_reads(skus, channel=channel,
                                                                                          at=at)
    rows = await products.rows(session, on_channel)
    wanted = on_channel["b_skus"]
    if unknown := sorted(set(wanted) - {row.sku for row in rows}):
        raise ProductNotFound(f"Unknown SKUs: {', '.join(unknown)}.", skus=unknown)
    if inactive := sorted(row.sku for row in rows if not row.active):
        raise ProductNotSellable(f"No longer sold: {', '.join(inactive)}.", skus=inactive)
    promotions = [promotion_terms(row) for row in await promotions_at.rows(session, in_force)]
    index = PromotionIndex.of(p for p in promotions if not p.channels or channel in p.channels)
    parents = dict(await lineage_of.rows(session, of_skus)) if index.needs_categories else {}
    quotes = {}
    for row in rows:
        lineage = category_lineage(row.category_code, parents)
        override = None if row.amount is None else PriceOverride(row.amount, row.reason, row.valid_from,
                                                                    row.valid_until)
        quotes[row.sku] = effective_price(
            sku=row.sku, channel=channel, currency=row.currency, base_price=row.base_price, categories=lineage,
            override=override, promotions=index.candidates(row.sku, lineage), at=at)
    return quotes
