"""Many customers, several hub instances, racing for the places of one try-on slot and its scarce articles.

Each thread runs its own hub (its own engine and pool, like separate server processes); on PostgreSQL the
bookings are truly concurrent transactions, on SQLite they queue on the database lock.
"""

import asyncio
import threading
from collections import Counter

import httpx

from omnicanal.app import create_app
from tests.tryon.conftest import booking, level, slot_remaining

HUBS, CLIENTS_PER_HUB = 4, 10


async def _race(settings, bodies: list[dict]) -> list[int]:
    app = create_app(settings, background_jobs=False)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub",
                                     headers={"Authorization": "Bearer test-admin-token"}) as client:
            responses = await asyncio.gather(*(client.post("/api/v1/try-ons", json=body) for body in bodies))
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


async def _configure(client, capacity: int, max_items: int = 4) -> None:
    response = await client.put("/api/v1/locations/PAR-RIV/try-on-settings",
                                json={"capacity": capacity, "max_items": max_items})
    assert response.status_code == 200


async def test_racing_bookings_never_exceed_the_slots_capacity(client, store, settings):
    await client.put("/api/v1/locations/PAR-RIV/stock/DRESS-1", json={"on_hand": 1000})
    await _configure(client, capacity=7)
    statuses = await asyncio.to_thread(_run_hubs, settings, lambda hub, n: booking(("DRESS-1", 1)))
    assert statuses == Counter({201: 7, 409: HUBS * CLIENTS_PER_HUB - 7})
    assert await slot_remaining(client) == 0
    assert (await level(client, "PAR-RIV", "DRESS-1"))["reserved"] == 7  # only the booked ones hold stock
    listed = (await client.get("/api/v1/try-ons", params={"limit": 500})).json()["items"]
    assert len(listed) == 7
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []


async def test_racing_bookings_never_oversell_the_articles(client, store, settings):
    await _configure(client, capacity=1000, max_items=4)
    # Two articles in both orders (to provoke lock-order deadlocks if there were any): SHOE-1 has 2 units.
    lines = [("DRESS-1", 1), ("SHOE-1", 1)]
    statuses = await asyncio.to_thread(
        _run_hubs, settings, lambda hub, n: booking(*(lines if (hub + n) % 2 else reversed(lines))))
    assert statuses == Counter({201: 2, 409: HUBS * CLIENTS_PER_HUB - 2})
    shoes, dresses = await level(client, "PAR-RIV", "SHOE-1"), await level(client, "PAR-RIV", "DRESS-1")
    assert (shoes["reserved"], shoes["available"]) == (2, 0)
    assert dresses["reserved"] == 2  # a booking refused for shoes holds no dress either
    slot = (await client.get("/api/v1/locations/PAR-RIV/try-on-slots",
                             params={"date": booking()["slot_start"][:10]})).json()
    assert sum(s["booked"] for s in slot["slots"]) == 2  # refused bookings took no place
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []
