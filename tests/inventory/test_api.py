from datetime import timedelta

import pytest
from sqlalchemy import func, select

from omnicanal.events.models import OutboxEvent
from omnicanal.inventory.holds import expire_reservations
from omnicanal.inventory.models import StockMovement
from omnicanal.kit.clock import utcnow
from tests.factories import make_network, make_product, put_stock


@pytest.fixture
async def shop(db):
    await make_network(db)
    await make_product(db, "LAMP-1")
    await make_product(db, "VASE-1")


async def level(client, location, sku):
    response = await client.get(f"/api/v1/locations/{location}/stock/{sku}")
    assert response.status_code == 200, response.text
    return response.json()


async def ledger_balances(client) -> None:
    response = await client.get("/api/v1/stock/ledger-check")
    assert response.status_code == 200
    assert response.json() == []


async def test_a_count_sets_on_hand_and_the_ledger_records_the_difference(client, shop):
    first = await client.put("/api/v1/locations/PAR-RIV/stock/LAMP-1", json={"on_hand": 10, "safety": 2})
    assert first.status_code == 200
    assert first.json() == {"sku": "LAMP-1", "location": "PAR-RIV", "on_hand": 10, "reserved": 0, "safety": 2,
                            "available": 8}
    second = await client.put("/api/v1/locations/PAR-RIV/stock/LAMP-1", json={"on_hand": 7})
    assert second.json()["on_hand"] == 7 and second.json()["safety"] == 2
    moves = (await client.get("/api/v1/stock/movements", params={"sku": "LAMP-1"})).json()["items"]
    assert [(m["kind"], m["on_hand_delta"]) for m in moves] == [("count", 10), ("count", -3)]
    await ledger_balances(client)


async def test_receipts_and_adjustments_move_on_hand(client, shop):
    assert (await client.post("/api/v1/locations/WH-ORL/stock/VASE-1/receipts",
                              json={"quantity": 30, "reference": "PO-1"})).status_code == 201
    adjusted = await client.post("/api/v1/locations/WH-ORL/stock/VASE-1/adjustments",
                                 json={"delta": -4, "reason": "breakage"})
    assert adjusted.status_code == 201 and adjusted.json()["on_hand"] == 26
    too_many = await client.post("/api/v1/locations/WH-ORL/stock/VASE-1/adjustments",
                                 json={"delta": -27, "reason": "theft"})
    assert too_many.status_code == 409
    assert too_many.headers["content-type"] == "application/problem+json"
    assert (await level(client, "WH-ORL", "VASE-1"))["on_hand"] == 26
    await ledger_balances(client)


@pytest.mark.parametrize("body", [
    {"on_hand": -1}, {"on_hand": "ten"}, {}, {"on_hand": 5, "colour": "red"}, {"on_hand": 5, "safety": -2},
])
async def test_bad_counts_are_refused_and_change_nothing(client, shop, db, body):
    await put_stock(db, "LAMP-1", "PAR-RIV", 5)
    response = await client.put("/api/v1/locations/PAR-RIV/stock/LAMP-1", json=body)
    assert response.status_code == 422
    assert response.json()["status"] == 422 and response.json()["detail"]
    assert (await level(client, "PAR-RIV", "LAMP-1"))["on_hand"] == 5


async def test_unknown_sku_or_location_is_404(client, shop):
    assert (await client.put("/api/v1/locations/PAR-RIV/stock/NOPE", json={"on_hand": 1})).status_code == 404
    assert (await client.put("/api/v1/locations/NOWHERE/stock/LAMP-1", json={"on_hand": 1})).status_code == 404
    assert (await client.get("/api/v1/locations/LYO-PDI/stock/LAMP-1")).status_code == 404
    assert (await client.get("/api/v1/availability/NOPE")).status_code == 404


async def test_availability_per_channel_respects_capabilities_safety_and_buffers(client, shop, db):
    await put_stock(db, "LAMP-1", "WH-ORL", 20, safety=2)
    await put_stock(db, "LAMP-1", "PAR-RIV", 5)
    await put_stock(db, "LAMP-1", "LYO-PDI", 3)
    everywhere = (await client.get("/api/v1/availability/LAMP-1")).json()
    assert everywhere["total"] == 18 + 5 + 3
    web = (await client.get("/api/v1/availability/LAMP-1", params={"channel": "web"})).json()
    assert {e["location"]: e["available"] for e in web["locations"]} == {"WH-ORL": 18, "PAR-RIV": 5, "LYO-PDI": 3}
    market = (await client.get("/api/v1/availability/LAMP-1", params={"channel": "marketplace"})).json()
    assert market["total"] == 17 + 4 + 2  # one unit per location held back from the marketplace
    till = (await client.get("/api/v1/availability/LAMP-1", params={"channel": "pos"})).json()
    assert {e["location"] for e in till["locations"]} == {"PAR-RIV", "LYO-PDI"}  # stores that sell
    assert (await client.get("/api/v1/availability/LAMP-1", params={"channel": "fax"})).status_code == 404


async def test_a_reservation_holds_stock_until_it_expires(client, shop, db):
    await put_stock(db, "LAMP-1", "LYO-PDI", 2)
    held = await client.post("/api/v1/reservations", json={
        "sku": "LAMP-1", "location": "LYO-PDI", "quantity": 2, "expires_in_seconds": 60, "reference": "cart-9"})
    assert held.status_code == 201 and held.json()["status"] == "active"
    assert (await level(client, "LYO-PDI", "LAMP-1"))["available"] == 0
    refused = await client.post("/api/v1/reservations", json={"sku": "LAMP-1", "location": "LYO-PDI", "quantity": 1})
    assert refused.status_code == 409 and refused.json()["shortages"][0]["sku"] == "LAMP-1"

    async with db.writer() as session:  # the server's sweeper, one minute later
        assert await expire_reservations(session, now=utcnow() + timedelta(seconds=61)) == 1
        await session.commit()
    assert (await client.get(f"/api/v1/reservations/{held.json()['id']}")).json()["status"] == "expired"
    assert (await level(client, "LYO-PDI", "LAMP-1")) == {
        "sku": "LAMP-1", "location": "LYO-PDI", "on_hand": 2, "reserved": 0, "safety": 0, "available": 2}
    await ledger_balances(client)


async def test_an_expired_hold_is_freed_for_the_next_customer_without_waiting_for_the_sweeper(client, shop, db):
    await put_stock(db, "LAMP-1", "LYO-PDI", 1)
    first = await client.post("/api/v1/reservations", json={
        "sku": "LAMP-1", "location": "LYO-PDI", "quantity": 1, "expires_in_seconds": 1})
    async with db.writer() as session:  # let the hold lapse without any sweep
        from omnicanal.inventory.models import Reservation
        reservation = await session.get(Reservation, first.json()["id"])
        reservation.expires_at = utcnow() - timedelta(seconds=1)
        await session.commit()
    second = await client.post("/api/v1/reservations", json={"sku": "LAMP-1", "location": "LYO-PDI", "quantity": 1})
    assert second.status_code == 201
    assert (await client.get(f"/api/v1/reservations/{first.json()['id']}")).json()["status"] == "expired"
    assert (await level(client, "LYO-PDI", "LAMP-1"))["reserved"] == 1


async def test_releasing_twice_is_refused(client, shop, db):
    await put_stock(db, "LAMP-1", "LYO-PDI", 3)
    held = (await client.post("/api/v1/reservations", json={"sku": "LAMP-1", "location": "LYO-PDI", "quantity": 3}))
    url = f"/api/v1/reservations/{held.json()['id']}/release"
    assert (await client.post(url)).json()["status"] == "released"
    assert (await client.post(url)).status_code == 409
    assert (await level(client, "LYO-PDI", "LAMP-1"))["reserved"] == 0


async def test_a_transfer_leaves_now_and_arrives_when_received(client, shop, db):
    await put_stock(db, "LAMP-1", "WH-ORL", 10)
    sent = await client.post("/api/v1/transfers", json={
        "from": "WH-ORL", "to": "LYO-PDI", "lines": [{"sku": "LAMP-1", "quantity": 4}], "reason": "rebalance"})
    assert sent.status_code == 201 and sent.json()["status"] == "in_transit"
    assert (await level(client, "WH-ORL", "LAMP-1"))["on_hand"] == 6
    received = await client.post(f"/api/v1/transfers/{sent.json()['id']}/receive")
    assert received.json()["status"] == "received"
    assert (await level(client, "LYO-PDI", "LAMP-1"))["on_hand"] == 4
    assert (await client.post(f"/api/v1/transfers/{sent.json()['id']}/cancel")).status_code == 409
    await ledger_balances(client)


async def test_a_transfer_of_more_than_is_free_writes_nothing(client, shop, db):
    await put_stock(db, "LAMP-1", "WH-ORL", 3)
    await put_stock(db, "VASE-1", "WH-ORL", 10)
    async with db.reader() as session:
        events_before = await session.scalar(select(func.count()).select_from(OutboxEvent))
        moves_before = await session.scalar(select(func.count()).select_from(StockMovement))
    sent = await client.post("/api/v1/transfers", json={"from": "WH-ORL", "to": "PAR-RIV", "lines": [
        {"sku": "VASE-1", "quantity": 5}, {"sku": "LAMP-1", "quantity": 4}]})
    assert sent.status_code == 409
    assert [s["sku"] for s in sent.json()["shortages"]] == ["LAMP-1"]
    assert (await level(client, "WH-ORL", "VASE-1"))["on_hand"] == 10
    async with db.reader() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxEvent)) == events_before
        assert await session.scalar(select(func.count()).select_from(StockMovement)) == moves_before


async def test_every_stock_change_emits_an_event(client, shop, db):
    await client.put("/api/v1/locations/PAR-RIV/stock/LAMP-1", json={"on_hand": 4})
    events = (await client.get("/api/v1/events", params={"type": "stock.changed"})).json()["items"]
    assert events[-1]["subject"] == "LAMP-1@PAR-RIV"
    assert events[-1]["data"]["on_hand"] == 4 and events[-1]["data"]["kind"] == "count"
    assert events[-1]["specversion"] == "1.0"


async def test_stock_lists_paginate(client, shop, db):
    for n in range(5):
        await make_product(db, f"SKU-{n}")
        await put_stock(db, f"SKU-{n}", "PAR-RIV", n + 1)
    seen, cursor = [], None
    while True:
        page = (await client.get("/api/v1/locations/PAR-RIV/stock",
                                 params={"limit": 2, **({"cursor": cursor} if cursor else {})})).json()
        seen += [item["sku"] for item in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [f"SKU-{n}" for n in range(5)]
    assert (await client.get("/api/v1/locations/PAR-RIV/stock", params={"cursor": "garbage!"})).status_code == 422
    assert (await client.get("/api/v1/locations/PAR-RIV/stock", params={"limit": 501})).status_code == 422
