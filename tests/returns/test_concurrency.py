"""Tills racing to take back the same order, and many stores' first damaged returns at once (tests.hubs)."""

import asyncio
from collections import Counter

import pytest

from tests.factories import make_network, make_product, put_stock
from tests.hubs import HUBS, race_posts

CLIENTS_PER_HUB, BOUGHT = 6, 5


@pytest.fixture
async def delivered(db, client):
    await make_network(db)
    await make_product(db, "VASE-1", 1500)
    await put_stock(db, "VASE-1", "WH-ORL", 1000)

    async def order(quantity: int) -> str:
        placed = (await client.post("/api/v1/orders", json={
            "channel": "web", "fulfillment": "ship", "lines": [{"sku": "VASE-1", "quantity": quantity}]})).json()
        await client.post(f"/api/v1/orders/{placed['id']}/ship")
        await client.post(f"/api/v1/orders/{placed['id']}/deliver")
        return str(placed["id"])

    return order


async def on_hand(client, location: str) -> int:
    return int((await client.get(f"/api/v1/locations/{location}/stock/VASE-1")).json()["on_hand"])


async def test_racing_returns_of_one_order_never_take_back_more_than_was_bought(client, delivered, settings):
    order_id = await delivered(BOUGHT)

    def body(hub: int, n: int) -> dict:
        return {"order_id": order_id, "method": "in_store", "location": "PAR-RIV" if n % 2 else "LYO-PDI",
                "lines": [{"sku": "VASE-1", "quantity": 1}]}

    statuses = await asyncio.to_thread(race_posts, settings, "/api/v1/returns", CLIENTS_PER_HUB, body)
    assert statuses == Counter({201: BOUGHT, 409: HUBS * CLIENTS_PER_HUB - BOUGHT})
    assert await on_hand(client, "PAR-RIV") + await on_hand(client, "LYO-PDI") == BOUGHT
    returns = (await client.get(f"/api/v1/orders/{order_id}/returns", params={"limit": 500})).json()["items"]
    assert sum(r["refund_amount"] for r in returns) == BOUGHT * 1500
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []


async def test_racing_first_damaged_returns_share_one_damaged_bin(client, delivered, settings):
    orders = [await delivered(1) for _ in range(HUBS * CLIENTS_PER_HUB)]

    def body(hub: int, n: int) -> dict:
        return {"order_id": orders[hub * CLIENTS_PER_HUB + n], "method": "in_store", "location": "PAR-RIV",
                "lines": [{"sku": "VASE-1", "quantity": 1, "condition": "damaged"}]}

    statuses = await asyncio.to_thread(race_posts, settings, "/api/v1/returns", CLIENTS_PER_HUB, body)
    assert statuses == Counter({201: HUBS * CLIENTS_PER_HUB})
    assert await on_hand(client, "PAR-RIV-DAMAGED") == HUBS * CLIENTS_PER_HUB
    created = (await client.get("/api/v1/events", params={"type": "location.created"})).json()["items"]
    assert [e["subject"] for e in created if e["subject"].endswith("-DAMAGED")] == ["PAR-RIV-DAMAGED"]
