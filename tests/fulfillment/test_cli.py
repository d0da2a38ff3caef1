"""``omnicanal pickups …`` run as an operator would, on its own SQLite file."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from omnicanal.cli import app
from omnicanal.config import Settings
from omnicanal.db import connect
from omnicanal.fulfillment.pickups import get_pickup, mark_ready, start_preparation
from omnicanal.fulfillment.placing import place_pickup_order
from omnicanal.kit.clock import utcnow
from omnicanal.models import Base
from omnicanal.orders.service import OrderRequest
from tests.fulfillment.support import build_shop

runner = CliRunner()


async def _hub_with_a_forgotten_pickup(url: str) -> str:
    db = connect(Settings(database_url=url))
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        await build_shop(db)
        long_ago = utcnow() - timedelta(days=10)
        async with db.writer() as session:
            placed = (await place_pickup_order(session, OrderRequest(
                channel="web", fulfillment="pickup", location="PAR-RIV", lines=[("VASE-1", 1)]),
                currency="EUR", now=long_ago)).placed
            await start_preparation(session, order_id=placed.order.id, now=long_ago)
            await mark_ready(session, order_id=placed.order.id, now=long_ago)
            await session.commit()
        return placed.order.id
    finally:
        await db.dispose()


async def _state(url: str, order_id: str) -> str:
    db = connect(Settings(database_url=url))
    try:
        async with db.reader() as session:
            return (await get_pickup(session, order_id)).state
    finally:
        await db.dispose()


def test_pickups_expire_and_the_store_queue(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    env = {"OMNICANAL_DATABASE_URL": url}
    order_id = asyncio.run(_hub_with_a_forgotten_pickup(url))

    queue = runner.invoke(app, ["pickups", "tasks", "PAR-RIV", "--state", "ready"], env=env)
    assert queue.exit_code == 0, queue.output
    assert order_id in queue.output and "1 × VASE-1" in queue.output

    expired = runner.invoke(app, ["pickups", "expire"], env=env)
    assert expired.exit_code == 0, expired.output
    assert "1 uncollected pickup(s) expired" in expired.output
    assert asyncio.run(_state(url, order_id)) == "expired"
    assert "0 uncollected" in runner.invoke(app, ["pickups", "expire"], env=env).output

    unknown = runner.invoke(app, ["pickups", "tasks", "NOWHERE"], env=env)
    assert unknown.exit_code == 1 and "No location NOWHERE" in unknown.output
    assert runner.invoke(app, ["pickups", "tasks", "PAR-RIV", "--state", "lost"], env=env).exit_code == 2
