"""Many hubs routing ship orders at once for scarce SKUs held by several locations, while stores refuse
orders: never a unit promised twice, the ledger always balanced (tests.hubs)."""

import asyncio
import functools
from collections import Counter

from tests.factories import make_product, put_stock
from tests.hubs import run_in_hubs
from tests.routing.factories import MARSEILLE, PARIS, make_routing_network

CLIENTS_PER_HUB = 12
UNITS = {"WH-ORL": 9, "PAR-RIV": 5, "MRS-TDP": 4, "LIL-EUR": 3}


async def _place_and_refuse(client, _app, hub: int, make_body) -> list[tuple[str, int]]:
    responses = await asyncio.gather(*(client.post("/api/v1/orders", json=make_body(hub, n))
                                       for n in range(CLIENTS_PER_HUB)))
    placed = [r.json()["id"] for r in responses if r.status_code == 201]
    # each hub's first store-routed order is refused by its store, racing the other orders
    refusals = []
    for order_id in placed[:2]:
        order = (await client.get(f"/api/v1/orders/{order_id}")).json()
        store = next((li["location"] for li in order["lines"] if li["location"] != "WH-ORL"), None)
        if store:
            refusals.append(await client.post(f"/api/v1/orders/{order_id}/reject",
                                              json={"location": store, "reason": "no_variance"}))
    return [("order", r.status_code) for r in responses] + [("refusal", r.status_code) for r in refusals]


async def test_concurrent_routing_never_promises_a_unit_twice(client, db, settings):
    await make_routing_network(db)
    await make_product(db, "HOT-1")
    await make_product(db, "BULK-1")
    for location, units in UNITS.items():
        await put_stock(db, "HOT-1", location, units)
    await put_stock(db, "BULK-1", "WH-ORL", 1000)

    def body(hub, n):
        lines = [{"sku": "HOT-1", "quantity": 1}, {"sku": "BULK-1", "quantity": 1}]
        return {"channel": ("web", "app", "kiosk")[(hub + n) % 3], "fulfillment": "ship",
                "ship_to": (PARIS, MARSEILLE)[n % 2], "lines": lines if n % 2 else lines[::-1]}

    outcomes = await asyncio.to_thread(run_in_hubs, settings, functools.partial(_place_and_refuse, make_body=body))
    statuses = Counter(status for kind, status in outcomes if kind == "order")
    refusals = Counter(status for kind, status in outcomes if kind == "refusal")
    assert set(statuses) <= {201, 409} and set(refusals) <= {200}  # no 500, no deadlock
    levels = [(await client.get(f"/api/v1/locations/{loc}/stock/HOT-1")).json() for loc in UNITS]
    assert all(0 <= level["reserved"] <= level["on_hand"] for level in levels)
    orders = (await client.get("/api/v1/orders", params={"limit": 500})).json()["items"]
    held = sum(li["quantity"] for o in orders for li in o["lines"] if li["sku"] == "HOT-1" and li["location"])
    assert held == sum(level["reserved"] for level in levels)  # every reserved unit belongs to one order line
    assert 0 < held <= sum(UNITS.values())
    by_status = Counter(o["status"] for o in orders)
    assert by_status["confirmed"] == held and by_status["confirmed"] + by_status["backordered"] == statuses[201]
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []
