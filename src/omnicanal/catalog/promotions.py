"""Promotions: percent or amount off, in a window, on some channels, for some SKUs or categories."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.catalog.errors import PromotionInvalid, PromotionNotFound, SkuUnknown
from omnicanal.catalog.models import Product, Promotion
from omnicanal.catalog.rules import promotion_terms_problem
from omnicanal.catalog.service import promotion_reaches, require_categories, require_channels
from omnicanal.events.service import record_event
from omnicanal.kit.clock import utcnow
from omnicanal.kit.ids import new_id

SCOPES = ("channels", "skus", "categories")
EDITABLE = ("name", "kind", "value", "starts_at", "ends_at", *SCOPES, "active")


def promotion_data(promotion: Promotion) -> dict[str, Any]:
    """The promotion as event data (JSON-able)."""
    return {
        "id": promotion.id, "name": promotion.name, "kind": promotion.kind, "value": promotion.value,
        "starts_at": promotion.starts_at.isoformat(), "ends_at": promotion.ends_at.isoformat(),
        "channels": promotion.channels, "skus": promotion.skus, "categories": promotion.categories,
        "active": promotion.active,
    }


async def _require_skus(session: AsyncSession, skus: Iterable[str]) -> None:
    wanted = set(skus)
    if not wanted:
        return
    known = set((await session.scalars(select(Product.sku).where(Product.sku.in_(wanted)))).all())
    if missing := sorted(wanted - known):
        raise SkuUnknown(f"Unknown SKUs: {', '.join(missing)}.", skus=missing)


async def _check_scope(session: AsyncSession, *, channels: Iterable[str], skus: Iterable[str],
                       categories: Iterable[str]) -> None:
    await require_channels(session, channels)
    await _require_skus(session, skus)
    await require_categories(session, categories)


def _check_terms(kind: str, value: int, starts_at: datetime, ends_at: datetime) -> None:
    if problem := promotion_terms_problem(kind, value, starts_at, ends_at):
        raise PromotionInvalid(problem[0].upper() + problem[1:] + ".")


def _distinct(codes: Sequence[str]) -> list[str]:
    return sorted(set(codes))


async def create_promotion(
    session: AsyncSession, *, name: str, kind: str, value: int, starts_at: datetime, ends_at: datetime,
    channels: Sequence[str] = (), skus: Sequence[str] = (), categories: Sequence[str] = (),
) -> Promotion:
    """Start a promotion. Empty ``channels`` means every channel; empty ``skus`` and ``categories``
    mean every product. Every channel, SKU and category named must exist."""
    _check_terms(kind, value, starts_at, ends_at)
    await _check_scope(session, channels=channels, skus=skus, categories=categories)
    promotion = Promotion(id=new_id("promo"), name=name, kind=kind, value=value, starts_at=starts_at,
                          ends_at=ends_at, channels=_distinct(channels), skus=_distinct(skus),
                          categories=_distinct(categories), active=True, created_at=utcnow())
    session.add(promotion)
    await session.flush()
    await record_event(session, "promotion.created", promotion.id, promotion_data(promotion))
    return promotion


async def get_promotion(session: AsyncSession, promotion_id: str) -> Promotion:
    """The promotion ``promotion_id``, or :class:`PromotionNotFound`."""
    promotion = await session.get(Promotion, promotion_id)
    if promotion is None:
        raise PromotionNotFound(f"No promotion {promotion_id}.")
    return promotion


async def update_promotion(session: AsyncSession, *, promotion_id: str, changes: Mapping[str, Any]) -> Promotion:
    """Change a promotion's terms, end it (``ends_at``) or withdraw it (``active`` false); the result must
    still be valid terms over existing channels, SKUs and categories."""
    promotion = await get_promotion(session, promotion_id)
    merged = {field: changes.get(field, getattr(promotion, field)) for field in EDITABLE}
    for scope in SCOPES:
        merged[scope] = _distinct(merged[scope])
    _check_terms(merged["kind"], merged["value"], merged["starts_at"], merged["ends_at"])
    await _check_scope(session, **{scope: set(merged[scope]) - set(getattr(promotion, scope)) for scope in SCOPES})
    changed = {field: value for field, value in merged.items() if getattr(promotion, field) != value}
    if changed:
        for field, value in changed.items():
            setattr(promotion, field, value)
        await session.flush()
        await record_event(session, "promotion.updated", promotion.id,
                           {**promotion_data(promotion), "changed": sorted(changed)})
    return promotion


async def list_promotions(
    session: AsyncSession, *, after_id: str | None, limit: int, active_at: datetime | None = None,
    channel: str | None = None,
) -> list[Promotion]:
    """Promotions by id (creation order); ``active_at`` keeps those in force then, ``channel`` those that
    run on it (including every-channel promotions)."""
    query = select(Promotion).order_by(Promotion.id).limit(limit)
    if after_id is not None:
        query = query.where(Promotion.id > after_id)
    if active_at is not None:
        query = query.where(Promotion.active.is_(True), Promotion.starts_at <= active_at,
                            Promotion.ends_at > active_at)
    if channel is not None:
        await require_channels(session, [channel])
        query = query.where(promotion_reaches(session, channel))
    return list((await session.scalars(query)).all())
