"""Many customers, several hub instances, racing for the places of one try-on slot and its scarce articles
(tests.hubs)."""

import asyncio
from collections import Counter

from tests.hubs import HUBS, race_posts
from tests.tryon.conftest import booking, level, slot_remaining

CLIENTS_PER_HUB = 10


async def _configure(client, capacity: int, max_items: int = 4) -> None:
    response = await client.put("/api/v1/locations/PAR-RIV/try-on-settings",
                                json={"capacity": capacity, "max_items": max_items})
    assert response.status_code == 200


async def test_racing_bookings_never_exceed_the_slots_capacity(client, store, settings):
    await client.put("/api/v1/locations/PAR-RIV/stock/DRESS-1", json={"on_hand": 1000})
    await _configure(client, capacity=7)
    statuses = await asyncio.to_thread(race_posts, settings, "/api/v1/try-ons", CLIENTS_PER_HUB,
                                       lambda hub, n: booking(("DRESS-1", 1)))
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
        race_posts, settings, "/api/v1/try-ons", CLIENTS_PER_HUB,
        lambda hub, n: booking(*(lines if (hub + n) % 2 else reversed(lines))))
    assert statuses == Counter({201: 2, 409: HUBS * CLIENTS_PER_HUB - 2})
    shoes, dresses = await level(client, "PAR-RIV", "SHOE-1"), await level(client, "PAR-RIV", "DRESS-1")
    assert (shoes["reserved"], shoes["available"]) == (2, 0)
    assert dresses["reserved"] == 2  # a booking refused for shoes holds no dress either
    slot = (await client.get("/api/v1/locations/PAR-RIV/try-on-slots",
                             params={"date": booking()["slot_start"][:10]})).json()
    assert sum(s["booked"] for s in slot["slots"]) == 2  # refused bookings took no place
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []
