"""The cross-channel journeys (returns, try-ons, click & collect, parcels) keep to the caller's scope.

Léa works at the Lyon store (LYO-PDI): she reaches Lyon's returns, try-ons, pickups and parcels and is refused
Paris's (PAR-RIV) with a 403 ``outside-scope`` — while she may take back any channel's order at her own counter.
An integration key speaks for its channel: the web shop's key is refused the app's orders.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from omnicanal.access.rules import Role
from omnicanal.audit.models import AuditEntry
from tests.access.factories import is_problem
from tests.factories import make_network, make_product, put_stock
from tests.tryon.conftest import EVERY_DAY, booking

LYON, PARIS = "LYO-PDI", "PAR-RIV"


@pytest.fixture
async def shop(db, client):
    """Two stores open every day with try-ons, a warehouse, a lamp and a vase in stock everywhere."""
    await make_network(db)
    for sku in ("LAMP-1", "VASE-1"):
        await make_product(db, sku, 2000)
        for site in ("WH-ORL", PARIS, LYON):
            await put_stock(db, sku, site, 20)
    for store in (PARIS, LYON):
        assert (await client.patch(f"/api/v1/locations/{store}", json={"opening_hours": EVERY_DAY})).status_code == 200
        assert (await client.put(f"/api/v1/locations/{store}/try-on-settings",
                                 json={"slot_minutes": 30, "capacity": 2})).status_code == 200


@pytest.fixture
async def lea(shop, key_for):
    return await key_for(Role.STORE_ASSOCIATE, locations=[LYON])


async def customer_of(client, home: str) -> str:
    created = await client.post("/api/v1/customers", json={"first_name": "Ana", "last_name": "Lopes",
                                                          "home_location": home})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def order(client, **body) -> dict:
    body = {"lines": [{"sku": "VASE-1", "quantity": 2}], **body}
    placed = await client.post("/api/v1/orders", json=body)
    assert placed.status_code == 201, placed.text
    return dict(placed.json())


async def delivered(client, channel: str, **extra) -> dict:
    placed = await order(client, channel=channel, fulfillment="ship", **extra)
    assert (await client.post(f"/api/v1/orders/{placed['id']}/ship")).status_code == 200
    assert (await client.post(f"/api/v1/orders/{placed['id']}/deliver")).status_code == 200
    return placed


def taken_back(order_id: str, location: str | None = PARIS, method: str = "in_store") -> dict:
    return {"order_id": order_id, "method": method, "location": location,
            "lines": [{"sku": "VASE-1", "quantity": 1}]}


def outside_scope(response) -> bool:
    return is_problem(response, 403) and response.json()["type"].endswith("/outside-scope")


async def audited(db, customer: str, principal_kind: str = "api_key") -> list[str]:
    async with db.reader() as session:
        return list((await session.scalars(select(AuditEntry.route).where(
            AuditEntry.subject_id == customer, AuditEntry.principal_kind == principal_kind,
            AuditEntry.outcome == "done"))).all())


# --- returns ----------------------------------------------------------------------------------------------------

async def test_a_lyon_associate_is_refused_paris_returns(client, lea):
    customer = await customer_of(client, PARIS)
    sale = await order(client, channel="pos", fulfillment="carry_out", location=PARIS, customer=customer)
    paris = (await client.post("/api/v1/returns", json=taken_back(sale["id"]))).json()
    for refused in (await client.get(f"/api/v1/returns/{paris['id']}", headers=lea),
                    await client.post(f"/api/v1/returns/{paris['id']}/refund", headers=lea),
                    await client.get("/api/v1/returns", params={"location": PARIS}, headers=lea),
                    await client.get(f"/api/v1/orders/{sale['id']}/returns", headers=lea)):
        assert outside_scope(refused)
    assert (await client.get(f"/api/v1/returns/{paris['id']}")).json()["status"] == "received"  # not refunded
    assert (await client.get("/api/v1/returns", headers=lea)).json()["items"] == []


async def test_a_lyon_associate_takes_back_a_paris_order_and_then_sees_that_return(client, lea, db):
    customer = await customer_of(client, PARIS)
    sale = await order(client, channel="pos", fulfillment="carry_out", location=PARIS, customer=customer)
    paris = (await client.post("/api/v1/returns", json=taken_back(sale["id"]))).json()
    returnable = await client.get(f"/api/v1/orders/{sale['id']}/returnable", headers=lea)
    assert returnable.status_code == 200 and returnable.json()["lines"][0]["returnable"] == 1
    lyon = await client.post("/api/v1/returns", json=taken_back(sale["id"], LYON), headers=lea)
    assert lyon.status_code == 201, lyon.text
    assert (await client.get(f"/api/v1/returns/{lyon.json()['id']}", headers=lea)).json()["location"] == LYON
    for path in ("/api/v1/returns", f"/api/v1/orders/{sale['id']}/returns"):
        seen = await client.get(path, headers=lea)
        assert [r["id"] for r in seen.json()["items"]] == [lyon.json()["id"]], path  # not Paris's
    assert paris["id"] not in [r["id"] for r in (await client.get("/api/v1/returns", headers=lea)).json()["items"]]
    assert sorted(await audited(db, customer)) == ["GET /api/v1/orders/{order_id}/returns",
                                                   "GET /api/v1/returns/{return_id}"]


async def test_the_web_shops_key_is_refused_an_app_orders_returns(client, shop, key_for):
    app_order = await delivered(client, "app")
    web, app = await key_for(Role.INTEGRATION, channel="web"), await key_for(Role.INTEGRATION, channel="app")
    mail = taken_back(app_order["id"], None, method="mail")
    await client.patch("/api/v1/locations/WH-ORL", json={"capabilities": {"returns": True}})
    for refused in (await client.get(f"/api/v1/orders/{app_order['id']}/returnable", headers=web),
                    await client.get(f"/api/v1/orders/{app_order['id']}/returns", headers=web),
                    await client.post("/api/v1/returns", json=mail, headers=web)):
        assert outside_scope(refused)
    assert (await client.get(f"/api/v1/orders/{app_order['id']}/returns")).json()["items"] == []  # nothing written
    assert (await client.get(f"/api/v1/orders/{app_order['id']}/returnable", headers=app)).status_code == 200
    assert (await client.post("/api/v1/returns", json=mail, headers=app)).status_code == 201


# --- try-ons ----------------------------------------------------------------------------------------------------

async def book(client, store: str, customer: str) -> dict:
    booked = await client.post("/api/v1/try-ons", json=booking(("LAMP-1", 1), location=store, customer=customer))
    assert booked.status_code == 201, booked.text
    return dict(booked.json())


async def test_a_lyon_associate_reaches_lyon_try_ons_and_is_refused_paris_ones(client, lea, db):
    parisian, lyonnaise = await customer_of(client, PARIS), await customer_of(client, LYON)
    paris, lyon = await book(client, PARIS, parisian), await book(client, LYON, lyonnaise)
    for refused in (await client.get(f"/api/v1/try-ons/{paris['id']}", headers=lea),
                    await client.post(f"/api/v1/try-ons/{paris['id']}/check-in", headers=lea),
                    await client.post(f"/api/v1/try-ons/{paris['id']}/cancel", headers=lea),
                    await client.get("/api/v1/try-ons", params={"location": PARIS}, headers=lea),
                    await client.get(f"/api/v1/customers/{parisian}/try-ons", headers=lea)):
        assert outside_scope(refused)
    assert (await client.get(f"/api/v1/try-ons/{paris['id']}")).json()["status"] == "booked"
    assert [t["id"] for t in (await client.get("/api/v1/try-ons", headers=lea)).json()["items"]] == [lyon["id"]]
    assert (await client.get(f"/api/v1/try-ons/{lyon['id']}", headers=lea)).status_code == 200
    checked_in = await client.post(f"/api/v1/try-ons/{lyon['id']}/check-in", headers=lea)
    assert checked_in.status_code == 200 and checked_in.json()["status"] == "checked_in"
    record = await client.get(f"/api/v1/customers/{lyonnaise}/try-ons", headers=lea)
    assert record.status_code == 200 and record.json()["total"] == 1
    assert sorted(await audited(db, lyonnaise)) == ["GET /api/v1/customers/{customer_id}/try-ons",
                                                    "GET /api/v1/try-ons/{try_on_id}"]
    assert await audited(db, parisian) == []


async def test_the_web_shops_key_is_refused_the_apps_try_ons(client, shop, key_for):
    app_booking = await client.post("/api/v1/try-ons", json=booking(("LAMP-1", 1), channel="app"))
    web = await key_for(Role.INTEGRATION, channel="web")
    assert outside_scope(await client.get(f"/api/v1/try-ons/{app_booking.json()['id']}", headers=web))
    assert (await client.get("/api/v1/try-ons", headers=web)).json()["items"] == []


# --- click & collect and parcels -------------------------------------------------------------------------------

async def test_a_lyon_associate_runs_lyons_pickups_and_is_refused_paris_ones(client, lea, db):
    parisian, lyonnaise = await customer_of(client, PARIS), await customer_of(client, LYON)
    paris = await order(client, channel="web", fulfillment="pickup", location=PARIS, customer=parisian)
    lyon = await order(client, channel="web", fulfillment="pickup", location=LYON, customer=lyonnaise)
    for refused in (await client.get(f"/api/v1/locations/{PARIS}/pickup-tasks", headers=lea),
                    await client.get(f"/api/v1/orders/{paris['id']}/pickup", headers=lea),
                    await client.post(f"/api/v1/orders/{paris['id']}/pickup/start", headers=lea),
                    await client.post(f"/api/v1/orders/{paris['id']}/collect", json={"code": "123456"},
                                      headers=lea)):
        assert outside_scope(refused)
    assert (await client.get(f"/api/v1/orders/{paris['id']}/pickup")).json()["state"] == "to_prepare"
    tasks = (await client.get(f"/api/v1/locations/{LYON}/pickup-tasks", headers=lea)).json()["items"]
    assert [t["order_id"] for t in tasks] == [lyon["id"]]
    assert (await client.post(f"/api/v1/orders/{lyon['id']}/pickup/start", headers=lea)).status_code == 200
    seen = await client.get(f"/api/v1/orders/{lyon['id']}/pickup", headers=lea)
    assert seen.status_code == 200 and seen.json()["state"] == "preparing"
    assert await audited(db, lyonnaise) == ["GET /api/v1/orders/{order_id}/pickup"]


async def test_the_web_shops_key_is_refused_an_app_orders_pickup(client, shop, key_for):
    app_pickup = await order(client, channel="app", fulfillment="pickup", location=LYON)
    web_pickup = await order(client, channel="web", fulfillment="pickup", location=LYON)
    web = await key_for(Role.INTEGRATION, channel="web")
    for refused in (await client.get(f"/api/v1/orders/{app_pickup['id']}/pickup", headers=web),
                    await client.post(f"/api/v1/orders/{app_pickup['id']}/pickup/start", headers=web),
                    await client.get("/api/v1/pickup-options", params={"channel": "app", "sku": "LAMP-1"},
                                     headers=web)):
        assert outside_scope(refused)
    assert (await client.get(f"/api/v1/orders/{app_pickup['id']}/pickup")).json()["state"] == "to_prepare"
    tasks = (await client.get(f"/api/v1/locations/{LYON}/pickup-tasks", headers=web)).json()["items"]
    assert [t["order_id"] for t in tasks] == [web_pickup["id"]]
    options = await client.get("/api/v1/pickup-options", params={"channel": "web", "sku": "LAMP-1"}, headers=web)
    assert options.status_code == 200 and {o["location"] for o in options.json()["options"]} == {PARIS, LYON}


async def test_a_lyon_associate_follows_parcels_of_lyons_orders_only(client, lea):
    parcel = {"carrier": "colissimo", "tracking_number": "6A0001"}
    paris = await order(client, channel="web", fulfillment="ship", origin_location=PARIS)
    lyon = await order(client, channel="web", fulfillment="ship", origin_location=LYON)  # the endless aisle
    shipped = (await client.post(f"/api/v1/orders/{paris['id']}/shipments", json=parcel)).json()
    for refused in (await client.get(f"/api/v1/shipments/{shipped['id']}", headers=lea),
                    await client.post(f"/api/v1/shipments/{shipped['id']}/deliver", headers=lea),
                    await client.get(f"/api/v1/orders/{paris['id']}/shipments", headers=lea),
                    await client.post(f"/api/v1/orders/{paris['id']}/shipments",
                                      json={**parcel, "tracking_number": "6A0002"}, headers=lea)):
        assert outside_scope(refused)
    assert (await client.get(f"/api/v1/shipments/{shipped['id']}")).json()["status"] == "shipped"
    sent = await client.post(f"/api/v1/orders/{lyon['id']}/shipments", json={**parcel, "tracking_number": "6A0003"},
                             headers=lea)
    assert sent.status_code == 201, sent.text
    assert (await client.get(f"/api/v1/shipments/{sent.json()['id']}", headers=lea)).status_code == 200
    listed = (await client.get(f"/api/v1/orders/{lyon['id']}/shipments", headers=lea)).json()["items"]
    assert [s["id"] for s in listed] == [sent.json()["id"]]
