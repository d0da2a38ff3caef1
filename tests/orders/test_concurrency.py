"""Many clients, several channels and several hub instances racing for the last units of a SKU.

Each thread runs its own hub (its own engine and connection pool, like separate server processes behind a
load balancer) with concurrent requests inside it; on PostgreSQL (OMNICANAL_TEST_DATABASE_URL) these are
truly concurrent transactions, on SQLite they queue on the database lock.
"""

import asyncio
import threading
from collections import Counter

import httpx
import pytest

from omnicanal.app import create_app
from tests.factories import make_network, make_product, put_stock

HUBS, CLIENTS_PER_HUB, UNITS_WH, UNITS_PARIS = 4, 15, 17, 8


async def _race(settings, bodies: list[dict], headers: list[dict]) -> list[int]:
    app = create_app(settings, background_jobs=False)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://hub",
                                     headers={"Authorization": "Bearer test-admin-token"}) as client:
            responses = await asyncio.gather(*(client.post("/api/v1/orders", json=body, headers=extra)
                                               for body, extra in zip(bodies, headers, strict=True)))
        return [r.status_code for r in responses]
    finally:
        await app.state.db.dispose()


def _run_hubs(settings, make_body, make_headers=lambda hub, n: {}) -> Counter:
    statuses: Counter = Counter()
    lock = threading.Lock()

    def hub(number: int) -> None:
        bodies = [make_body(number, n) for n in range(CLIENTS_PER_HUB)]
        headers = [make_headers(number, n) for n in range(CLIENTS_PER_HUB)]
        result = asyncio.run(_race(settings, bodies, headers))
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
async def scarce(db):
    await make_network(db)
    await make_product(db, "HOT-1")
    await make_product(db, "HOT-2")
    await put_stock(db, "HOT-1", "WH-ORL", UNITS_WH)
    await put_stock(db, "HOT-1", "PAR-RIV", UNITS_PARIS)
    await put_stock(db, "HOT-2", "WH-ORL", 1000)


async def test_racing_clients_sell_exactly_the_units_on_hand(client, scarce, settings):
    channels = ["web", "app", "kiosk"]  # none holds back a safety buffer, so every unit is sellable

    def body(hub: int, n: int) -> dict:
        # two-line orders in both SKU orders, to provoke lock-order deadlocks if there were any
        lines = [{"sku": "HOT-1", "quantity": 1}, {"sku": "HOT-2", "quantity": 1}]
        return {"channel": channels[(hub + n) % 3], "fulfillment": "ship",
                "lines": lines if n % 2 else list(reversed(lines))}

    statuses = await asyncio.to_thread(_run_hubs, settings, body)
    sold = UNITS_WH + UNITS_PARIS
    assert statuses == Counter({201: sold, 409: HUBS * CLIENTS_PER_HUB - sold})
    levels = {loc: (await client.get(f"/api/v1/locations/{loc}/stock/HOT-1")).json() for loc in ("WH-ORL", "PAR-RIV")}
    assert levels["WH-ORL"]["reserved"] == UNITS_WH and levels["PAR-RIV"]["reserved"] == UNITS_PARIS
    assert all(level["available"] == 0 and level["on_hand"] >= level["reserved"] for level in levels.values())
    hot2 = (await client.get("/api/v1/locations/WH-ORL/stock/HOT-2")).json()
    assert hot2["reserved"] == sold  # the second line was reserved only for orders that went through
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []
    orders = (await client.get("/api/v1/orders", params={"limit": 500})).json()["items"]
    assert sum(line["quantity"] for o in orders for line in o["lines"] if line["sku"] == "HOT-1") == sold


async def test_concurrent_replays_of_one_key_place_one_order(client, scarce, settings):
    statuses = await asyncio.to_thread(
        _run_hubs, settings,
        lambda hub, n: {"channel": "web", "fulfillment": "ship", "lines": [{"sku": "HOT-2", "quantity": 1}]},
        lambda hub, n: {"Idempotency-Key": "till-3-sale-0001"})
    assert statuses == Counter({201: HUBS * CLIENTS_PER_HUB})
    orders = (await client.get("/api/v1/orders")).json()["items"]
    assert len(orders) == 1
    assert (await client.get("/api/v1/locations/WH-ORL/stock/HOT-2")).json()["reserved"] == 1
