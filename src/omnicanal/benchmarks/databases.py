"""A fresh database per run: a temporary SQLite file, or PostgreSQL's ``omnicanal_bench`` dropped and created;
migrated and seeded with the demo retailer (``medium`` by default), then read for what the scenarios need.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import psycopg
from rich.progress import Progress
from sqlalchemy import select
from sqlalchemy.engine import URL, make_url

from omnicanal.catalog.models import Product
from omnicanal.config import Settings
from omnicanal.db import connect
from omnicanal.demo import SIZES, DemoSize, seed_demo
from omnicanal.migrations import upgrade_to_head
from omnicanal.network.models import Channel, Location

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/omnicanal_bench"
BENCH_DATABASE_PREFIX = "omnicanal_bench"  # the only databases this module will ever drop
TINY = DemoSize("tiny", products=40, customers=30, orders=60)
POOL_LIMIT = 1_000


def demo_size(name: str) -> DemoSize:
    """``tiny`` (tests) or one of the demo's sizes."""
    return TINY if name == "tiny" else SIZES[name]


def sqlite_url(folder: Path) -> str:
    return f"sqlite+aiosqlite:///{folder / 'omnicanal-bench.db'}"


def _admin_connection(url: URL) -> psycopg.Connection:
    return psycopg.connect(host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username or "postgres",
                           password=url.password, dbname="postgres", autocommit=True, connect_timeout=5)


def postgres_unavailable(database_url: str) -> str | None:
    """Why PostgreSQL cannot be used for the benchmark, or ``None`` when it can."""
    try:
        with _admin_connection(make_url(database_url)) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL is not reachable ({str(exc).strip().splitlines()[0]})"
    return None


def recreate_postgres(database_url: str) -> None:
    """Drop and create the benchmark database (only a database whose name starts with ``omnicanal_bench``)."""
    url = make_url(database_url)
    name = url.database or ""
    if not name.startswith(BENCH_DATABASE_PREFIX):
        raise ValueError(f"refusing to drop {name!r}: the benchmark database's name must start with "
                         f"{BENCH_DATABASE_PREFIX!r}")
    with _admin_connection(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def migrate_and_seed(database_url: str, size: DemoSize, progress: Progress | None = None) -> dict[str, int]:
    """Bring the empty database to the latest schema and write the demo retailer; answers the row counts."""
    upgrade_to_head(database_url)
    return asyncio.run(_seed(database_url, size, progress))


async def _seed(database_url: str, size: DemoSize, progress: Progress | None) -> dict[str, int]:
    db = connect(Settings(database_url=database_url))
    try:
        counts = await seed_demo(db, size=size, seed=42, progress=progress)
    finally:
        await db.dispose()
    return counts.rows


@dataclass(frozen=True)
class BenchData:
    """What the scenarios use: SKUs to order and read, the shipping warehouse, the online channels."""

    skus: list[str]
    warehouse: str
    online_channels: list[str]


async def read_bench_data(database_url: str) -> BenchData:
    db = connect(Settings(database_url=database_url))
    try:
        async with db.reader() as session:
            skus = list((await session.scalars(
                select(Product.sku).where(Product.active.is_(True)).order_by(Product.sku).limit(POOL_LIMIT))).all())
            shipping = (await session.execute(
                select(Location.code, Location.kind).where(Location.ships.is_(True), Location.active.is_(True))
                .order_by(Location.code))).all()
            channels = list((await session.scalars(
                select(Channel.code).where(Channel.online.is_(True), Channel.active.is_(True))
                .order_by(Channel.code))).all())
    finally:
        await db.dispose()
    if not skus or not shipping or "web" not in channels:
        raise RuntimeError("the seeded hub lacks products, a shipping location or the web channel")
    warehouse = min(shipping, key=lambda row: (row.kind != "warehouse", row.code)).code
    return BenchData(skus=skus, warehouse=warehouse, online_channels=channels)
