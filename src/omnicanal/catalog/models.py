from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from omnicanal.db import Base


class Category(Base):
    """A node of the category tree; ``code`` is stable (``home``, ``home.lighting``)."""

    __tablename__ = "category"

    code: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("category.code"), index=True)


class Product(Base):
    __tablename__ = "product"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    category_code: Mapped[str | None] = mapped_column(ForeignKey("category.code"), index=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    image_urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    base_price: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ChannelPrice(Base):
    """A deliberate per-channel price for one SKU. ``reason`` records why it differs (the audit asks)."""

    __tablename__ = "channel_price"

    sku: Mapped[str] = mapped_column(ForeignKey("product.sku", ondelete="CASCADE"), primary_key=True)
    channel_code: Mapped[str] = mapped_column(ForeignKey("channel.code"), primary_key=True)
    amount: Mapped[int]
    reason: Mapped[str | None] = mapped_column(String(300))
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class Promotion(Base):
    """Percent or amount off, in a date window, scoped to channels and to SKUs or categories
    (empty scopes mean every channel / every product)."""

    __tablename__ = "promotion"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))  # percent | amount
    value: Mapped[int]  # percent (1–100) or minor units off
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime] = mapped_column(index=True)
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    skus: Mapped[list[str]] = mapped_column(JSON, default=list)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
