"""On SQLite, write requests take turns (``kit.transaction.WritesInTurn``): a write waits for its turn before
anything is done for it, in the order the writes came; reads never wait for one."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from omnicanal.orders import service as orders
from tests.conftest import PG_URL
from tests.factories import make_network, make_product, put_stock

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="PostgreSQL runs writes side by side")


def order(reference: str) -> dict[str, Any]:
    return {"channel": "web", "fulfillment": "ship", "external_reference": reference,
            "lines": [{"sku": "SKU-1", "quantity": 1}]}


async def test_a_write_waits_for_its_turn_and_a_read_does_not(client, db, monkeypatch):
    await make_network(db)
    await make_product(db, "SKU-1")
    await put_stock(db, "SKU-1", "WH-ORL", 10)
    object.__setattr__(db, "write_turns", asyncio.Semaphore(1))  # one turn: who goes first is plain to see
    entered: list[str] = []
    first_inside, let_first_go = asyncio.Event(), asyncio.Event()
    place = orders.place_order

    async def held(session: Any, request: orders.OrderRequest, **options: Any) -> orders.PlacedOrder:
        entered.append(str(request.external_reference))
        if request.external_reference == "A":
            first_inside.set()
            await let_first_go.wait()
        return await place(session, request, **options)

    monkeypatch.setattr(orders, "place_order", held)
    first = asyncio.ensure_future(client.post("/api/v1/orders", json=order("A")))
    await first_inside.wait()
    second = asyncio.ensure_future(client.post("/api/v1/orders", json=order("B")))
    read = await client.get("/api/v1/availability/SKU-1")  # meanwhile, a read goes through
    assert read.status_code == 200 and read.json()["total"] == 10
    assert entered == ["A"] and not second.done()  # the second write waits for the first one's turn to end
    let_first_go.set()
    assert [(await first).status_code, (await second).status_code] == [201, 201]
    assert entered == ["A", "B"]
    assert (await client.get("/api/v1/availability/SKU-1")).json()["total"] == 8
