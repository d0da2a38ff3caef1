"""A small retailer for the fulfilment tests, and the calls its tests make again and again.

PAR-RIV (Paris) ships and offers pickup, LYO-PDI (Lyon) offers pickup, WH-ORL (Orléans) is the warehouse.
Lyon is nearer to Orléans (≈ 330 km) than to Paris (≈ 390 km).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from omnicanal.db import Database
from omnicanal.events.models import OutboxEvent
from omnicanal.inventory.models import StockMovement
from omnicanal.orders.models import Order
from tests.factories import make_network, make_product, put_stock

STOCK = [("LAMP-1", "PAR-RIV", 3), ("VASE-1", "PAR-RIV", 2), ("LAMP-1", "LYO-PDI", 1), ("LAMP-1", "WH-ORL", 10),
         ("RUG-1", "WH-ORL", 4)]


async def build_shop(db: Database) -> None:
    await make_network(db)
    for sku, price in (("LAMP-1", 4990), ("VASE-1", 1500), ("RUG-1", 12000)):
        await make_product(db, sku, price)
    for sku, location, units in STOCK:
        await put_stock(db, sku, location, units)


def pickup(*lines: tuple[str, int], location: str = "PAR-RIV", channel: str = "web", **extra: Any) -> dict[str, Any]:
    return {"channel": channel, "fulfillment": "pickup", "location": location,
            "lines": [{"sku": sku, "quantity": qty} for sku, qty in lines], **extra}


async def level(client: Any, location: str, sku: str) -> tuple[int, int]:
    """(on hand, reserved) of a SKU at a location."""
    body = (await client.get(f"/api/v1/locations/{location}/stock/{sku}")).json()
    return body["on_hand"], body["reserved"]


async def place(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/api/v1/orders", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def step(client: Any, order_id: str, action: str, **kwargs: Any) -> Any:
    return await client.post(f"/api/v1/orders/{order_id}/pickup/{action}", **kwargs)


async def make_ready(client: Any, order_id: str) -> dict[str, Any]:
    assert (await step(client, order_id, "start")).status_code == 200
    ready = await step(client, order_id, "ready")
    assert ready.status_code == 200, ready.text
    return dict(ready.json())


async def events(client: Any, type_: str) -> list[dict[str, Any]]:
    return list((await client.get("/api/v1/events", params={"type": type_, "limit": 500})).json()["items"])


async def counts(db: Database) -> tuple[int, int, int]:
    """Orders, events and stock movements: what a refused request must leave unchanged."""
    async with db.reader() as session:
        return (int(await session.scalar(select(func.count()).select_from(Order)) or 0),
                int(await session.scalar(select(func.count()).select_from(OutboxEvent)) or 0),
                int(await session.scalar(select(func.count()).select_from(StockMovement)) or 0))
