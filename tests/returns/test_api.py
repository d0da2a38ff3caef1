"""Returns anywhere — each journey through the API, and what the hub refuses."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from omnicanal.events.models import OutboxEvent
from omnicanal.inventory.models import StockMovement
from omnicanal.kit.clock import utcnow
from omnicanal.returns.models import OrderReturn
from tests.factories import make_network, make_product, make_promotion, put_stock


@pytest.fixture
async def shop(db, client):
    await make_network(db)
    await make_product(db, "LAMP-1", 4990)
    await make_product(db, "VASE-1", 1500)
    await put_stock(db, "LAMP-1", "WH-ORL", 20)
    await put_stock(db, "VASE-1", "WH-ORL", 20)
    await put_stock(db, "VASE-1", "PAR-RIV", 5)
    now = utcnow()
    await make_promotion(db, id="soldes", kind="percent", value=20, channels=["web"], skus=["LAMP-1"],
                         starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1))
    patched = await client.patch("/api/v1/locations/WH-ORL", json={"capabilities": {"returns": True}})
    assert patched.status_code == 200
    customer = await client.post("/api/v1/customers", json={"first_name": "Ana", "last_name": "Lopes"})
    return customer.json()["id"]


async def delivered(client, *lines, customer=None, paid=True) -> dict:
    body = {"channel": "web", "fulfillment": "ship", "customer": customer,
            "lines": [{"sku": sku, "quantity": qty} for sku, qty in lines]}
    if paid:
        body["payment"] = {"status": "paid", "reference": "psp-1"}
    order = (await client.post("/api/v1/orders", json=body)).json()
    assert (await client.post(f"/api/v1/orders/{order['id']}/ship")).status_code == 200
    assert (await client.post(f"/api/v1/orders/{order['id']}/deliver")).status_code == 200
    return order


def a_return(order_id, *lines, method="in_store", location="PAR-RIV", **extra) -> dict:
    return {"order_id": order_id, "method": method, "location": location,
            "lines": [{"sku": line[0], "quantity": line[1], **(line[2] if len(line) > 2 else {})} for line in lines],
            **extra}


async def level(client, location, sku) -> dict:
    response = await client.get(f"/api/v1/locations/{location}/stock/{sku}")
    return response.json() if response.status_code == 200 else {"on_hand": 0, "reserved": 0}


async def events(client, type_) -> list[dict]:
    return (await client.get("/api/v1/events", params={"type": type_})).json()["items"]


async def counts(db) -> tuple[int, int, int]:
    async with db.reader() as session:
        return (await session.scalar(select(func.count()).select_from(OrderReturn)),
                await session.scalar(select(func.count()).select_from(StockMovement)),
                await session.scalar(select(func.count()).select_from(OutboxEvent)))


# --- in a store -------------------------------------------------------------------------------------------
async def test_a_web_order_returned_in_a_store_is_restocked_there_at_the_price_paid(client, shop):
    order = await delivered(client, ("LAMP-1", 2), ("VASE-1", 1), customer=shop)
    assert order["lines"][0]["unit_price"] == 3992  # 20 % off on the web
    response = await client.post("/api/v1/returns", json=a_return(order["id"], ("LAMP-1", 1, {"reason": "broken"})))
    assert response.status_code == 201, response.text
    ret = response.json()
    assert response.headers["location"] == f"/api/v1/returns/{ret['id']}"
    assert (ret["status"], ret["method"], ret["location"], ret["channel"], ret["customer"]) == (
        "received", "in_store", "PAR-RIV", "web", shop)
    assert ret["refund_amount"] == 3992 and ret["currency"] == "EUR"
    assert ret["lines"] == [{"line_no": 1, "order_line_no": 1, "sku": "LAMP-1", "quantity": 1,
                             "condition": "sellable", "reason": "broken", "refund_amount": 3992,
                             "restocked_at": "PAR-RIV"}]
    assert (await level(client, "PAR-RIV", "LAMP-1"))["on_hand"] == 1  # restocked where it was brought back
    assert (await level(client, "WH-ORL", "LAMP-1"))["on_hand"] == 18
    moves = (await client.get("/api/v1/stock/movements", params={"kind": "return"})).json()["items"]
    assert [(m["sku"], m["location"], m["on_hand_delta"], m["reference"]) for m in moves] == [
        ("LAMP-1", "PAR-RIV", 1, ret["id"])]
    for type_ in ("return.created", "return.received"):
        [event] = await events(client, type_)
        assert event["subject"] == ret["id"]
        assert {k: event["data"][k] for k in ("order_id", "customer_id", "refund_amount")} == {
            "order_id": order["id"], "customer_id": shop, "refund_amount": 3992}
        assert event["data"]["lines"][0]["sku"] == "LAMP-1"
    assert (await client.get(f"/api/v1/returns/{ret['id']}")).json() == ret
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []


async def test_a_till_sale_may_be_returned_at_another_store(client, shop):
    sale = (await client.post("/api/v1/orders", json={
        "channel": "pos", "fulfillment": "carry_out", "location": "PAR-RIV",
        "lines": [{"sku": "VASE-1", "quantity": 2}]})).json()
    assert sale["status"] == "completed"
    ret = (await client.post("/api/v1/returns", json=a_return(sale["id"], ("VASE-1", 2), location="LYO-PDI"))).json()
    assert ret["refund_amount"] == 3000 and ret["channel"] == "pos"
    assert (await level(client, "LYO-PDI", "VASE-1"))["on_hand"] == 2
    assert (await level(client, "PAR-RIV", "VASE-1"))["on_hand"] == 3


async def test_damaged_units_go_to_the_stores_damaged_bin_and_are_never_promised(client, shop):
    order = await delivered(client, ("VASE-1", 3))
    first = (await client.post("/api/v1/returns", json=a_return(
        order["id"], ("VASE-1", 1, {"condition": "damaged"}), ("VASE-1", 1)))).json()
    assert [(li["condition"], li["restocked_at"]) for li in first["lines"]] == [
        ("damaged", "PAR-RIV-DAMAGED"), ("sellable", "PAR-RIV")]
    second = (await client.post("/api/v1/returns", json=a_return(
        order["id"], ("VASE-1", 1, {"condition": "damaged"})))).json()
    assert second["lines"][0]["restocked_at"] == "PAR-RIV-DAMAGED"
    assert (await level(client, "PAR-RIV-DAMAGED", "VASE-1"))["on_hand"] == 2
    assert (await level(client, "PAR-RIV", "VASE-1"))["on_hand"] == 6
    bin_location = (await client.get("/api/v1/locations/PAR-RIV-DAMAGED")).json()
    assert bin_location["active"] is False and not any(bin_location["capabilities"].values())
    assert [e["subject"] for e in await events(client, "location.created")] == ["PAR-RIV-DAMAGED"]  # once
    for channel in ({}, {"channel": "web"}, {"channel": "pos"}):
        where = {loc["location"] for loc in (await client.get("/api/v1/availability/VASE-1", params=channel)).json()[
            "locations"]}
        assert "PAR-RIV-DAMAGED" not in where


async def test_a_bin_code_taken_by_a_real_location_is_refused(client, shop, db):
    taken = await client.post("/api/v1/locations", json={
        "code": "PAR-RIV-DAMAGED", "name": "Oddly named store", "kind": "store", "latitude": 48.8, "longitude": 2.3,
        "address": {"line1": "1 rue", "postal_code": "75001", "city": "Paris", "country": "FR"}})
    assert taken.status_code == 201
    order = await delivered(client, ("VASE-1", 1))
    before = await counts(db)
    refused = await client.post("/api/v1/returns", json=a_return(order["id"], ("VASE-1", 1, {"condition": "damaged"})))
    assert refused.status_code == 422 and "real location" in refused.json()["detail"]
    assert await counts(db) == before


# --- by mail ----------------------------------------------------------------------------------------------
async def test_a_mail_return_is_announced_then_received_and_inspected_at_the_warehouse(client, shop):
    order = await delivered(client, ("LAMP-1", 1), ("VASE-1", 2), customer=shop)
    announced = await client.post("/api/v1/returns", json=a_return(
        order["id"], ("VASE-1", 2), ("LAMP-1", 1), method="mail", location=None))
    assert announced.status_code == 201, announced.text
    ret = announced.json()
    assert (ret["status"], ret["location"], ret["received_at"]) == ("requested", "WH-ORL", None)
    assert ret["refund_amount"] == 3000 + 3992
    assert (await level(client, "WH-ORL", "VASE-1"))["on_hand"] == 18  # nothing back yet
    waiting = (await client.get("/api/v1/returns", params={"location": "WH-ORL", "status": "requested"})).json()
    assert [r["id"] for r in waiting["items"]] == [ret["id"]]
    received = await client.post(f"/api/v1/returns/{ret['id']}/receive",
                                 json={"lines": [{"line_no": 2, "condition": "damaged"}]})
    assert received.status_code == 200, received.text
    body = received.json()
    assert body["status"] == "received" and body["received_at"] is not None
    assert [(li["sku"], li["condition"], li["restocked_at"]) for li in body["lines"]] == [
        ("VASE-1", "sellable", "WH-ORL"), ("LAMP-1", "damaged", "WH-ORL-DAMAGED")]
    assert (await level(client, "WH-ORL", "VASE-1"))["on_hand"] == 20
    assert (await level(client, "WH-ORL-DAMAGED", "LAMP-1"))["on_hand"] == 1
    assert (await client.post(f"/api/v1/returns/{ret['id']}/receive")).status_code == 409  # not twice


async def test_the_configured_returns_location_takes_mail_returns(client, shop, settings, monkeypatch):
    monkeypatch.setattr(settings, "returns_location", "LYO-PDI")
    order = await delivered(client, ("VASE-1", 1))
    ret = (await client.post("/api/v1/returns", json=a_return(order["id"], ("VASE-1", 1), method="mail",
                                                              location=None))).json()
    assert ret["location"] == "LYO-PDI"


async def test_an_announced_return_that_never_came_can_be_cancelled_and_returned_again(client, shop):
    order = await delivered(client, ("VASE-1", 1))
    ret = (await client.post("/api/v1/returns", json=a_return(order["id"], ("VASE-1", 1), method="mail",
                                                              location="WH-ORL"))).json()
    assert (await client.post("/api/v1/returns", json=a_return(order["id"], ("VASE-1", 1)))).status_code == 409
    cancelled = (await client.post(f"/api/v1/returns/{ret['id']}/cancel")).json()
    assert cancelled["status"] == "cancelled" and cancelled["cancelled_at"] is not None
    assert (await client.post(f"/api/v1/returns/{ret['id']}/receive")).status_code == 409
    assert (await client.post("/api/v1/returns", json=a_return(order["id"], ("VASE-1", 1)))).status_code == 201
    [event] = await events(client, "return.cancelled")
    assert event["data"]["order_id"] == order["id"]


# --- refunds ----------------------------------------------------------------------------------------------
async def test_a_refund_is_recorded_once_after_receipt_and_a_whole_refund_settles_the_payment(client, shop):
    order = await delivered(client, ("LAMP-1", 1), ("VASE-1", 1), customer=shop)
    mail = (await client.post("/api/v1/returns", json=a_return(order["id"], ("LAMP-1", 1), method="mail",
                                                               location="WH-ORL"))).json()
    early = await client.post(f"/api/v1/returns/{mail['id']}/refund", json={"reference": "psp-r1"})
    assert early.status_code == 409 and "only a received return" in early.json()["detail"]
    await client.post(f"/api/v1/returns/{mail['id']}/receive")
    refunded = (await client.post(f"/api/v1/returns/{mail['id']}/refund", json={"reference": "psp-r1"})).json()
    assert (refunded["status"], refunded["refund_reference"]) == ("refunded", "psp-r1")
    assert (await client.post(f"/api/v1/returns/{mail['id']}/refund", json={})).status_code == 409
    assert (await client.get(f"/api/v1/orders/{order['id']}")).json()["payment"]["status"] == "paid"  # in part
    rest = (await client.post("/api/v1/returns", json=a_return(order["id"], ("VASE-1", 1)))).json()
    await client.post(f"/api/v1/returns/{rest['id']}/refund")
    settled = (await client.get(f"/api/v1/orders/{order['id']}")).json()
    assert settled["payment"] == {"status": "refunded", "reference": "psp-1"}
    refunds = await events(client, "return.refunded")
    assert sum(e["data"]["refund_amount"] for e in refunds) == order["total"]
    assert all(e["data"]["customer_id"] == shop for e in refunds)


async def test_partial_returns_of_a_line_refund_exactly_what_was_paid(client, shop, db):
    now = utcnow()
    await make_promotion(db, id="vases", kind="amount", value=333, channels=["web"], skus=["VASE-1"],
                         starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1))
    order = await delivered(client, ("VASE-1", 3))
    paid = order["total"]
    refunds = []
    for _ in range(3):
        ret = (await client.post("/api/v1/returns", json=a_return(order["id"], ("VASE-1", 1)))).json()
        refunds.append(ret["refund_amount"])
    assert sum(refunds) == paid
    returnable = (await client.get(f"/api/v1/orders/{order['id']}/returnable")).json()
    assert returnable["lines"] == [{"line_no": 1, "sku": "VASE-1", "bought": 3, "returned": 3, "returnable": 0,
                                    "paid": paid, "refunded": paid}]


# --- refusals ---------------------------------------------------------------------------------------------
async def test_more_than_bought_or_already_returned_is_refused_and_nothing_is_written(client, shop, db):
    order = await delivered(client, ("VASE-1", 2), ("LAMP-1", 1))
    assert (await client.post("/api/v1/returns", json=a_return(order["id"], ("VASE-1", 1)))).status_code == 201
    before = await counts(db)
    too_many = await client.post("/api/v1/returns", json=a_return(order["id"], ("VASE-1", 2), ("LAMP-1", 1)))
    assert too_many.status_code == 409 and too_many.json()["type"].endswith("/return-exceeds-purchase")
    assert too_many.json()["excess"] == [{"sku": "VASE-1", "line_no": None, "requested": 2, "returnable": 1}]
    by_line = await client.post("/api/v1/returns", json={**a_return(order["id"]), "lines": [
        {"line_no": 1, "quantity": 1}, {"line_no": 1, "quantity": 1, "condition": "damaged"}]})
    assert by_line.status_code == 409
    unknown = await client.post("/api/v1/returns", json=a_return(order["id"], ("CHAIR-9", 1)))
    assert unknown.status_code == 422 and unknown.json()["unknown"] == [{"sku": "CHAIR-9", "line_no": None}]
    assert await counts(db) == before
    assert (await level(client, "PAR-RIV", "VASE-1"))["on_hand"] == 6


async def test_an_order_not_in_the_customers_hands_cannot_be_returned(client, shop, db):
    confirmed = (await client.post("/api/v1/orders", json={
        "channel": "web", "fulfillment": "ship", "lines": [{"sku": "VASE-1", "quantity": 1}]})).json()
    shipped = (await client.post("/api/v1/orders", json={
        "channel": "web", "fulfillment": "ship", "lines": [{"sku": "VASE-1", "quantity": 1}]})).json()
    await client.post(f"/api/v1/orders/{shipped['id']}/ship")
    before = await counts(db)
    for order in (confirmed, shipped):
        refused = await client.post("/api/v1/returns", json=a_return(order["id"], ("VASE-1", 1)))
        assert refused.status_code == 409 and "only a delivered, completed" in refused.json()["detail"]
    assert (await client.post("/api/v1/returns", json=a_return("ord_nope", ("VASE-1", 1)))).status_code == 404
    assert await counts(db) == before


async def test_a_return_needs_a_place_that_takes_returns(client, shop, db):
    order = await delivered(client, ("VASE-1", 1))
    before = await counts(db)
    refusals = [
        (422, a_return(order["id"], ("VASE-1", 1), location="WH-ORL")),  # a warehouse has no counter
        (422, a_return(order["id"], ("VASE-1", 1), location=None)),  # in store: which store?
        (404, a_return(order["id"], ("VASE-1", 1), location="NOWHERE")),
        (422, a_return(order["id"], ("VASE-1", 1), method="parcel")),
        (422, a_return(order["id"], ("VASE-1", 0))),
        (422, a_return(order["id"], ("VASE-1", 1, {"condition": "mouldy"}))),
        (422, a_return(order["id"], ("VASE-1", 1), colour="red")),
        (422, {**a_return(order["id"]), "lines": [{"quantity": 1}]}),  # which line?
        (422, a_return(order["id"])),  # no line
    ]
    for status, body in refusals:
        response = await client.post("/api/v1/returns", json=body)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert await counts(db) == before
    await client.patch("/api/v1/locations/WH-ORL", json={"capabilities": {"returns": False}})
    await client.patch("/api/v1/locations/LYO-PDI", json={"capabilities": {"returns": False}})
    before = await counts(db)
    nowhere = await client.post("/api/v1/returns", json=a_return(order["id"], ("VASE-1", 1), method="mail",
                                                                 location=None))
    assert nowhere.status_code == 422 and "no warehouse takes returns" in nowhere.json()["detail"]
    closed = await client.post("/api/v1/returns", json=a_return(order["id"], ("VASE-1", 1), location="LYO-PDI"))
    assert closed.status_code == 422 and "does not take returns" in closed.json()["detail"]
    assert await counts(db) == before


async def test_a_receipt_naming_a_line_the_return_lacks_changes_nothing(client, shop):
    order = await delivered(client, ("VASE-1", 1))
    ret = (await client.post("/api/v1/returns", json=a_return(order["id"], ("VASE-1", 1), method="mail",
                                                              location="WH-ORL"))).json()
    refused = await client.post(f"/api/v1/returns/{ret['id']}/receive", json={"lines": [{"line_no": 5,
                                                                                          "condition": "damaged"}]})
    assert refused.status_code == 422
    assert (await client.get(f"/api/v1/returns/{ret['id']}")).json()["status"] == "requested"
    assert (await client.post("/api/v1/returns/ret_nope/receive")).status_code == 404


async def test_an_idempotent_replay_takes_the_return_once(client, shop):
    order = await delivered(client, ("VASE-1", 2))
    headers = {"Idempotency-Key": "till-7-return-1"}
    first = await client.post("/api/v1/returns", json=a_return(order["id"], ("VASE-1", 1)), headers=headers)
    again = await client.post("/api/v1/returns", json=a_return(order["id"], ("VASE-1", 1)), headers=headers)
    assert first.json() == again.json() and again.headers["idempotent-replayed"] == "true"
    assert (await level(client, "PAR-RIV", "VASE-1"))["on_hand"] == 6


# --- reading ----------------------------------------------------------------------------------------------
async def test_returns_are_listed_per_order_and_filtered(client, shop):
    order = await delivered(client, ("VASE-1", 3), customer=shop)
    other = await delivered(client, ("VASE-1", 1))
    first = (await client.post("/api/v1/returns", json=a_return(order["id"], ("VASE-1", 1)))).json()
    second = (await client.post("/api/v1/returns", json=a_return(order["id"], ("VASE-1", 1), method="mail",
                                                                 location="WH-ORL"))).json()
    await client.post("/api/v1/returns", json=a_return(other["id"], ("VASE-1", 1), location="LYO-PDI"))
    mine = (await client.get(f"/api/v1/orders/{order['id']}/returns")).json()
    assert [r["id"] for r in mine["items"]] == [second["id"], first["id"]]
    page = (await client.get("/api/v1/returns", params={"customer": shop, "limit": 1})).json()
    assert [r["id"] for r in page["items"]] == [second["id"]]
    rest = (await client.get("/api/v1/returns", params={"customer": shop, "cursor": page["next"]})).json()
    assert [r["id"] for r in rest["items"]] == [first["id"]] and rest["next"] is None
    assert len((await client.get("/api/v1/returns", params={"method": "in_store"})).json()["items"]) == 2
    assert (await client.get("/api/v1/returns", params={"status": "lost"})).status_code == 422
    assert (await client.get("/api/v1/orders/ord_nope/returns")).status_code == 404
    assert (await client.get("/api/v1/returns/ret_nope")).status_code == 404
    returnable = (await client.get(f"/api/v1/orders/{order['id']}/returnable")).json()
    assert returnable["returnable"] is True and returnable["lines"][0]["returnable"] == 1


async def test_who_may_do_what(client, shop, key_for):
    from omnicanal.access.rules import Role

    order = await delivered(client, ("VASE-1", 1))
    analyst = await key_for(Role.ANALYST)
    assert (await client.post("/api/v1/returns", json=a_return(order["id"], ("VASE-1", 1)),
                              headers=analyst)).status_code == 403
    assert (await client.get("/api/v1/returns", headers=analyst)).status_code == 403


async def test_store_staff_take_any_channels_order_back_but_only_at_their_store(client, shop, key_for):
    from omnicanal.access.rules import Role

    order = await delivered(client, ("VASE-1", 3), customer=shop)
    lyon = await key_for(Role.STORE_ASSOCIATE, locations=["LYO-PDI"])
    at_lyon = await client.post("/api/v1/returns", json=a_return(order["id"], ("VASE-1", 1), location="LYO-PDI"),
                                headers=lyon)
    assert at_lyon.status_code == 201, at_lyon.text  # a web order, taken back in a store
    elsewhere = await client.post("/api/v1/returns", json=a_return(order["id"], ("VASE-1", 1)), headers=lyon)
    assert elsewhere.status_code == 403
    assert (await client.get(f"/api/v1/orders/{order['id']}/returnable", headers=lyon)).status_code == 200
    paris = (await client.post("/api/v1/returns", json=a_return(order["id"], ("VASE-1", 1)))).json()
    assert (await client.get(f"/api/v1/returns/{paris['id']}", headers=lyon)).status_code == 403
    assert (await client.post(f"/api/v1/returns/{paris['id']}/refund", headers=lyon)).status_code == 403
    assert (await client.get(f"/api/v1/returns/{paris['id']}")).json()["status"] == "received"
    seen = (await client.get("/api/v1/returns", headers=lyon)).json()["items"]
    assert [r["id"] for r in seen] == [at_lyon.json()["id"]]
    per_order = (await client.get(f"/api/v1/orders/{order['id']}/returns", headers=lyon)).json()["items"]
    assert [r["id"] for r in per_order] == [at_lyon.json()["id"]]


async def test_an_integration_key_announces_returns_of_its_own_channels_orders(client, shop, key_for):
    from omnicanal.access.rules import Role

    order = await delivered(client, ("VASE-1", 1))
    mail = a_return(order["id"], ("VASE-1", 1), method="mail", location=None)
    app = await key_for(Role.INTEGRATION, channel="app")
    assert (await client.post("/api/v1/returns", json=mail, headers=app)).status_code == 403
    web = await key_for(Role.INTEGRATION, channel="web")
    announced = await client.post("/api/v1/returns", json=mail, headers=web)
    assert announced.status_code == 201
    assert (await client.get(f"/api/v1/returns/{announced.json()['id']}", headers=app)).status_code == 403
    assert (await client.get("/api/v1/returns", headers=app)).json()["items"] == []
