"""The pickup store refuses a click & collect order: the customer is offered another store, delivery or
cancellation, and their answer is carried out all or nothing — or the order is cancelled when none comes."""

from datetime import datetime, timedelta

import pytest

from omnicanal.access.rules import Role
from omnicanal.fulfillment.refusals import cancel_unanswered_refusals
from omnicanal.kit.clock import utcnow
from tests.factories import put_stock
from tests.fulfillment.support import build_shop, events, level, make_ready, pickup, place, step
from tests.routing.factories import PARIS, snapshot


@pytest.fixture
async def shop(db):
    await build_shop(db)


async def refuse(client, order_id, location="PAR-RIV", reason="not_in_stock", **body):
    return await client.post(f"/api/v1/orders/{order_id}/reject", json={"location": location, "reason": reason,
                                                                         **body})


async def choose(client, order_id, **body):
    return await client.post(f"/api/v1/orders/{order_id}/pickup/choice", json=body)


async def refused_order(client, *lines, paid=False, **refusal):
    order = await place(client, pickup(*lines, **({"payment": {"status": "paid", "reference": "psp-1"}} if paid
                                                  else {})))
    refused = await refuse(client, order["id"], **refusal)
    assert refused.status_code == 200, refused.text
    return order, refused.json()


async def test_a_refused_pickup_waits_for_its_customer_with_the_alternatives(client, shop):
    order, refused = await refused_order(client, ("LAMP-1", 1), paid=True)
    assert refused["status"] == "awaiting_customer"
    assert refused["lines"] == [{"line_no": 1, "sku": "LAMP-1", "quantity": 1, "location": None}]
    # not_in_stock: Paris has nothing left to sell (its 3 lamps were a wrong count)
    assert await level(client, "PAR-RIV", "LAMP-1") == (0, 0)
    offer = refused["alternatives"]
    assert offer["refused_by"] == "PAR-RIV" and offer["delivery"] is True and offer["cancel_refund"] == 4990
    assert [(s["location"], s["in_stock"]) for s in offer["another_store"]] == [("LYO-PDI", True)]
    assert offer["another_store"][0]["ready_at"] and offer["another_store"][0]["distance_km"] > 350
    assert datetime.fromisoformat(offer["decide_by"]) > utcnow() + timedelta(days=4)

    seen = (await client.get(f"/api/v1/orders/{order['id']}/pickup")).json()
    assert seen["state"] == "awaiting_customer" and seen["refused_at"] and seen["decide_by"] == offer["decide_by"]
    again = await client.get(f"/api/v1/orders/{order['id']}/pickup/alternatives")
    assert again.status_code == 200
    assert {**again.json(), "another_store": None} == {**offer, "another_store": None}  # the promise moves on
    assert [s["location"] for s in again.json()["another_store"]] == ["LYO-PDI"]
    told = (await events(client, "pickup.refused"))[0]["data"]
    assert told["reason"] == "not_in_stock" and told["refused"] == [{"line_no": 1, "sku": "LAMP-1", "quantity": 1}]
    assert told["alternatives"]["another_store"][0]["location"] == "LYO-PDI"
    assert told["alternatives"]["delivery"] is True and told["alternatives"]["cancel"] == {"refund": 4990}
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []


async def test_another_store_takes_the_order_and_prepares_it(client, shop):
    order, _ = await refused_order(client, ("LAMP-1", 1))
    chosen = await choose(client, order["id"], choice="another_store", store="LYO-PDI")
    assert chosen.status_code == 200, chosen.text
    body = chosen.json()
    assert body["refused_by"] == "PAR-RIV" and body["order"]["status"] == "confirmed"
    assert body["order"]["location"] == "LYO-PDI" and body["pickup"]["state"] == "to_prepare"
    assert [li["location"] for li in body["order"]["lines"]] == ["LYO-PDI"]
    assert body["pickup"]["promised_at"] and body["pickup"]["decide_by"] is None
    assert await level(client, "LYO-PDI", "LAMP-1") == (1, 1)
    assert (await events(client, "pickup.alternative_chosen"))[0]["data"]["choice"] == "another_store"
    ready = await make_ready(client, order["id"])
    collected = await client.post(f"/api/v1/orders/{order['id']}/collect", json={"code": ready["code"]})
    assert collected.status_code == 200 and collected.json()["state"] == "collected"
    assert await level(client, "LYO-PDI", "LAMP-1") == (0, 0)
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []


async def test_another_store_lacking_units_brings_them_by_transfer_never_from_the_refusing_store(client, shop):
    order, _ = await refused_order(client, ("LAMP-1", 2), reason="no_variance")
    chosen = (await choose(client, order["id"], choice="another_store", store="LYO-PDI")).json()
    lines = sorted((li["location"], li["quantity"]) for li in chosen["order"]["lines"])
    assert lines == [("LYO-PDI", 1), ("WH-ORL", 1)]  # Paris still has lamps, but it refused the order
    assert chosen["pickup"]["state"] == "awaiting_goods" and chosen["order"]["total"] == 2 * 4990
    assert await level(client, "PAR-RIV", "LAMP-1") == (3, 0)  # no_variance: its figures stand
    assert await level(client, "WH-ORL", "LAMP-1") == (10, 1)
    sent = await step(client, order["id"], "dispatch")
    assert sent.status_code == 200, sent.text
    assert (await step(client, order["id"], "receive")).status_code == 200
    assert (await client.get(f"/api/v1/orders/{order['id']}/pickup")).json()["state"] == "to_prepare"


async def test_another_store_without_the_units_changes_nothing(client, shop, db):
    order, _ = await refused_order(client, ("LAMP-1", 2))
    before = await snapshot(db)
    refused = await choose(client, order["id"], choice="another_store", store="LYO-PDI", allow_transfer=False)
    assert refused.status_code == 409 and refused.json()["shortages"][0]["missing"] == 1
    assert await snapshot(db) == before
    assert (await client.get(f"/api/v1/orders/{order['id']}/pickup")).json()["state"] == "awaiting_customer"


async def test_delivery_turns_it_into_a_ship_order_routed_without_the_refusing_store(client, shop, db):
    await put_stock(db, "VASE-1", "WH-ORL", 5)
    order, _ = await refused_order(client, ("LAMP-1", 1), ("VASE-1", 1), reason="no_variance",
                                   lines=[{"line_no": 1}])
    assert await level(client, "PAR-RIV", "VASE-1") == (2, 1)  # the unrefused line is still held
    chosen = await choose(client, order["id"], choice="delivery", ship_to=PARIS)
    assert chosen.status_code == 200, chosen.text
    body = chosen.json()["order"]
    assert body["fulfillment"] == "ship" and body["status"] == "confirmed" and body["location"] is None
    assert body["ship_to"]["city"] == "Paris" and chosen.json()["pickup"] is None
    assert [li["location"] for li in body["lines"]] == ["WH-ORL", "WH-ORL"]  # Paris ships, but it refused
    assert await level(client, "PAR-RIV", "VASE-1") == (2, 0)
    assert (await client.get(f"/api/v1/orders/{order['id']}/pickup")).status_code == 404
    routing = (await client.get(f"/api/v1/orders/{order['id']}/routing")).json()
    assert routing["decisions"][0]["trigger"] == "refused_pickup" and routing["rejections"][0]["location"] == "PAR-RIV"
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []


async def test_delivery_nobody_can_send_is_409_and_changes_nothing(client, shop, db):
    order, _ = await refused_order(client, ("VASE-1", 1))  # only Paris had vases
    before = await snapshot(db)
    assert (await client.get(f"/api/v1/orders/{order['id']}/pickup/alternatives")).json()["delivery"] is False
    refused = await choose(client, order["id"], choice="delivery", ship_to=PARIS)
    assert refused.status_code == 409, refused.text
    assert await snapshot(db) == before


async def test_cancelling_releases_what_is_held_and_refunds(client, shop):
    order, _ = await refused_order(client, ("LAMP-1", 1), ("VASE-1", 2), reason="damaged", units=1,
                                   lines=[{"line_no": 1}], paid=True)
    assert await level(client, "PAR-RIV", "LAMP-1") == (2, 0)  # one damaged lamp left sellable stock
    chosen = await choose(client, order["id"], choice="cancel")
    assert chosen.status_code == 200 and chosen.json()["order"]["status"] == "cancelled"
    assert await level(client, "PAR-RIV", "VASE-1") == (2, 0)
    cancelled = (await events(client, "order.cancelled"))[0]["data"]
    assert cancelled["refund_due"] is True
    assert (await events(client, "pickup.alternative_chosen"))[0]["data"]["choice"] == "cancel"


@pytest.mark.parametrize(("body", "status"), [
    ({"choice": "another_store"}, 422),  # which store?
    ({"choice": "delivery"}, 422),  # where to?
    ({"choice": "cancel", "store": "LYO-PDI"}, 422),
    ({"choice": "another_store", "store": "PAR-RIV"}, 422),  # the store that refused
    ({"choice": "another_store", "store": "WH-ORL"}, 422),  # no click & collect there
    ({"choice": "another_store", "store": "NOPE"}, 404),
    ({"choice": "elsewhere"}, 422),
])
async def test_bad_answers_change_nothing(client, shop, db, body, status):
    order, _ = await refused_order(client, ("LAMP-1", 1))
    before = await snapshot(db)
    response = await choose(client, order["id"], **body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await snapshot(db) == before


async def test_what_cannot_be_refused_or_answered_is_409_and_changes_nothing(client, shop, db):
    order = await place(client, pickup(("LAMP-1", 1)))
    before = await snapshot(db)
    assert (await choose(client, order["id"], choice="cancel")).status_code == 409  # nothing was refused
    assert (await client.get(f"/api/v1/orders/{order['id']}/pickup/alternatives")).status_code == 409
    assert (await refuse(client, order["id"], location="LYO-PDI")).status_code == 409  # not its store
    await make_ready(client, order["id"])
    before = await snapshot(db)
    assert (await refuse(client, order["id"])).status_code == 409  # ready: the goods are gathered
    assert await snapshot(db) == before
    other, _ = await refused_order(client, ("LAMP-1", 1))
    assert (await choose(client, other["id"], choice="cancel")).status_code == 200
    assert (await choose(client, other["id"], choice="cancel")).status_code == 409  # answered already


async def test_a_store_refusing_during_preparation_is_accepted(client, shop):
    order = await place(client, pickup(("LAMP-1", 1)))
    assert (await step(client, order["id"], "start")).status_code == 200
    refused = await refuse(client, order["id"], reason="damaged", units=1)
    assert refused.status_code == 200 and refused.json()["status"] == "awaiting_customer"


async def test_only_the_pickup_stores_staff_refuse_it(client, shop, key_for):
    order = await place(client, pickup(("LAMP-1", 1)))
    lyon = await key_for(Role.STORE_ASSOCIATE, locations=["LYO-PDI"])
    paris = await key_for(Role.STORE_ASSOCIATE, locations=["PAR-RIV"])
    body = {"location": "PAR-RIV", "reason": "no_variance"}
    assert (await client.post(f"/api/v1/orders/{order['id']}/reject", json=body, headers=lyon)).status_code == 403
    accepted = await client.post(f"/api/v1/orders/{order['id']}/reject", json=body, headers=paris)
    assert accepted.status_code == 200, accepted.text


async def test_an_unanswered_refusal_is_cancelled_when_its_time_is_up(client, shop, db):
    order, refused = await refused_order(client, ("LAMP-1", 1), ("VASE-1", 1), lines=[{"line_no": 1}])
    deadline = datetime.fromisoformat(refused["alternatives"]["decide_by"])
    async with db.writer() as session:
        assert await cancel_unanswered_refusals(session, now=deadline - timedelta(minutes=1)) == 0
        assert await cancel_unanswered_refusals(session, now=deadline) == 1
        await session.commit()
    assert (await client.get(f"/api/v1/orders/{order['id']}")).json()["status"] == "cancelled"
    assert await level(client, "PAR-RIV", "VASE-1") == (2, 0)
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []
