"""Channel prices (deliberate per-channel overrides), quotes on every channel, and the price audit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.catalog.errors import ChannelPriceNotFound
from omnicanal.catalog.models import ChannelPrice, Product
from omnicanal.catalog.rules import (
    PriceDiscrepancy,
    PriceOverride,
    PriceQuote,
    PromotionIndex,
    audit_price_consistency,
    category_lineage,
    effective_price,
)
from omnicanal.catalog.service import (
    category_parents,
    get_product,
    promotions_in_force,
    quote_prices,
    require_channels,
)
from omnicanal.db import upsert_dialect
from omnicanal.events.service import record_event
from omnicanal.kit.clock import utcnow
from omnicanal.network.models import Channel

AUDIT_CHUNK = 1_000  # products priced per round of the audit


def _price_event(price: ChannelPrice) -> dict[str, Any]:
    return {
        "sku": price.sku, "channel": price.channel_code, "amount": price.amount, "reason": price.reason,
        "valid_from": price.valid_from.isoformat() if price.valid_from else None,
        "valid_until": price.valid_until.isoformat() if price.valid_until else None, "removed": False,
    }


async def set_channel_price(
    session: AsyncSession, *, sku: str, channel: str, amount: int, reason: str | None = None,
    valid_from: datetime | None = None, valid_until: datetime | None = None,
) -> ChannelPrice:
    """Give ``sku`` its own price on ``channel`` (replacing any earlier one). Give a ``reason`` when the
    price differs from the base price on purpose, or the price audit reports it."""
    await get_product(session, sku)
    await require_channels(session, [channel])
    values = {"amount": amount, "reason": reason, "valid_from": valid_from, "valid_until": valid_until,
              "updated_at": utcnow()}
    dialect = upsert_dialect(session.get_bind().dialect.name)
    await session.execute(
        dialect.insert(ChannelPrice).values(sku=sku, channel_code=channel, **values)
        .on_conflict_do_update(index_elements=["sku", "channel_code"], set_=values))
    price = (await session.scalars(
        select(ChannelPrice).where(ChannelPrice.sku == sku, ChannelPrice.channel_code == channel)
        .execution_options(populate_existing=True))).one()
    await record_event(session, "price.changed", sku, _price_event(price))
    return price


async def remove_channel_price(session: AsyncSession, *, sku: str, channel: str) -> None:
    """Drop the channel's own price: the SKU goes back to its base price there."""
    removed = await session.execute(
        delete(ChannelPrice).where(ChannelPrice.sku == sku, ChannelPrice.channel_code == channel)
        .returning(ChannelPrice.sku))
    if removed.first() is None:
        await get_product(session, sku)
        raise ChannelPriceNotFound(f"SKU {sku} has no price of its own on channel {channel}.")
    await record_event(session, "price.changed", sku, {"sku": sku, "channel": channel, "amount": None,
                                                        "removed": True})


async def quote_price(session: AsyncSession, *, sku: str, channel: str, at: datetime) -> PriceQuote:
    """One SKU's quote on one channel (422 if the channel does not exist)."""
    await get_product(session, sku)
    await require_channels(session, [channel])
    return (await quote_prices(session, skus=[sku], channel=channel, at=at))[sku]


async def _active_channels(session: AsyncSession, *, after: str | None = None, limit: int | None = None,
                           ) -> list[str]:
    query = select(Channel.code).where(Channel.active.is_(True)).order_by(Channel.code).limit(limit)
    if after is not None:
        query = query.where(Channel.code > after)
    return list((await session.scalars(query)).all())


class Priced(Protocol):
    """What pricing needs of a product (an ORM object or a row of its columns)."""

    sku: str
    currency: str
    base_price: int
    category_code: str | None


PRICED = (Product.sku, Product.currency, Product.base_price, Product.category_code)


def _quotes_of(product: Priced, channels: Sequence[str], overrides: Mapping[tuple[str, str], PriceOverride],
               index: PromotionIndex, parents: Mapping[str, str | None], at: datetime) -> list[PriceQuote]:
    lineage = category_lineage(product.category_code, parents)
    candidates = index.candidates(product.sku, lineage)
    return [effective_price(sku=product.sku, channel=channel, currency=product.currency,
                            base_price=product.base_price, categories=lineage,
                            override=overrides.get((product.sku, channel)), promotions=candidates, at=at)
            for channel in channels]


OVERRIDE = (ChannelPrice.sku, ChannelPrice.channel_code, ChannelPrice.amount, ChannelPrice.reason,
            ChannelPrice.valid_from, ChannelPrice.valid_until)


def _override(price: Any) -> PriceOverride:
    return PriceOverride(price.amount, price.reason, price.valid_from, price.valid_until)


async def quote_on_channels(
    session: AsyncSession, *, sku: str, at: datetime, after_channel: str | None, limit: int,
) -> list[PriceQuote]:
    """The quote of ``sku`` (active or not) on each active channel, by channel code."""
    product = await get_product(session, sku)
    channels = await _active_channels(session, after=after_channel, limit=limit)
    prices = (await session.scalars(select(ChannelPrice).where(ChannelPrice.sku == sku))).all()
    index = PromotionIndex.of(await promotions_in_force(session, at=at))
    parents = await category_parents(session, [product.category_code]) if index.needs_categories else {}
    overrides = {(p.sku, p.channel_code): _override(p) for p in prices}
    return _quotes_of(product, channels, overrides, index, parents, at)


async def audit_prices(
    session: AsyncSession, *, at: datetime, after_sku: str | None, limit: int,
) -> list[PriceDiscrepancy]:
    """Active SKUs (by SKU, after ``after_sku``) whose price differs between active channels for no
    recorded reason — at most ``limit`` of them. Products are priced in batches of ``AUDIT_CHUNK``: a few
    queries per thousand SKUs, never one per SKU."""
    channels = await _active_channels(session)
    if len(channels) < 2:
        return []
    index = PromotionIndex.of(await promotions_in_force(session, at=at))
    found: list[PriceDiscrepancy] = []
    while len(found) < limit:
        query = select(*PRICED).where(Product.active.is_(True)).order_by(Product.sku).limit(AUDIT_CHUNK)
        products = (await session.execute(query if after_sku is None else query.where(Product.sku > after_sku))).all()
        if not products:
            break
        found.extend(await _audit_chunk(session, products, channels, index, at))
        after_sku = products[-1].sku
        if len(products) < AUDIT_CHUNK:
            break
    return found[:limit]


async def _audit_chunk(session: AsyncSession, products: Sequence[Priced], channels: Sequence[str],
                       index: PromotionIndex, at: datetime) -> list[PriceDiscrepancy]:
    prices = (await session.execute(select(*OVERRIDE).where(
        ChannelPrice.sku >= products[0].sku, ChannelPrice.sku <= products[-1].sku,
        ChannelPrice.channel_code.in_(channels)))).all()
    overrides = {(p.sku, p.channel_code): _override(p) for p in prices}
    parents = await category_parents(session, {p.category_code for p in products}) if index.needs_categories else {}
    found = []
    for product in products:
        quotes = _quotes_of(product, channels, overrides, index, parents, at)
        if (discrepancy := audit_price_consistency(product.sku, product.base_price, quotes)) is not None:
            found.append(discrepancy)
    return found
