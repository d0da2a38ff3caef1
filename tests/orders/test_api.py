from datetime import timedelta

import pytest
from sqlalchemy import func, select

from omnicanal.events.models import OutboxEvent
from omnicanal.kit.clock import utcnow
from omnicanal.orders.models import Order
from tests.factories import make_promotion, put_stock


async def stock(client, location, sku):
    return (await client.get(f"/api/v1/locations/{location}/stock/{sku}")).json()


async def counts(db):
    async with db.reader() as session:
        return (await session.scalar(select(func.count()).select_from(Order)),
                await session.scalar(select(func.count()).select_from(OutboxEvent)))


def ship(*lines, channel="web", **extra):
    return {"channel": channel, "fulfillment": "ship",
            "lines": [{"sku": sku, "quantity": qty} for sku, qty in lines], **extra}


async def test_a_web_order_is_priced_reserved_and_announced(client, shop):
    response = await client.post("/api/v1/orders", json=ship(("LAMP-1", 2), ("VASE-1", 1)))
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "confirmed" and order["payment"] == {"status": "pending", "reference": None}
    assert order["total"] == 2 * 4990 + 1500 and order["subtotal"] == order["total"]
    assert {line["sku"]: line["location"] for line in order["lines"]} == {"LAMP-1": "WH-ORL", "VASE-1": "PAR-RIV"}
    assert response.headers["location"] == f"/api/v1/orders/{order['id']}"
    assert (await stock(client, "WH-ORL", "LAMP-1"))["reserved"] == 2
    assert (await client.get(f"/api/v1/orders/{order['id']}")).json() == order
    created = (await client.get("/api/v1/events", params={"type": "order.created"})).json()["items"]
    assert created[0]["subject"] == order["id"] and created[0]["data"]["total"] == order["total"]


async def test_promotions_and_list_prices_are_snapshotted(client, shop, db):
    now = utcnow()
    await make_promotion(db, id="soldes", kind="percent", value=20, channels=["web"], skus=["LAMP-1"],
                         starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1))
    order = (await client.post("/api/v1/orders", json=ship(("LAMP-1", 1)))).json()
    assert order["lines"][0] == {"line_no": 1, "sku": "LAMP-1", "quantity": 1, "location": "WH-ORL",
                                 "unit_list_price": 4990, "unit_price": 3992, "promotion_id": "soldes",
                                 "line_total": 3992}
    assert (order["subtotal"], order["discount_total"], order["total"]) == (4990, 998, 3992)
    app_order = (await client.post("/api/v1/orders", json=ship(("LAMP-1", 1), channel="app"))).json()
    assert app_order["total"] == 4990  # the promotion is web-only


async def test_an_order_lacking_stock_on_any_line_writes_nothing(client, shop, db):
    before = await counts(db)
    response = await client.post("/api/v1/orders", json=ship(("LAMP-1", 1), ("VASE-1", 3)))
    assert response.status_code == 409
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["shortages"] == [{"sku": "VASE-1", "requested": 3, "available": 2}]
    assert "VASE-1" in problem["detail"]
    assert await counts(db) == before
    assert (await stock(client, "WH-ORL", "LAMP-1"))["reserved"] == 0


async def test_the_online_safety_buffer_is_not_promised(client, shop):
    # marketplace holds back one unit per location: of VASE-1's 2 units in Paris, one can be sold there
    assert (await client.post("/api/v1/orders", json=ship(("VASE-1", 2), channel="marketplace"))).status_code == 409
    assert (await client.post("/api/v1/orders", json=ship(("VASE-1", 1), channel="marketplace"))).status_code == 201


async def test_a_till_sale_of_goods_the_system_thinks_absent_is_accepted(client, shop):
    sale = await client.post("/api/v1/orders", json={
        "channel": "pos", "fulfillment": "carry_out", "location": "LYO-PDI",
        "lines": [{"sku": "VASE-1", "quantity": 1}], "payment": {"status": "paid", "reference": "TPE-42"}})
    assert sale.status_code == 201, sale.text
    assert sale.json()["status"] == "completed" and sale.json()["payment"]["status"] == "paid"
    assert (await stock(client, "LYO-PDI", "VASE-1"))["on_hand"] == -1
    assert (await stock(client, "PAR-RIV", "VASE-1"))["on_hand"] == 2  # other stores untouched
    alerts = (await client.get("/api/v1/events", params={"type": "stock.discrepancy"})).json()["items"]
    assert [a["subject"] for a in alerts] == ["VASE-1@LYO-PDI"]
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []


@pytest.mark.parametrize(("body", "status"), [
    ({"channel": "pos", "fulfillment": "carry_out", "lines": [{"sku": "VASE-1", "quantity": 1}]}, 422),
    ({"channel": "web", "fulfillment": "carry_out", "location": "PAR-RIV",
      "lines": [{"sku": "VASE-1", "quantity": 1}]}, 422),
    ({"channel": "pos", "fulfillment": "carry_out", "location": "WH-ORL",
      "lines": [{"sku": "VASE-1", "quantity": 1}]}, 422),
    ({"channel": "web", "fulfillment": "ship", "location": "LYO-PDI", "lines": [{"sku": "VASE-1", "quantity": 1}]},
     422),
    ({"channel": "web", "fulfillment": "ship", "lines": []}, 422),
    ({"channel": "web", "fulfillment": "ship", "lines": [{"sku": "VASE-1", "quantity": 0}]}, 422),
    ({"channel": "web", "fulfillment": "teleport", "lines": [{"sku": "VASE-1", "quantity": 1}]}, 422),
    ({"channel": "web", "fulfillment": "ship", "lines": [{"sku": "VASE-1", "quantity": 1}], "coupon": "X"}, 422),
    ({"channel": "fax", "fulfillment": "ship", "lines": [{"sku": "VASE-1", "quantity": 1}]}, 404),
    ({"channel": "web", "fulfillment": "ship", "lines": [{"sku": "GHOST", "quantity": 1}]}, 404),
    ({"channel": "web", "fulfillment": "ship", "customer": "cus_nobody",
      "lines": [{"sku": "VASE-1", "quantity": 1}]}, 404),
])
async def test_bad_orders_are_refused_and_change_nothing(client, shop, db, body, status):
    before = await counts(db)
    response = await client.post("/api/v1/orders", json=body)
    assert response.status_code == status, response.text
    assert response.json()["detail"]
    assert await counts(db) == before
    assert (await stock(client, "PAR-RIV", "VASE-1"))["reserved"] == 0


async def test_malformed_json_is_a_422_not_a_500(client, shop):
    response = await client.post("/api/v1/orders", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422


async def test_cancelling_gives_the_stock_back_once(client, shop):
    order = (await client.post("/api/v1/orders", json=ship(("LAMP-1", 3)))).json()
    cancelled = await client.post(f"/api/v1/orders/{order['id']}/cancel", params={"reason": "customer changed mind"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert (await stock(client, "WH-ORL", "LAMP-1"))["reserved"] == 0
    again = await client.post(f"/api/v1/orders/{order['id']}/cancel")
    assert again.status_code == 409
    assert (await stock(client, "WH-ORL", "LAMP-1"))["reserved"] == 0


async def test_ship_then_deliver_moves_the_goods_out(client, shop):
    order = (await client.post("/api/v1/orders", json=ship(("LAMP-1", 2)))).json()
    assert (await client.post(f"/api/v1/orders/{order['id']}/deliver")).status_code == 409
    shipped = await client.post(f"/api/v1/orders/{order['id']}/ship")
    assert shipped.json()["status"] == "shipped"
    assert (await stock(client, "WH-ORL", "LAMP-1")) | {"available": None} == {
        "sku": "LAMP-1", "location": "WH-ORL", "on_hand": 3, "reserved": 0, "safety": 0, "available": None}
    assert (await client.post(f"/api/v1/orders/{order['id']}/cancel")).status_code == 409
    assert (await client.post(f"/api/v1/orders/{order['id']}/deliver")).json()["status"] == "delivered"
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []


async def test_payment_follows_its_own_state_machine(client, shop):
    order = (await client.post("/api/v1/orders", json=ship(("LAMP-1", 1)))).json()
    url = f"/api/v1/orders/{order['id']}/payment"
    assert (await client.post(url, json={"status": "refunded"})).status_code == 409
    paid = await client.post(url, json={"status": "paid", "reference": "psp_123"})
    assert paid.json()["payment"] == {"status": "paid", "reference": "psp_123"}
    cancelled = await client.post(f"/api/v1/orders/{order['id']}/cancel")
    assert cancelled.status_code == 200
    event = (await client.get("/api/v1/events", params={"type": "order.cancelled"})).json()["items"][0]
    assert event["data"]["refund_due"] is True
    assert (await client.post(url, json={"status": "bogus"})).status_code == 422


async def test_a_replayed_order_is_not_placed_twice(client, shop, db):
    headers = {"Idempotency-Key": "till-7-sale-1"}
    first = await client.post("/api/v1/orders", json=ship(("LAMP-1", 1)), headers=headers)
    replay = await client.post("/api/v1/orders", json=ship(("LAMP-1", 1)), headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json() and replay.headers["idempotent-replayed"] == "true"
    assert (await counts(db))[0] == 1
    assert (await stock(client, "WH-ORL", "LAMP-1"))["reserved"] == 1
    other = await client.post("/api/v1/orders", json=ship(("LAMP-1", 2)), headers=headers)
    assert other.status_code == 422 and (await counts(db))[0] == 1


async def test_a_replay_gets_the_first_answer_even_when_the_order_could_no_longer_be_placed(client, shop, db):
    headers = {"Idempotency-Key": "web-cart-9"}
    first = await client.post("/api/v1/orders", json=ship(("LAMP-1", 5)), headers=headers)  # every unit there is
    assert first.status_code == 201
    replay = await client.post("/api/v1/orders", json=ship(("LAMP-1", 5)), headers=headers)
    assert replay.status_code == 201 and replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert (await counts(db))[0] == 1 and (await stock(client, "WH-ORL", "LAMP-1"))["reserved"] == 5
    assert (await client.post("/api/v1/orders", json=ship(("LAMP-1", 1)))).status_code == 409  # no key: refused


async def test_a_failed_order_can_be_retried_with_the_same_key(client, shop, db):
    headers = {"Idempotency-Key": "web-cart-5"}
    assert (await client.post("/api/v1/orders", json=ship(("VASE-1", 3)), headers=headers)).status_code == 409
    await put_stock(db, "VASE-1", "PAR-RIV", 3)
    assert (await client.post("/api/v1/orders", json=ship(("VASE-1", 3)), headers=headers)).status_code == 201


async def test_external_references_are_unique_per_channel(client, shop):
    body = ship(("LAMP-1", 1), external_reference="WEB-1001")
    first = await client.post("/api/v1/orders", json=body)
    assert first.status_code == 201
    again = await client.post("/api/v1/orders", json=body)
    assert again.status_code == 409 and again.json()["type"].endswith("/already-exists")
    assert again.json()["order"] == first.json()["id"] and "WEB-1001" in again.json()["detail"]
    assert (await stock(client, "WH-ORL", "LAMP-1"))["reserved"] == 1
    assert (await client.post("/api/v1/orders", json={**body, "channel": "app"})).status_code == 201  # per channel


async def test_orders_list_newest_first_with_filters_and_pages(client, shop):
    ids = [(await client.post("/api/v1/orders", json=ship(("LAMP-1", 1)))).json()["id"] for _ in range(3)]
    till = await client.post("/api/v1/orders", json={
        "channel": "pos", "fulfillment": "carry_out", "location": "PAR-RIV",
        "lines": [{"sku": "VASE-1", "quantity": 1}]})
    first = (await client.get("/api/v1/orders", params={"limit": 2, "channel": "web"})).json()
    second = (await client.get("/api/v1/orders", params={"limit": 2, "channel": "web", "cursor": first["next"]})).json()
    assert [o["id"] for o in first["items"] + second["items"]] == list(reversed(ids))
    assert second["next"] is None
    pos = (await client.get("/api/v1/orders", params={"status": "completed"})).json()["items"]
    assert [o["id"] for o in pos] == [till.json()["id"]]
    assert (await client.get("/api/v1/orders", params={"status": "lost"})).status_code == 422


async def test_unknown_order_is_a_404_problem(client, shop):
    response = await client.get("/api/v1/orders/ord_nope")
    assert response.status_code == 404 and response.json()["title"] == "Not found"
