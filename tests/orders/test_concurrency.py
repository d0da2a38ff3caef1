"""Many clients, several channels and several hub instances racing for the last units of a SKU (tests.hubs)."""

import asyncio
from collections import Counter

import pytest

from tests.factories import make_network, make_product, put_stock
from tests.hubs import HUBS, race_posts

CLIENTS_PER_HUB, UNITS_WH, UNITS_PARIS = 15, 17, 8


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

    statuses = await asyncio.to_thread(race_posts, settings, "/api/v1/orders", CLIENTS_PER_HUB, body)
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
        race_posts, settings, "/api/v1/orders", CLIENTS_PER_HUB,
        lambda hub, n: {"channel": "web", "fulfillment": "ship", "lines": [{"sku": "HOT-2", "quantity": 1}]},
        lambda hub, n: {"Idempotency-Key": "till-3-sale-0001"})
    assert statuses == Counter({201: HUBS * CLIENTS_PER_HUB})
    orders = (await client.get("/api/v1/orders")).json()["items"]
    assert len(orders) == 1
    assert (await client.get("/api/v1/locations/WH-ORL/stock/HOT-2")).json()["reserved"] == 1
