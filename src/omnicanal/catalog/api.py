from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime

from omnicanal.access.deps import Allow
from omnicanal.access.rules import Permission
from omnicanal.catalog import pricing, promotions, service
from omnicanal.catalog.models import Category, ChannelPrice, Product, Promotion
from omnicanal.catalog.rules import PriceQuote
from omnicanal.catalog.schemas import (
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    ChannelPriceIn,
    ChannelPriceOut,
    PriceDiscrepancyOut,
    ProductIn,
    ProductOut,
    ProductPatch,
    PromotionIn,
    PromotionOut,
    PromotionPatch,
    QuoteOut,
)
from omnicanal.kit.clock import utcnow
from omnicanal.kit.deps import SessionDep, SettingsDep
from omnicanal.kit.money import Money
from omnicanal.kit.pagination import Page, Paging, page_of
from omnicanal.kit.transaction import TransactionalRoute

router = APIRouter(prefix="/api/v1", tags=["catalog"], route_class=TransactionalRoute)
READ, WRITE = Allow(Permission.CATALOG_READ), Allow(Permission.CATALOG_WRITE)
At = Annotated[AwareDatetime | None,
               Query(description="The moment to price at (default: now), e.g. 2026-12-01T10:00:00Z.")]


def _product_out(p: Product) -> ProductOut:
    return ProductOut(sku=p.sku, name=p.name, description=p.description, category=p.category_code,
                      attributes=p.attributes, image_urls=p.image_urls, active=p.active, created_at=p.created_at,
                      updated_at=p.updated_at, price=Money(amount=p.base_price, currency=p.currency))


def _category_out(c: Category) -> CategoryOut:
    return CategoryOut(code=c.code, name=c.name, parent=c.parent_code)


def _quote_out(q: PriceQuote, at: datetime) -> QuoteOut:
    return QuoteOut(sku=q.sku, channel=q.channel, currency=q.currency, list_price=q.list_price, price=q.price,
                    discount=q.discount, source=q.source,
                    promotion_id=q.promotion_id, override_reason=q.override_reason, at=at)


def _channel_price_out(p: ChannelPrice, currency: str) -> ChannelPriceOut:
    return ChannelPriceOut(sku=p.sku, channel=p.channel_code, amount=p.amount, currency=currency, reason=p.reason,
                           valid_from=p.valid_from, valid_until=p.valid_until, updated_at=p.updated_at)


def _promotion_out(p: Promotion) -> PromotionOut:
    return PromotionOut(id=p.id, name=p.name, kind=p.kind, value=p.value, starts_at=p.starts_at, ends_at=p.ends_at,
                        channels=p.channels, skus=p.skus, categories=p.categories, active=p.active,
                        created_at=p.created_at)


# ---------------------------------------------------------------- products


@router.post("/products", response_model=ProductOut, status_code=201, dependencies=[WRITE])
async def create_product(session: SessionDep, settings: SettingsDep, body: ProductIn) -> ProductOut:
    """Add a product at its base price (in the retailer's currency)."""
    return _product_out(await service.create_product(
        session, sku=body.sku, name=body.name, price=body.price, currency=settings.currency,
        description=body.description, category=body.category, attributes=body.attributes,
        image_urls=body.image_urls, active=body.active))


@router.get("/products", response_model=Page[ProductOut], dependencies=[READ])
async def list_products(
    session: SessionDep, paging: Paging,
    category: Annotated[str | None, Query(description="This category and every one under it.")] = None,
    active: bool | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Part of the name or SKU (any case).")] = None,
) -> Page[ProductOut]:
    """The catalog, by SKU."""
    products = await service.list_products(session, after_sku=paging.after_one(str), limit=paging.limit + 1,
                                           category=category, active=active, q=q)
    return page_of([_product_out(p) for p in products], paging, lambda out: (out.sku,))


@router.get("/products/{sku}", response_model=ProductOut, dependencies=[READ])
async def get_product(session: SessionDep, sku: str) -> ProductOut:
    return _product_out(await service.get_product(session, sku))


@router.patch("/products/{sku}", response_model=ProductOut, dependencies=[WRITE])
async def update_product(session: SessionDep, settings: SettingsDep, sku: str, body: ProductPatch) -> ProductOut:
    """Change some fields of a product; absent fields stay as they are."""
    return _product_out(await service.update_product(session, sku=sku, changes=body.changes(),
                                                     currency=settings.currency))


# ---------------------------------------------------------------- channel prices and quotes


@router.put("/products/{sku}/prices/{channel}", response_model=ChannelPriceOut, dependencies=[WRITE])
async def set_channel_price(session: SessionDep, sku: str, channel: str, body: ChannelPriceIn) -> ChannelPriceOut:
    """Give the product its own price on a channel; record a ``reason`` when it differs on purpose."""
    price = await pricing.set_channel_price(session, sku=sku, channel=channel, amount=body.amount, reason=body.reason,
                                            valid_from=body.valid_from, valid_until=body.valid_until)
    return _channel_price_out(price, (await service.get_product(session, sku)).currency)


@router.delete("/products/{sku}/prices/{channel}", status_code=204, dependencies=[WRITE])
async def remove_channel_price(session: SessionDep, sku: str, channel: str) -> Response:
    """The product goes back to its base price on that channel."""
    await pricing.remove_channel_price(session, sku=sku, channel=channel)
    return Response(status_code=204)


@router.get("/products/{sku}/prices", response_model=Page[QuoteOut], dependencies=[READ])
async def list_product_prices(session: SessionDep, sku: str, paging: Paging, at: At = None) -> Page[QuoteOut]:
    """What the product costs on every active channel, by channel code."""
    moment = at or utcnow()
    quotes = await pricing.quote_on_channels(session, sku=sku, at=moment, after_channel=paging.after_one(str),
                                             limit=paging.limit + 1)
    return page_of([_quote_out(q, moment) for q in quotes], paging, lambda out: (out.channel,))


@router.get("/prices/audit", response_model=Page[PriceDiscrepancyOut], dependencies=[READ])
async def audit_prices(session: SessionDep, paging: Paging, at: At = None) -> Page[PriceDiscrepancyOut]:
    """Active SKUs whose price differs between active channels with neither a promotion nor a channel
    price whose reason was recorded to explain it. An empty list: prices are consistent everywhere."""
    found = await pricing.audit_prices(session, at=at or utcnow(), after_sku=paging.after_one(str),
                                       limit=paging.limit + 1)
    items = [PriceDiscrepancyOut(sku=d.sku, base_price=d.base_price, prices=d.prices,
                                 unexplained_channels=d.unexplained_channels) for d in found]
    return page_of(items, paging, lambda out: (out.sku,))


@router.get("/prices/{sku}", response_model=QuoteOut, dependencies=[READ])
async def quote_price(session: SessionDep, sku: str, channel: Annotated[str, Query(max_length=40)],
                      at: At = None) -> QuoteOut:
    """What one unit of a sellable product costs on a channel."""
    moment = at or utcnow()
    return _quote_out(await pricing.quote_price(session, sku=sku, channel=channel, at=moment), moment)


# ---------------------------------------------------------------- categories


@router.post("/categories", response_model=CategoryOut, status_code=201, dependencies=[WRITE])
async def create_category(session: SessionDep, body: CategoryIn) -> CategoryOut:
    return _category_out(await service.create_category(session, code=body.code, name=body.name, parent=body.parent))


@router.get("/categories", response_model=Page[CategoryOut], dependencies=[READ])
async def list_categories(session: SessionDep, paging: Paging) -> Page[CategoryOut]:
    categories = await service.list_categories(session, after_code=paging.after_one(str), limit=paging.limit + 1)
    return page_of([_category_out(c) for c in categories], paging, lambda out: (out.code,))


@router.get("/categories/{code}", response_model=CategoryOut, dependencies=[READ])
async def get_category(session: SessionDep, code: str) -> CategoryOut:
    return _category_out(await service.get_category(session, code))


@router.patch("/categories/{code}", response_model=CategoryOut, dependencies=[WRITE])
async def update_category(session: SessionDep, code: str, body: CategoryPatch) -> CategoryOut:
    """Rename a category or move it (never under itself or one of its sub-categories)."""
    return _category_out(await service.update_category(session, code=code, changes=body.changes()))


# ---------------------------------------------------------------- promotions


@router.post("/promotions", response_model=PromotionOut, status_code=201, dependencies=[WRITE])
async def create_promotion(session: SessionDep, body: PromotionIn) -> PromotionOut:
    """Start a promotion; empty ``channels`` means every channel, empty ``skus`` and ``categories`` every
    product."""
    return _promotion_out(await promotions.create_promotion(
        session, name=body.name, kind=body.kind, value=body.value, starts_at=body.starts_at, ends_at=body.ends_at,
        channels=body.channels, skus=body.skus, categories=body.categories))


@router.get("/promotions", response_model=Page[PromotionOut], dependencies=[READ])
async def list_promotions(
    session: SessionDep, paging: Paging,
    active_at: Annotated[AwareDatetime | None, Query(description="Only those in force at this moment.")] = None,
    channel: Annotated[str | None, Query(max_length=40, description="Only those running on this channel.")] = None,
) -> Page[PromotionOut]:
    found = await promotions.list_promotions(session, after_id=paging.after_one(str), limit=paging.limit + 1,
                                             active_at=active_at, channel=channel)
    return page_of([_promotion_out(p) for p in found], paging, lambda out: (out.id,))


@router.get("/promotions/{promotion_id}", response_model=PromotionOut, dependencies=[READ])
async def get_promotion(session: SessionDep, promotion_id: str) -> PromotionOut:
    return _promotion_out(await promotions.get_promotion(session, promotion_id))


@router.patch("/promotions/{promotion_id}", response_model=PromotionOut, dependencies=[WRITE])
async def update_promotion(session: SessionDep, promotion_id: str, body: PromotionPatch) -> PromotionOut:
    """Change a promotion, end it (``ends_at``) or withdraw it (``active: false``)."""
    return _promotion_out(await promotions.update_promotion(session, promotion_id=promotion_id,
                                                            changes=body.changes()))
