"""Routing through the API: where ship orders go and why, the customer's chosen store, daily capacity,
explain, and what refused requests leave behind (nothing)."""

import pytest

from omnicanal.access.rules import Role
from tests.factories import make_product, put_stock
from tests.routing.factories import MARSEILLE, NO_COORDINATES, PARIS, make_routing_network, ship, snapshot


@pytest.fixture
async def shop(db):
    await make_routing_network(db)
    for sku in ("LAMP-1", "VASE-1", "RARE-1"):
        await make_product(db, sku, 2500)
    await put_stock(db, "LAMP-1", "WH-ORL", 10)
    await put_stock(db, "LAMP-1", "MRS-TDP", 3)
    await put_stock(db, "LAMP-1", "PAR-RIV", 3)
    await put_stock(db, "VASE-1", "WH-ORL", 10)
    await put_stock(db, "VASE-1", "MRS-TDP", 2)
    await put_stock(db, "RARE-1", "LIL-EUR", 1)


async def stock(client, location, sku):
    return (await client.get(f"/api/v1/locations/{location}/stock/{sku}")).json()


async def place(client, *lines, **extra):
    response = await client.post("/api/v1/orders", json=ship(*lines, **extra))
    assert response.status_code == 201, response.text
    return response.json()


def sites(order):
    return {line["sku"]: line["location"] for line in order["lines"]}


async def test_an_order_leaves_from_the_cheapest_location_for_its_address(client, shop):
    near_marseille = await place(client, ("LAMP-1", 1), ("VASE-1", 1), ship_to=MARSEILLE)
    assert sites(near_marseille) == {"LAMP-1": "MRS-TDP", "VASE-1": "MRS-TDP"}  # one parcel, 1 km away
    near_paris = await place(client, ("LAMP-1", 1), ship_to=PARIS)
    assert sites(near_paris) == {"LAMP-1": "WH-ORL"}  # a warehouse packs cheaper than the Paris store
    anywhere = await place(client, ("LAMP-1", 1), ship_to=NO_COORDINATES)
    assert sites(anywhere) == {"LAMP-1": "WH-ORL"}  # flat zone rate: handling decides
    assert anywhere["ship_to"]["city"] == "Blois"
    assert (await stock(client, "MRS-TDP", "LAMP-1"))["reserved"] == 1


async def test_the_routing_decision_is_kept_with_the_order(client, shop):
    order = await place(client, ("LAMP-1", 2), ("VASE-1", 1), ship_to=MARSEILLE)
    routing = (await client.get(f"/api/v1/orders/{order['id']}/routing")).json()
    assert routing["order"] == order["id"] and routing["status"] == "confirmed" and routing["rejections"] == []
    [decision] = routing["decisions"]
    assert decision["trigger"] == "placed" and decision["plan"]["carrier_rate"] == "distance"
    [parcel] = decision["plan"]["parcels"]
    assert parcel["location"] == "MRS-TDP" and parcel["distance_km"] < 5
    assert parcel["lines"] == [{"sku": "LAMP-1", "quantity": 2}, {"sku": "VASE-1", "quantity": 1}]
    assert decision["cost"] == decision["plan"]["cost"]["total"] == parcel["cost"]
    assert (await client.get("/api/v1/orders/ord_nope/routing")).status_code == 404


async def test_the_customer_may_choose_the_shipping_store(client, shop, db):
    chosen = await place(client, ("LAMP-1", 1), ship_to=PARIS, location="MRS-TDP")
    assert sites(chosen) == {"LAMP-1": "MRS-TDP"}  # dearer than the warehouse, but asked for
    before = await snapshot(db)
    lacking = await client.post("/api/v1/orders", json=ship(("RARE-1", 1), location="MRS-TDP"))
    assert lacking.status_code == 409 and lacking.json()["shortages"] == [
        {"sku": "RARE-1", "requested": 1, "available": 0}]
    assert "MRS-TDP" in lacking.json()["detail"]
    not_shipping = await client.post("/api/v1/orders", json=ship(("LAMP-1", 1), location="LYO-PDI"))
    assert not_shipping.status_code == 422
    assert await snapshot(db) == before


async def test_a_location_takes_no_more_orders_than_its_daily_capacity(client, shop, db):
    profile = await client.put("/api/v1/routing/locations/MRS-TDP",
                               json={"handling_per_parcel": 300, "picking_per_unit": 40, "daily_capacity": 1})
    assert profile.status_code == 200 and profile.json()["custom"] is True
    first = await place(client, ("LAMP-1", 1), ship_to=MARSEILLE)
    second = await place(client, ("LAMP-1", 1), ship_to=MARSEILLE)
    assert sites(first) == {"LAMP-1": "MRS-TDP"} and sites(second) == {"LAMP-1": "WH-ORL"}
    before = await snapshot(db)
    full = await client.post("/api/v1/orders", json=ship(("LAMP-1", 1), location="MRS-TDP"))
    assert full.status_code == 409 and full.json()["type"].endswith("/capacity-exhausted")
    assert await snapshot(db) == before
    listed = {p["location"]: p for p in (await client.get("/api/v1/routing/locations")).json()["items"]}
    assert listed["MRS-TDP"]["routed_today"] == 1 and listed["MRS-TDP"]["daily_capacity"] == 1
    assert listed["WH-ORL"]["daily_capacity"] is None and listed["WH-ORL"]["custom"] is False
    # a cancelled order no longer counts against the store's day
    assert (await client.post(f"/api/v1/orders/{first['id']}/cancel")).status_code == 200
    assert sites(await place(client, ("LAMP-1", 1), location="MRS-TDP")) == {"LAMP-1": "MRS-TDP"}


async def test_explain_lists_every_candidate_with_its_cost_or_why_not(client, shop, db):
    before = await snapshot(db)
    response = await client.post("/api/v1/routing/explain", json={
        "channel": "web", "lines": [{"sku": "LAMP-1", "quantity": 1}, {"sku": "VASE-1", "quantity": 3}],
        "ship_to": MARSEILLE})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [p["location"] for p in body["chosen"]["parcels"]] == ["WH-ORL"]
    singles = {a["locations"][0]: a for a in body["alternatives"] if len(a["locations"]) == 1}
    assert set(singles) == {"WH-ORL", "PAR-RIV", "MRS-TDP", "LIL-EUR"}  # every shipping location
    assert singles["WH-ORL"]["verdict"] == "chosen" and singles["WH-ORL"]["cost"] == body["chosen"]["cost"]["total"]
    assert singles["MRS-TDP"] | {"plan": None} == {
        "locations": ["MRS-TDP"], "verdict": "no_stock", "parcels": None, "cost": None, "missing": ["VASE-1"],
        "plan": None}
    assert singles["PAR-RIV"]["missing"] == ["VASE-1"] and singles["LIL-EUR"]["missing"] == ["LAMP-1", "VASE-1"]
    split = [a for a in body["alternatives"] if a["parcels"] == 2]
    assert split and split[0]["verdict"] == "more_parcels" and split[0]["cost"] > body["chosen"]["cost"]["total"]
    assert body["cost_model"]["extra_parcel_penalty"] > 0
    assert await snapshot(db) == before  # nothing reserved, nothing written


async def test_explain_says_when_a_store_has_no_capacity_left(client, shop):
    await client.put("/api/v1/routing/locations/MRS-TDP",
                     json={"handling_per_parcel": 300, "picking_per_unit": 40, "daily_capacity": 0})
    body = (await client.post("/api/v1/routing/explain", json={
        "channel": "web", "lines": [{"sku": "LAMP-1", "quantity": 1}], "ship_to": MARSEILLE})).json()
    verdicts = {a["locations"][0]: a["verdict"] for a in body["alternatives"]}
    assert verdicts == {"MRS-TDP": "no_capacity", "WH-ORL": "chosen", "PAR-RIV": "dearer", "LIL-EUR": "no_stock"}


@pytest.mark.parametrize(("body", "status"), [
    ({"channel": "web", "lines": []}, 422),
    ({"channel": "web", "lines": [{"sku": "LAMP-1", "quantity": 0}]}, 422),
    ({"channel": "web", "lines": [{"sku": "LAMP-1", "quantity": 1}], "colour": "red"}, 422),
    ({"channel": "web", "lines": [{"sku": "LAMP-1", "quantity": 1}],
      "ship_to": {"line1": "x", "postal_code": "1", "city": "y", "latitude": 43.0}}, 422),
    ({"channel": "web", "lines": [{"sku": "LAMP-1", "quantity": 1}],
      "ship_to": {"line1": "x", "postal_code": "1", "city": "y", "latitude": 91, "longitude": 0}}, 422),
    ({"channel": "web", "lines": [{"sku": "LAMP-1", "quantity": 1}], "location": "LYO-PDI"}, 422),
    ({"channel": "fax", "lines": [{"sku": "LAMP-1", "quantity": 1}]}, 404),
    ({"channel": "web", "lines": [{"sku": "GHOST", "quantity": 1}]}, 404),
    ({"channel": "web", "lines": [{"sku": "LAMP-1", "quantity": 1}], "location": "NOWHERE"}, 404),
])
async def test_bad_explain_requests_are_refused(client, shop, body, status):
    response = await client.post("/api/v1/routing/explain", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json" and response.json()["detail"]


async def test_ship_to_is_only_for_ship_orders(client, shop, db):
    before = await snapshot(db)
    response = await client.post("/api/v1/orders", json={
        "channel": "pos", "fulfillment": "carry_out", "location": "PAR-RIV", "ship_to": PARIS,
        "lines": [{"sku": "LAMP-1", "quantity": 1}]})
    assert response.status_code == 422
    assert await snapshot(db) == before


async def test_routing_figures_are_validated_and_need_their_permissions(client, shop, key_for):
    url = "/api/v1/routing/locations/MRS-TDP"
    assert (await client.put(url, json={"handling_per_parcel": -1, "picking_per_unit": 0,
                                        "daily_capacity": 3})).status_code == 422
    assert (await client.put(url, json={"handling_per_parcel": 1, "picking_per_unit": 0})).status_code == 422
    assert (await client.put("/api/v1/routing/locations/NOWHERE", json={
        "handling_per_parcel": 1, "picking_per_unit": 0, "daily_capacity": None})).status_code == 404
    analyst = await key_for(Role.ANALYST)
    explain = {"channel": "web", "lines": [{"sku": "LAMP-1", "quantity": 1}]}
    assert (await client.post("/api/v1/routing/explain", json=explain, headers=analyst)).status_code == 403
    assert (await client.put(url, json={"handling_per_parcel": 1, "picking_per_unit": 0, "daily_capacity": None},
                             headers=analyst)).status_code == 403
    web_shop = await key_for(Role.INTEGRATION, channel="web")
    assert (await client.post("/api/v1/routing/explain", json=explain, headers=web_shop)).status_code == 200
    assert (await client.post("/api/v1/routing/explain", json=explain | {"channel": "app"},
                              headers=web_shop)).status_code == 403


async def test_a_delivery_address_is_read_as_every_postal_address_is(client, shop):
    """The second address line is kept, text is trimmed, the country code is taken in either case; a country
    code that is not two letters is refused and nothing is written."""
    address = {**NO_COORDINATES, "line1": "  3 place du Marché ", "line2": "Bâtiment B, 3e étage", "country": "fr"}
    order = await place(client, ("LAMP-1", 1), ship_to=address)
    again = (await client.get(f"/api/v1/orders/{order['id']}")).json()
    assert again["ship_to"] == {"line1": "3 place du Marché", "line2": "Bâtiment B, 3e étage", "postal_code": "41000",
                                "city": "Blois", "country": "FR", "name": None, "latitude": None, "longitude": None}
    before = (await stock(client, "WH-ORL", "LAMP-1"))["reserved"]
    refused = await client.post("/api/v1/orders", json=ship(("LAMP-1", 1), ship_to={**address, "country": "FRA"}))
    assert refused.status_code == 422
    assert (await stock(client, "WH-ORL", "LAMP-1"))["reserved"] == before
