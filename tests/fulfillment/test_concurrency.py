"""Click & collect and shipped orders racing for the same scarce article across stores, several hub instances
at once (each thread runs its own hub and connection pool, as separate servers behind a load balancer would);
then handovers racing the expiry job. On PostgreSQL these are truly concurrent transactions, on SQLite they
queue on the database lock. Whatever the interleaving: no unit is promised twice, no reservation is left
behind by a hold that lapsed or an order that ended, and the ledger balances.
"""

import asyncio
from collections import Counter
from datetime import timedelta

import pytest

from omnicanal.fulfillment.pickups import expire_uncollected_pickups
from omnicanal.inventory.holds import reserve_stock
from omnicanal.inventory.sweeper import sweep_once
from omnicanal.kit.clock import utcnow
from tests.factories import make_network, make_product, put_stock
from tests.hubs import race_posts, run_in_hubs

CLIENTS_PER_HUB = 15
STOCK = {"PAR-RIV": 6, "LYO-PDI": 4, "WH-ORL": 8}
LAPSED_HOLDS = 2  # per location: carts abandoned long ago whose holds the sweeper has not cleared yet


def _order_body(hub: int, n: int) -> dict:
    kind = (hub + n) % 4
    lines = [{"sku": "HOT-1", "quantity": 1 + n % 2}, {"sku": "COLD-1", "quantity": 1}]
    if n % 3:
        lines.reverse()  # both lock orders, to provoke deadlocks if there were any
    channel = ("web", "app", "kiosk")[n % 3]
    if kind == 0:
        return {"channel": channel, "fulfillment": "ship", "lines": lines}
    store = "PAR-RIV" if kind == 1 else "LYO-PDI"
    return {"channel": channel, "fulfillment": "pickup", "location": store, "lines": lines,
            "allow_transfer": kind == 3}


@pytest.fixture
async def scarce(db):
    await make_network(db)
    await make_product(db, "HOT-1")
    await make_product(db, "COLD-1")
    for location, units in STOCK.items():
        await put_stock(db, "HOT-1", location, units)
        await put_stock(db, "COLD-1", location, 1000)
    async with db.writer() as session:
        for location in STOCK:
            for _ in range(LAPSED_HOLDS):
                await reserve_stock(session, sku="HOT-1", location=location, quantity=1,
                                    expires_at=utcnow() - timedelta(seconds=1), reference="abandoned cart")
        await session.commit()


async def _stock(client, location: str, sku: str = "HOT-1") -> dict:
    return (await client.get(f"/api/v1/locations/{location}/stock/{sku}")).json()


async def _held_by_orders(client) -> Counter:
    """Units of HOT-1 that open orders hold, per location."""
    held: Counter = Counter()
    orders = (await client.get("/api/v1/orders", params={"limit": 500})).json()["items"]
    for order in orders:
        if order["status"] in ("confirmed", "preparing", "ready"):
            for line in order["lines"]:
                if line["sku"] == "HOT-1" and line["location"]:
                    held[line["location"]] += line["quantity"]
    return held


async def test_racing_pickups_and_parcels_never_oversell_nor_leak_reservations(client, scarce, settings, db):
    statuses = await asyncio.to_thread(race_posts, settings, "/api/v1/orders", CLIENTS_PER_HUB, _order_body)
    assert set(statuses) <= {201, 409} and statuses[201] > 0 and statuses[409] > 0
    await sweep_once(db, settings)  # the lapsed cart holds go; the orders' reservations stay

    held = await _held_by_orders(client)
    for location, units in STOCK.items():
        level = await _stock(client, location)
        assert level["on_hand"] == units
        assert level["reserved"] == held[location], location  # nothing reserved but what orders hold
        assert level["available"] >= 0
    assert sum(held.values()) <= sum(STOCK.values())
    cold = await _stock(client, "WH-ORL", "COLD-1")
    assert cold["reserved"] <= statuses[201]  # the second line was kept only by orders that went through
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []


async def test_handovers_racing_the_expiry_job_end_each_order_once(client, scarce, settings, db):
    await sweep_once(db, settings)
    codes = {}
    for _ in range(5):
        order = (await client.post("/api/v1/orders", json={
            "channel": "web", "fulfillment": "pickup", "location": "PAR-RIV",
            "lines": [{"sku": "HOT-1", "quantity": 1}]})).json()
        await client.post(f"/api/v1/orders/{order['id']}/pickup/start")
        codes[order["id"]] = (await client.post(f"/api/v1/orders/{order['id']}/pickup/ready")).json()["code"]
    assert (await _stock(client, "PAR-RIV"))["reserved"] == 5
    deadline_passed = utcnow() + timedelta(days=30)

    async def race(hub_client, app, hub):
        async def expire() -> int:
            async with app.state.db.writer() as session:
                expired = await expire_uncollected_pickups(session, now=deadline_passed)
                await session.commit()
            return expired

        collects = [hub_client.post(f"/api/v1/orders/{oid}/collect", json={"code": code})
                    for oid, code in codes.items()]
        results = await asyncio.gather(expire(), *collects)
        return [("expired", results[0])] + [("collect", r.status_code) for r in results[1:]]

    outcomes = await asyncio.to_thread(run_in_hubs, settings, race)
    collected = sum(1 for kind, status in outcomes if kind == "collect" and status == 200)
    expired = sum(n for kind, n in outcomes if kind == "expired")
    assert {status for kind, status in outcomes if kind == "collect"} <= {200, 409}
    assert collected + expired == len(codes)  # each order ended exactly once
    final = Counter()
    for oid in codes:
        final[(await client.get(f"/api/v1/orders/{oid}")).json()["status"]] += 1
    assert final == Counter({"collected": collected, "expired": expired}) - Counter()
    level = await _stock(client, "PAR-RIV")
    assert (level["on_hand"], level["reserved"]) == (STOCK["PAR-RIV"] - collected, 0)
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []
