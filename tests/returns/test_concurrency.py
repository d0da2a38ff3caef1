"""Tills racing to take back the same order, and many stores' first damaged returns at once.

Each thread runs its own hub (its own engine and pool, like separate server processes); on PostgreSQL the
returns are truly concurrent transactions, on SQLite they queue on the database lock.
"""

import asyncio
import threading
from collections import Counter

import httpx
import pytest

from omnicanal.app import create_app
from tests.factories import make_network, make_product, put_stock

HUBS, CLIENTS_PER_HUB, BOUGHT = 4, 6, 5


async def _race(settings, bodies: list[dict]) -> list[int]:
    app = create_app(settings, background_jobs=False)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub",
                                     headers={"Authorization": "Bearer test-admin-token"}) as client:
            responses = await asyncio.gather(*(client.post("/api/v1/returns", json=body) for body in bodies))
        return [r.status_code for r in responses]
    finally:
        await app.state.db.dispose()


def _run_hubs(settings, make_body) -> Counter:
    statuses: Counter = Counter()
    lock = threading.Lock()

    def hub(number: int) -> None:
        result = asyncio.run(_race(settings, [make_body(number, n) for n in range(CLIENTS_PER_HUB)]))
        with lock:
            statuses.update(result)

    threads = [threading.Thread(target=hub, args=(n,)) for n in range(HUBS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return statuses


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

    statuses = await asyncio.to_thread(_run_hubs, settings, body)
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

    statuses = await asyncio.to_thread(_run_hubs, settings, body)
    assert statuses == Counter({201: HUBS * CLIENTS_PER_HUB})
    assert await on_hand(client, "PAR-RIV-DAMAGED") == HUBS * CLIENTS_PER_HUB
    created = (await client.get("/api/v1/events", params={"type": "location.created"})).json()["items"]
    assert [e["subject"] for e in created if e["subject"].endswith("-DAMAGED")] == ["PAR-RIV-DAMAGED"]
