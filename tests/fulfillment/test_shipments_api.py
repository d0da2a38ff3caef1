"""Parcels: partial shipments, delivery, the /ship and /deliver shortcuts, and what they refuse."""

import pytest

from tests.fulfillment.support import build_shop, counts, events, level, pickup, place


@pytest.fixture
async def shop(db):
    await build_shop(db)


def ship(*lines, channel="web", **extra):
    return {"channel": channel, "fulfillment": "ship",
            "lines": [{"sku": sku, "quantity": qty} for sku, qty in lines], **extra}


def parcel(tracking: str, lines=None, cost=None) -> dict:
    body: dict = {"carrier": "colissimo", "tracking_number": tracking}
    if lines is not None:
        body["lines"] = lines
    if cost is not None:
        body["cost"] = cost
    return body


async def test_partial_parcels_then_delivery(client, shop):
    order = await place(client, ship(("LAMP-1", 3), ("RUG-1", 1)))
    oid = order["id"]
    assert {li["location"] for li in order["lines"]} == {"WH-ORL"}
    first = await client.post(f"/api/v1/orders/{oid}/shipments",
                              json=parcel("6A001", [{"line_no": 1, "quantity": 2}], {"amount": 690, "currency": "EUR"}))
    assert first.status_code == 201, first.text
    assert first.json()["lines"] == [{"line_no": 1, "sku": "LAMP-1", "quantity": 2}]
    assert first.json()["location"] == "WH-ORL" and first.json()["cost"] == {"amount": 690, "currency": "EUR"}
    assert (await client.get(f"/api/v1/orders/{oid}")).json()["status"] == "partially_shipped"
    assert await level(client, "WH-ORL", "LAMP-1") == (8, 1)
    assert (await client.post(f"/api/v1/orders/{oid}/cancel")).status_code == 409  # some of it has left

    second = await client.post(f"/api/v1/orders/{oid}/shipments", json=parcel("6A002"))  # everything left
    assert second.json()["lines"] == [{"line_no": 1, "sku": "LAMP-1", "quantity": 1},
                                      {"line_no": 2, "sku": "RUG-1", "quantity": 1}]
    assert (await client.get(f"/api/v1/orders/{oid}")).json()["status"] == "shipped"
    assert await level(client, "WH-ORL", "LAMP-1") == (7, 0) and await level(client, "WH-ORL", "RUG-1") == (3, 0)

    delivered = await client.post(f"/api/v1/shipments/{first.json()['id']}/deliver")
    assert delivered.json()["status"] == "delivered" and delivered.json()["delivered_at"]
    assert (await client.get(f"/api/v1/orders/{oid}")).json()["status"] == "shipped"  # one parcel still out
    assert (await client.post(f"/api/v1/shipments/{first.json()['id']}/deliver")).status_code == 409
    await client.post(f"/api/v1/shipments/{second.json()['id']}/deliver")
    assert (await client.get(f"/api/v1/orders/{oid}")).json()["status"] == "delivered"

    listed = (await client.get(f"/api/v1/orders/{oid}/shipments")).json()
    assert [s["tracking_number"] for s in listed["items"]] == ["6A001", "6A002"] and listed["next"] is None
    assert all(s["shipped_at"] <= s["delivered_at"] for s in listed["items"])
    assert (await client.get(f"/api/v1/shipments/{second.json()['id']}")).json() == listed["items"][1]
    assert [e["type"] for e in await events(client, ["order.partially_shipped", "order.shipped", "order.delivered"])
            ] == ["order.partially_shipped", "order.shipped", "order.delivered"]
    assert len(await events(client, "shipment.created")) == 2
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []


async def test_the_ship_shortcut_sends_one_parcel_per_location(client, shop):
    order = await place(client, ship(("RUG-1", 1), ("VASE-1", 1)))  # the rug in Orléans, the vase in Paris
    oid = order["id"]
    assert (await client.post(f"/api/v1/orders/{oid}/ship")).json()["status"] == "shipped"
    parcels = (await client.get(f"/api/v1/orders/{oid}/shipments")).json()["items"]
    assert sorted((p["location"], p["lines"][0]["sku"], p["carrier"]) for p in parcels) == [
        ("PAR-RIV", "VASE-1", None), ("WH-ORL", "RUG-1", None)]
    assert (await client.post(f"/api/v1/orders/{oid}/deliver")).json()["status"] == "delivered"
    assert {p["status"] for p in (await client.get(f"/api/v1/orders/{oid}/shipments")).json()["items"]} == {
        "delivered"}


async def test_a_parcel_leaves_from_one_location(client, shop, db):
    oid = (await place(client, ship(("RUG-1", 1), ("VASE-1", 1))))["id"]
    before = await counts(db)
    mixed = await client.post(f"/api/v1/orders/{oid}/shipments", json=parcel("X1"))
    assert mixed.status_code == 422 and "one location" in mixed.json()["detail"]
    assert await counts(db) == before
    ok = await client.post(f"/api/v1/orders/{oid}/shipments", json=parcel("X1", [{"line_no": 2}]))
    assert ok.status_code == 201 and ok.json()["location"] == "PAR-RIV"


@pytest.mark.parametrize(("body", "status"), [
    (parcel("T1", [{"line_no": 1, "quantity": 3}]), 422),  # two ordered
    (parcel("T1", [{"line_no": 9}]), 422),
    (parcel("T1", [{"line_no": 1}, {"line_no": 1}]), 422),
    (parcel("T1", []), 422),
    ({"carrier": "", "tracking_number": "T1"}, 422),
    ({"tracking_number": "T1"}, 422),
    (parcel("T1", cost={"amount": -1, "currency": "EUR"}), 422),
    (parcel("T1", cost={"amount": 100, "currency": "euro"}), 422),
    ({**parcel("T1"), "weight": 3}, 422),
    (parcel("TAKEN"), 409),  # another parcel's tracking number
])
async def test_bad_parcels_change_nothing(client, shop, db, body, status):
    other = (await place(client, ship(("RUG-1", 1))))["id"]
    await client.post(f"/api/v1/orders/{other}/shipments", json=parcel("TAKEN"))
    oid = (await place(client, ship(("LAMP-1", 2))))["id"]
    before = await counts(db)
    response = await client.post(f"/api/v1/orders/{oid}/shipments", json=body)
    assert response.status_code == status, response.text
    assert await counts(db) == before
    assert (await client.get(f"/api/v1/orders/{oid}")).json()["status"] == "confirmed"


async def test_parcels_only_for_open_ship_orders(client, shop):
    assert (await client.post("/api/v1/orders/ord_nope/shipments", json=parcel("N1"))).status_code == 404
    assert (await client.post("/api/v1/shipments/shp_nope/deliver")).status_code == 404
    assert (await client.get("/api/v1/shipments/shp_nope")).status_code == 404
    cancelled = (await place(client, ship(("LAMP-1", 1))))["id"]
    await client.post(f"/api/v1/orders/{cancelled}/cancel")
    assert (await client.post(f"/api/v1/orders/{cancelled}/shipments", json=parcel("N2"))).status_code == 409
    collect = (await place(client, pickup(("VASE-1", 1))))["id"]
    assert (await client.post(f"/api/v1/orders/{collect}/shipments", json=parcel("N3"))).status_code == 409
    till = await place(client, {"channel": "pos", "fulfillment": "carry_out", "location": "PAR-RIV",
                                "lines": [{"sku": "VASE-1", "quantity": 1}]})
    assert (await client.post(f"/api/v1/orders/{till['id']}/shipments", json=parcel("N4"))).status_code == 409
    shipped = (await place(client, ship(("LAMP-1", 1))))["id"]
    await client.post(f"/api/v1/orders/{shipped}/ship")
    assert (await client.post(f"/api/v1/orders/{shipped}/shipments", json=parcel("N5"))).status_code == 409
