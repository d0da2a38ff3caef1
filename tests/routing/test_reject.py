"""A shipping location refuses an order: the reason decides the stock effect, the lines go elsewhere or wait."""

import pytest

from omnicanal.access.rules import Role
from omnicanal.routing.rejections import apply_rejection
from tests.factories import make_product, put_stock
from tests.routing.factories import MARSEILLE, make_routing_network, ship, snapshot


@pytest.fixture
async def shop(db):
    await make_routing_network(db)
    for sku in ("LAMP-1", "VASE-1", "RARE-1"):
        await make_product(db, sku, 2500)
    await put_stock(db, "LAMP-1", "WH-ORL", 10)
    await put_stock(db, "LAMP-1", "MRS-TDP", 4)
    await put_stock(db, "VASE-1", "WH-ORL", 10)
    await put_stock(db, "VASE-1", "MRS-TDP", 3)
    await put_stock(db, "RARE-1", "MRS-TDP", 2)


async def stock(client, location, sku):
    level = (await client.get(f"/api/v1/locations/{location}/stock/{sku}")).json()
    return level["on_hand"], level["reserved"]


async def marseille_order(client, *lines):
    response = await client.post("/api/v1/orders", json=ship(*lines, ship_to=MARSEILLE))
    assert response.status_code == 201, response.text
    order = response.json()
    assert {line["location"] for line in order["lines"]} == {"MRS-TDP"}
    return order


async def reject(client, order, **body):
    return await client.post(f"/api/v1/orders/{order['id']}/reject", json={"location": "MRS-TDP", **body})


async def events(client, kind):
    return (await client.get("/api/v1/events", params={"type": kind})).json()["items"]


async def test_not_in_stock_leaves_nothing_to_sell_there_and_reroutes(client, shop):
    other = await marseille_order(client, ("LAMP-1", 1))
    order = await marseille_order(client, ("LAMP-1", 2), ("VASE-1", 1))
    response = await reject(client, order, reason="not_in_stock", lines=[{"line_no": 1}])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "confirmed" and body["waiting"] == []
    assert {li["sku"]: li["location"] for li in body["lines"]} == {"LAMP-1": "WH-ORL", "VASE-1": "MRS-TDP"}
    assert [p["location"] for p in body["rerouted"]["parcels"]] == ["WH-ORL"]
    assert await stock(client, "MRS-TDP", "LAMP-1") == (1, 1)  # what the other order holds, nothing to sell
    assert await stock(client, "WH-ORL", "LAMP-1") == (10, 2)
    assert await stock(client, "MRS-TDP", "VASE-1") == (3, 1)  # the line not refused stays
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []
    routing = (await client.get(f"/api/v1/orders/{order['id']}/routing")).json()
    assert [d["trigger"] for d in routing["decisions"]] == ["rejected", "placed"]
    assert routing["rejections"][0] | {"id": 0, "at": None} == {
        "id": 0, "at": None, "location": "MRS-TDP", "reason": "not_in_stock", "note": None,
        "lines": [{"line_no": 1, "sku": "LAMP-1", "quantity": 2}]}
    [rejected] = await events(client, "order.location_rejected")
    assert rejected["subject"] == order["id"] and rejected["data"]["reason"] == "not_in_stock"
    assert (await events(client, "order.rerouted"))[0]["subject"] == order["id"]
    assert other["lines"][0]["location"] == "MRS-TDP"


async def test_count_mismatch_sets_the_count_and_damaged_takes_units_out(client, shop):
    order = await marseille_order(client, ("LAMP-1", 1), ("VASE-1", 1))
    response = await reject(client, order, reason="count_mismatch", lines=[{"line_no": 1, "counted": 2}])
    assert response.status_code == 200, response.text
    assert await stock(client, "MRS-TDP", "LAMP-1") == (2, 0)
    second = await marseille_order(client, ("VASE-1", 2))
    response = await reject(client, second, reason="damaged", units=1)
    assert response.status_code == 200, response.text
    assert await stock(client, "MRS-TDP", "VASE-1") == (2, 1)  # 3 − 1 damaged; the first order's unit held
    assert {li["location"] for li in response.json()["lines"]} == {"WH-ORL"}
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []


async def test_no_variance_leaves_the_stock_as_it_was(client, shop):
    order = await marseille_order(client, ("VASE-1", 1))
    response = await reject(client, order, reason="no_variance", note="no packaging left")
    assert response.status_code == 200 and response.json()["lines"][0]["location"] == "WH-ORL"
    assert await stock(client, "MRS-TDP", "VASE-1") == (3, 0)
    again = await client.post(f"/api/v1/orders/{order['id']}/reject",
                              json={"location": "WH-ORL", "reason": "no_variance"})
    # the warehouse refuses too: Marseille refused before and no other location holds it, so it waits
    assert again.status_code == 200 and again.json()["status"] == "backordered"


async def test_when_nothing_else_can_send_the_order_waits_then_a_batch_routes_it(client, shop, db):
    order = await marseille_order(client, ("RARE-1", 1), ("LAMP-1", 1))
    response = await reject(client, order, reason="not_in_stock", lines=[{"line_no": 1}])
    body = response.json()
    assert body["status"] == "backordered" and body["waiting"] == ["RARE-1"] and body["rerouted"] is None
    assert {li["sku"]: li["location"] for li in body["lines"]} == {"RARE-1": None, "LAMP-1": "MRS-TDP"}
    [unfulfillable] = await events(client, "order.unfulfillable")
    assert unfulfillable["data"]["waiting"] == ["RARE-1"] and unfulfillable["data"]["options"]
    assert (await client.post(f"/api/v1/orders/{order['id']}/ship")).status_code == 409
    nothing = (await client.post("/api/v1/routing/batch", json={"time_limit": 5})).json()
    assert nothing["still_waiting"] == [order["id"]] and nothing["changed"] == 0
    await put_stock(db, "RARE-1", "WH-ORL", 4)
    batch = await client.post("/api/v1/routing/batch", json={"time_limit": 5})
    assert batch.status_code == 200, batch.text
    assert batch.json()["moves"] == [{"order": order["id"], "before": ["MRS-TDP"], "after": ["WH-ORL"],
                                      "status": "confirmed"}]
    placed = (await client.get(f"/api/v1/orders/{order['id']}")).json()
    assert placed["status"] == "confirmed"
    assert {li["sku"]: li["location"] for li in placed["lines"]} == {"RARE-1": "WH-ORL", "LAMP-1": "WH-ORL"}
    assert await stock(client, "WH-ORL", "RARE-1") == (4, 1) and await stock(client, "MRS-TDP", "LAMP-1") == (4, 0)
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []


async def test_a_backordered_order_can_be_cancelled(client, shop):
    order = await marseille_order(client, ("RARE-1", 1), ("LAMP-1", 1))
    await reject(client, order, reason="not_in_stock", lines=[{"line_no": 1}])
    cancelled = await client.post(f"/api/v1/orders/{order['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert await stock(client, "MRS-TDP", "LAMP-1") == (4, 0)


@pytest.mark.parametrize(("body", "status"), [
    ({"location": "WH-ORL", "reason": "not_in_stock"}, 409),  # nothing is sent from there
    ({"location": "MRS-TDP", "reason": "not_in_stock", "lines": [{"line_no": 9}]}, 422),
    ({"location": "MRS-TDP", "reason": "count_mismatch"}, 422),  # counted missing
    ({"location": "MRS-TDP", "reason": "count_mismatch", "counted": 1}, 422),  # two SKUs: per line
    ({"location": "MRS-TDP", "reason": "count_mismatch", "lines": [{"line_no": 1, "counted": -1}]}, 422),
    ({"location": "MRS-TDP", "reason": "not_in_stock", "counted": 0}, 422),
    ({"location": "MRS-TDP", "reason": "no_variance", "units": 1}, 422),
    ({"location": "MRS-TDP", "reason": "damaged", "lines": [{"line_no": 1, "units": 50}]}, 409),  # fewer on hand
    ({"location": "MRS-TDP", "reason": "lost"}, 422),
    ({"location": "MRS-TDP", "reason": "not_in_stock", "lines": [{"line_no": 1}, {"line_no": 1}]}, 422),
    ({"location": "MRS-TDP", "reason": "not_in_stock", "why": "x"}, 422),
    ({"reason": "not_in_stock"}, 422),
])
async def test_bad_rejections_are_refused_and_change_nothing(client, shop, db, body, status):
    order = await marseille_order(client, ("LAMP-1", 1), ("VASE-1", 1))
    before = await snapshot(db)
    response = await client.post(f"/api/v1/orders/{order['id']}/reject", json=body)
    assert response.status_code == status, response.text
    assert response.json()["detail"]
    assert await snapshot(db) == before


async def test_only_orders_waiting_to_ship_can_be_refused(client, shop, db, key_for):
    order = await marseille_order(client, ("LAMP-1", 1))
    assert (await client.post("/api/v1/orders/ord_nope/reject",
                              json={"location": "MRS-TDP", "reason": "no_variance"})).status_code == 404
    await client.post(f"/api/v1/orders/{order['id']}/ship")
    before = await snapshot(db)
    assert (await reject(client, order, reason="not_in_stock")).status_code == 409
    assert await snapshot(db) == before
    lyon = await key_for(Role.STORE_ASSOCIATE, locations=["LYO-PDI"])
    other = await marseille_order(client, ("VASE-1", 1))
    refused = await client.post(f"/api/v1/orders/{other['id']}/reject", headers=lyon,
                                json={"location": "MRS-TDP", "reason": "not_in_stock"})
    assert refused.status_code == 403
    marseille = await key_for(Role.STORE_ASSOCIATE, locations=["MRS-TDP"])
    accepted = await client.post(f"/api/v1/orders/{other['id']}/reject", headers=marseille,
                                 json={"location": "MRS-TDP", "reason": "no_variance"})
    assert accepted.status_code == 200, accepted.text


async def test_the_pickup_flow_can_apply_a_rejection_itself(client, shop, db):
    """What a pickup store's short pick may call: the stock effect and the release, then its own next step."""
    await put_stock(db, "LAMP-1", "PAR-RIV", 2)
    order_id = (await client.post("/api/v1/orders", json={
        "channel": "web", "fulfillment": "pickup", "location": "PAR-RIV",
        "lines": [{"sku": "LAMP-1", "quantity": 1}]})).json()["id"]
    async with db.writer() as session:
        rejection = await apply_rejection(session, order_id=order_id, location="PAR-RIV", reason="damaged", units=1,
                                          statuses=("confirmed",))
        await session.commit()
    assert [line.location_code for line in rejection.refused] == [None]
    assert [(c.kind.value, c.reserved_delta, c.on_hand_delta) for c in rejection.effects] == [
        ("release", -1, 0), ("adjustment", 0, -1)]
    assert await stock(client, "PAR-RIV", "LAMP-1") == (1, 0)
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []
    rejected = await events(client, "order.location_rejected")
    assert rejected[0]["data"]["fulfillment"] == "pickup" and rejected[0]["data"]["reason"] == "damaged"


async def test_a_replayed_rejection_is_applied_once(client, shop, db):
    order = await marseille_order(client, ("LAMP-1", 1))
    headers = {"Idempotency-Key": "mrs-reject-1"}
    body = {"location": "MRS-TDP", "reason": "damaged", "units": 1}
    first = await client.post(f"/api/v1/orders/{order['id']}/reject", json=body, headers=headers)
    after_first = await snapshot(db)
    replay = await client.post(f"/api/v1/orders/{order['id']}/reject", json=body, headers=headers)
    assert first.status_code == replay.status_code == 200 and replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert await snapshot(db) == after_first and await stock(client, "MRS-TDP", "LAMP-1") == (3, 0)
