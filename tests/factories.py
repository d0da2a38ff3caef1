"""Small builders of a retailer's network, products and stock, written straight through the ORM so that a
domain's tests do not depend on another domain's API."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from sqlalchemy import text

from omnicanal.catalog.models import Product, Promotion
from omnicanal.db import Database
from omnicanal.inventory.service import count_stock
from omnicanal.kit.clock import utcnow
from omnicanal.network.models import Channel, Location

CHANNELS = [
    ("web", "web", True, 0), ("app", "app", True, 0), ("marketplace", "marketplace", True, 1),
    ("pos", "pos", False, 0), ("kiosk", "kiosk", False, 0),
]
LOCATIONS = [  # code, kind, lat, lon, sells, ships, pickup, returns
    ("WH-ORL", "warehouse", 47.90, 1.90, False, True, False, False),
    ("PAR-RIV", "store", 48.86, 2.35, True, True, True, True),
    ("LYO-PDI", "store", 45.76, 4.86, True, False, True, True),
]


async def make_network(db: Database) -> None:
    now = utcnow()
    async with db.writer() as session:
        session.add_all(Channel(code=code, name=code.title(), kind=kind, online=online, safety_buffer=buffer,
                                active=True, created_at=now, updated_at=now)
                        for code, kind, online, buffer in CHANNELS)
        session.add_all(Location(code=code, name=code, kind=kind, latitude=lat, longitude=lon, sells=sells,
                                 ships=ships, pickup=pickup, returns=returns, active=True, address={},
                                 opening_hours={}, timezone="Europe/Paris", created_at=now, updated_at=now)
                        for code, kind, lat, lon, sells, ships, pickup, returns in LOCATIONS)
        await session.commit()


async def make_product(db: Database, sku: str, price: int = 1999, *, category: str | None = None,
                       active: bool = True) -> None:
    now = utcnow()
    async with db.writer() as session:
        session.add(Product(sku=sku, name=f"Article {sku}", description="", category_code=category, attributes={},
                            image_urls=[], base_price=price, currency="EUR", active=active, created_at=now,
                            updated_at=now))
        await session.commit()


async def put_stock(db: Database, sku: str, location: str, on_hand: int, safety: int = 0) -> None:
    async with db.writer() as session:
        await count_stock(session, sku=sku, location=location, on_hand=on_hand, safety=safety)
        await session.commit()


async def make_promotion(db: Database, *, starts_at: datetime, ends_at: datetime, **terms: Any) -> str:
    promotion_id = terms.pop("id", "promo-test")
    async with db.writer() as session:
        session.add(Promotion(id=promotion_id, name="Test promotion", starts_at=starts_at, ends_at=ends_at,
                              active=True, created_at=utcnow(), **{"channels": [], "skus": [], "categories": [],
                                                                     **terms}))
        await session.commit()
    return str(promotion_id)


async def wait_until_blocked(db: Database, racer: asyncio.Task[Any], *, give_up_after: float = 300) -> None:
    """On PostgreSQL, return once a connection waits on a lock held by the test (``racer`` got as far as it can
    go) — however long a loaded machine takes; fail if the racer ends without ever waiting, or (rather than hang
    the suite) if it has neither waited nor ended after ``give_up_after`` seconds."""
    deadline = asyncio.get_running_loop().time() + give_up_after
    # Autocommit: within one transaction PostgreSQL shows pg_stat_activity as it was at the first look, and a
    # racer that started waiting after it would never be seen.
    async with db.engine.connect() as watcher:
        await watcher.execution_options(isolation_level="AUTOCOMMIT")
        while not racer.done():
            waiting = await watcher.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"))
            if waiting:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"the racer neither waited on a lock nor ended in {give_up_after:.0f} s")
            await asyncio.sleep(0.005)
    raise AssertionError(f"the racer never waited: {racer.result()!r}")
