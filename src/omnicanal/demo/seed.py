"""Writing the demo retailer into an empty hub, with bulk inserts (SQLAlchemy Core ``executemany``).

The whole seed is one transaction: a failure leaves the hub empty, never half-seeded. Historical data
records no outbox events, only one ``demo.seeded`` at the end.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from faker import Faker
from rich.progress import Progress, TaskID
from sqlalchemy import Table, exists, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from omnicanal.catalog.models import Category, ChannelPrice, Product, Promotion
from omnicanal.customers.crypto import protected_rows
from omnicanal.customers.models import Customer, CustomerIdentifier, CustomerMatchKey
from omnicanal.db import Database
from omnicanal.demo.bulk import insert_rows
from omnicanal.demo.catalog import plan_catalog
from omnicanal.demo.customers import plan_customers
from omnicanal.demo.orders import OrderPlanner
from omnicanal.demo.reference import CHANNELS, SITES, SIZES, Counts, DemoSize
from omnicanal.demo.stock import plan_stock
from omnicanal.events.service import record_event
from omnicanal.inventory.models import StockLevel, StockMovement
from omnicanal.kit.clock import utcnow
from omnicanal.network.models import Channel, Location
from omnicanal.orders.models import Order, OrderLine

BATCH = 5_000
ORDER_CHUNK = 10_000
SEEDED_TABLES = (Location, Channel, Product, Customer, Order)


def table(model: Any) -> Table:
    return model.__table__


async def hub_has_data(db: Database) -> bool:
    """Whether the hub already holds a retailer (any location, channel, product, customer or order)."""
    async with db.reader() as session:
        for model in SEEDED_TABLES:
            if await session.scalar(select(exists().select_from(table(model)))):
                return True
    return False


def default_now() -> datetime:
    """The demo's "today": the current hour, so that a seed is reproducible within the hour."""
    return utcnow().replace(minute=0, second=0, microsecond=0)


async def seed_demo(
    db: Database, *, size: str | DemoSize = "small", seed: int = 42, now: datetime | None = None,
    currency: str = "EUR", progress: Progress | None = None,
) -> Counts:
    """Write the demo retailer "Maison Lumière" into an empty hub; the same ``seed`` and ``now`` always
    give the same rows (ids included). Returns how many rows went into each table."""
    plan = SIZES[size] if isinstance(size, str) else size
    now = now or default_now()
    writer = Writer(progress)
    async with db.engine.begin() as conn:
        if db.dialect == "sqlite":
            await conn.exec_driver_sql("PRAGMA cache_size=-262144")  # 256 MiB: index upkeep in memory
        writer.conn = conn
        await _write(writer, plan, seed, now, currency)
        await conn.exec_driver_sql("ANALYZE")  # fresh planner statistics for the tables just filled
        async with AsyncSession(bind=conn) as session:
            await record_event(session, "demo.seeded", "demo", {
                "size": plan.name, "seed": seed, "rows": writer.counts.rows})
            await session.flush()
    return writer.counts


async def _write(writer: Writer, size: DemoSize, seed: int, now: datetime, currency: str) -> None:
    await writer.insert(Location, _locations(now), "Stores and warehouse")
    await writer.insert(Channel, _channels(now), "Channels")
    catalog = plan_catalog(random.Random(f"{seed}:catalog"), products=size.products, now=now, currency=currency)
    await writer.insert(Category, catalog.categories, "Categories")
    await writer.insert(Product, catalog.products, "Products")
    await writer.insert(ChannelPrice, catalog.channel_prices, "Channel prices")
    await writer.insert(Promotion, catalog.promotions, "Promotions")
    faker = Faker("fr_FR")
    faker.seed_instance(seed)
    customers = plan_customers(random.Random(f"{seed}:customers"), faker, count=size.customers, now=now)
    protected = protected_rows(customers.customers, customers.identifiers)  # personal data sealed at rest
    await writer.insert(Customer, protected.customers, "Customers")
    await writer.insert(CustomerIdentifier, protected.identifiers, "Customer identifiers")
    await writer.insert(CustomerMatchKey, protected.match_keys, "Customer match keys")
    planner = OrderPlanner(random.Random(f"{seed}:orders"), now, catalog, customers, currency)
    await writer.orders(planner, size.orders)
    stock = plan_stock(random.Random(f"{seed}:stock"), catalog, planner.book, now=now,
                       opened_at=now - timedelta(days=366))
    await writer.insert(StockLevel, stock.levels, "Stock levels")
    await writer.insert(StockMovement, stock.movements, "Stock movements")


def _locations(now: datetime) -> list[dict[str, Any]]:
    return [{
        "code": s.code, "name": s.name, "kind": s.kind, "address": s.address(), "latitude": s.latitude,
        "longitude": s.longitude, "timezone": "Europe/Paris", "opening_hours": s.opening_hours, "sells": s.sells,
        "ships": s.ships, "pickup": s.pickup, "returns": s.returns, "active": True,
        "created_at": now - timedelta(days=1_500), "updated_at": now - timedelta(days=30),
    } for s in SITES]


def _channels(now: datetime) -> list[dict[str, Any]]:
    return [{
        "code": c.code, "name": c.name, "kind": c.kind, "online": c.online, "safety_buffer": c.safety_buffer,
        "active": True, "created_at": now - timedelta(days=1_500), "updated_at": now - timedelta(days=30),
    } for c in CHANNELS]


class Writer:
    """Bulk inserts in batches, counted, with a progress bar per table when a ``Progress`` is given."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.counts = Counts()
        self.conn: AsyncConnection | None = None

    async def insert(self, model: Any, rows: Sequence[dict[str, Any]], label: str) -> None:
        task = self._task(label, len(rows))
        for start in range(0, len(rows), BATCH):
            await self._execute(model, rows[start:start + BATCH], task)

    async def orders(self, planner: OrderPlanner, total: int) -> None:
        task = self._task("Orders (12 months)", total)
        for orders, lines in planner.chunks(total, ORDER_CHUNK):
            for start in range(0, len(orders), BATCH):
                await self._execute(Order, orders[start:start + BATCH], None)
            for start in range(0, len(lines), BATCH):
                await self._execute(OrderLine, lines[start:start + BATCH], None)
            if self.progress is not None and task is not None:
                self.progress.advance(task, len(orders))

    def _task(self, label: str, total: int) -> TaskID | None:
        return self.progress.add_task(label, total=total) if self.progress is not None else None

    async def _execute(self, model: Any, rows: Sequence[dict[str, Any]], task: TaskID | None) -> None:
        if not rows:
            return
        assert self.conn is not None
        await insert_rows(self.conn, table(model), rows)
        self.counts.add(table(model).name, len(rows))
        if self.progress is not None and task is not None:
            self.progress.advance(task, len(rows))

