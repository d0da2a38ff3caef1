"""Pickups served from elsewhere (transfers, endless aisle), short picks, cancellation and expiry."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from omnicanal.fulfillment.models import PickupTask
from omnicanal.fulfillment.pickups import expire_uncollected_pickups
from omnicanal.inventory.sweeper import sweep_once
from omnicanal.kit.clock import utcnow
from tests.fulfillment.support import build_shop, counts, events, level, make_ready, pickup, place, step


@pytest.fixture
async def shop(db):
    await build_shop(db)


async def pickup_state(client, oid):
    return (await client.get(f"/api/v1/orders/{oid}/pickup")).json()


async def test_a_transfer_brings_what_the_store_lacks_then_the_order_is_collected(client, shop):
    before = utcnow()
    order = await place(client, pickup(("LAMP-1", 2), location="LYO-PDI", allow_transfer=True))
    oid = order["id"]
    assert [(li["quantity"], li["location"]) for li in order["lines"]] == [(1, "LYO-PDI"), (1, "WH-ORL")]
    assert await level(client, "WH-ORL", "LAMP-1") == (10, 1)  # reserved at the source until it leaves
    task = await pickup_state(client, oid)
    assert task["state"] == "awaiting_goods"
    assert [li["status"] for li in task["lines"]] == ["in_store", "awaiting_dispatch"]
    promised = datetime.fromisoformat(task["promised_at"])  # 48 h on the road, 2 h to prepare
    assert before + timedelta(hours=50) <= promised <= utcnow() + timedelta(hours=50)
    queue = (await client.get("/api/v1/locations/LYO-PDI/pickup-tasks", params={"state": "awaiting_goods"})).json()
    assert [t["order_id"] for t in queue["items"]] == [oid]
    assert (await client.get("/api/v1/locations/LYO-PDI/pickup-tasks",
                             params={"state": "to_prepare"})).json()["items"] == []

    assert (await step(client, oid, "receive")).status_code == 409  # nothing sent yet
    assert (await step(client, oid, "start")).status_code == 200
    assert (await step(client, oid, "ready")).status_code == 409  # the lamp from Orléans is not in yet
    sent = await step(client, oid, "dispatch", params={"from": "WH-ORL"})
    assert sent.status_code == 200, sent.text
    transfer_id = sent.json()["transfers"][0]
    assert [li["status"] for li in sent.json()["pickup"]["lines"]] == ["in_store", "in_transit"]
    assert await level(client, "WH-ORL", "LAMP-1") == (9, 0)
    assert (await client.get(f"/api/v1/transfers/{transfer_id}")).json()["status"] == "in_transit"
    assert (await step(client, oid, "dispatch")).status_code == 409  # nothing left to send

    received = await step(client, oid, "receive")
    assert received.status_code == 200 and received.json()["transfers"] == [transfer_id]
    assert await level(client, "LYO-PDI", "LAMP-1") == (2, 2)
    assert (await client.get(f"/api/v1/transfers/{transfer_id}")).json()["status"] == "received"
    ready = (await step(client, oid, "ready")).json()
    collected = await client.post(f"/api/v1/orders/{oid}/collect", json={"code": ready["code"]})
    assert collected.status_code == 200
    assert await level(client, "LYO-PDI", "LAMP-1") == (0, 0)
    assert [e["type"] for e in await events(client, ["pickup.goods_sent", "pickup.goods_received"])] == [
        "pickup.goods_sent", "pickup.goods_received"]
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []


async def test_goods_received_through_the_stock_api_are_still_reserved_for_the_order(client, shop):
    oid = (await place(client, pickup(("RUG-1", 1), location="PAR-RIV", allow_transfer=True)))["id"]
    transfer_id = (await step(client, oid, "dispatch")).json()["transfers"][0]
    assert (await client.post(f"/api/v1/transfers/{transfer_id}/receive")).status_code == 200
    assert await level(client, "PAR-RIV", "RUG-1") == (1, 0)
    assert (await step(client, oid, "receive")).status_code == 200
    assert await level(client, "PAR-RIV", "RUG-1") == (1, 1)


async def test_a_cancelled_transfer_is_reported_not_received(client, shop, db):
    oid = (await place(client, pickup(("RUG-1", 1), location="PAR-RIV", allow_transfer=True)))["id"]
    transfer_id = (await step(client, oid, "dispatch")).json()["transfers"][0]
    assert (await client.post(f"/api/v1/transfers/{transfer_id}/cancel")).status_code == 200
    before = await counts(db)
    refused = await step(client, oid, "receive")
    assert refused.status_code == 409 and "cancelled" in refused.json()["detail"]
    assert await counts(db) == before


async def test_cancelling_gives_back_exactly_what_the_order_holds_wherever_it_is(client, shop):
    waiting = (await place(client, pickup(("LAMP-1", 2), location="LYO-PDI", allow_transfer=True)))["id"]
    assert (await client.post(f"/api/v1/orders/{waiting}/cancel")).json()["status"] == "cancelled"
    assert await level(client, "LYO-PDI", "LAMP-1") == (1, 0) and await level(client, "WH-ORL", "LAMP-1") == (10, 0)
    assert (await pickup_state(client, waiting))["state"] == "cancelled"

    travelling = (await place(client, pickup(("RUG-1", 1), location="PAR-RIV", allow_transfer=True)))["id"]
    await step(client, travelling, "dispatch")
    assert (await client.post(f"/api/v1/orders/{travelling}/cancel")).status_code == 200
    assert await level(client, "WH-ORL", "RUG-1") == (3, 0)  # the rug is on the road: nothing to release

    ready = (await place(client, pickup(("VASE-1", 2))))["id"]
    await make_ready(client, ready)
    assert (await client.post(f"/api/v1/orders/{ready}/cancel")).status_code == 200
    assert await level(client, "PAR-RIV", "VASE-1") == (2, 0)
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []


async def test_uncollected_orders_expire_after_the_store_holding_period(client, shop, db):
    await client.put("/api/v1/locations/PAR-RIV/pickup-settings",
                     json={"preparation_minutes": 60, "holding_days": 2, "transfer_hours": 48})
    paid = await place(client, pickup(("LAMP-1", 2), payment={"status": "paid", "reference": "psp-9"}))
    unpaid = await place(client, pickup(("VASE-1", 1)))
    await make_ready(client, paid["id"])
    ready = await make_ready(client, unpaid["id"])
    assert ready["expires_at"]
    async with db.writer() as session:
        assert await expire_uncollected_pickups(session, now=utcnow() + timedelta(days=1)) == 0
        assert await expire_uncollected_pickups(session, now=utcnow() + timedelta(days=2, minutes=1)) == 2
        await session.commit()
    task = await pickup_state(client, paid["id"])
    assert task["state"] == "expired" and task["expired_at"]
    assert await level(client, "PAR-RIV", "LAMP-1") == (3, 0) and await level(client, "PAR-RIV", "VASE-1") == (2, 0)
    assert {e["subject"] for e in await events(client, "pickup.expired")} == {paid["id"], unpaid["id"]}
    refunds = await events(client, "order.refund_due")
    assert [(e["subject"], e["data"]["amount"]) for e in refunds] == [(paid["id"], 2 * 4990)]  # only money taken
    late = await client.post(f"/api/v1/orders/{unpaid['id']}/collect", json={"code": ready["code"]})
    assert late.status_code == 409
    async with db.writer() as session:
        assert await expire_uncollected_pickups(session, now=utcnow() + timedelta(days=9)) == 0


async def test_the_server_sweeper_expires_pickups_past_their_deadline(client, shop, db, settings):
    oid = (await place(client, pickup(("VASE-1", 1))))["id"]
    await make_ready(client, oid)
    async with db.writer() as session:
        await session.execute(update(PickupTask).values(expires_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    await sweep_once(db, settings)
    assert (await pickup_state(client, oid))["state"] == "expired"
    assert await level(client, "PAR-RIV", "VASE-1") == (2, 0)


async def test_a_short_pick_resourced_by_transfer_moves_the_promise_and_tells_the_customer(client, shop):
    oid = (await place(client, pickup(("LAMP-1", 2))))["id"]
    promised = (await pickup_state(client, oid))["promised_at"]
    await step(client, oid, "start")
    short = await step(client, oid, "short-picks", json={"sku": "LAMP-1", "quantity": 1, "reason": "damaged",
                                                         "resolution": "transfer", "note": "cracked shade"})
    assert short.status_code == 201, short.text
    body = short.json()
    assert body["sources"] == [{"location": "WH-ORL", "quantity": 1}] and body["refund"] == 0
    later = datetime.fromisoformat(body["pickup"]["promised_at"])
    assert later - datetime.fromisoformat(promised) > timedelta(hours=47) and body["pickup"]["short_picks"] == 1
    assert [(li["quantity"], li["status"], li["from_location"]) for li in body["pickup"]["lines"]] == [
        (1, "in_store", None), (1, "awaiting_dispatch", "WH-ORL")]
    assert await level(client, "PAR-RIV", "LAMP-1") == (2, 1)  # the damaged one left the books
    assert await level(client, "WH-ORL", "LAMP-1") == (10, 1)
    moves = (await client.get("/api/v1/stock/movements", params={"kind": "adjustment"})).json()["items"]
    assert [(m["location"], m["on_hand_delta"], m["reserved_delta"]) for m in moves] == [("PAR-RIV", -1, -1)]
    assert "damaged" in moves[0]["reason"] and "cracked shade" in moves[0]["reason"]
    told = (await events(client, "pickup.short_picked"))[0]["data"]
    assert told["resolution"] == "transfer"
    assert datetime.fromisoformat(told["promised_at"]) == datetime.fromisoformat(body["pickup"]["promised_at"])
    order = (await client.get(f"/api/v1/orders/{oid}")).json()
    assert order["total"] == 2 * 4990
    await step(client, oid, "dispatch")
    await step(client, oid, "receive")
    ready = (await step(client, oid, "ready")).json()
    assert (await client.post(f"/api/v1/orders/{oid}/collect", json={"code": ready["code"]})).status_code == 200
    assert await level(client, "PAR-RIV", "LAMP-1") == (1, 0)
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []


async def test_a_short_pick_cancelling_units_lowers_the_order_and_refunds(client, shop):
    oid = (await place(client, pickup(("VASE-1", 1), ("LAMP-1", 1), payment={"status": "paid"})))["id"]
    await step(client, oid, "start")
    short = await step(client, oid, "short-picks", json={"sku": "VASE-1", "quantity": 1, "reason": "missing",
                                                         "resolution": "cancel"})
    assert short.status_code == 201 and short.json()["refund"] == 1500
    order = (await client.get(f"/api/v1/orders/{oid}")).json()
    assert [li["sku"] for li in order["lines"]] == ["LAMP-1"] and order["total"] == 4990
    assert await level(client, "PAR-RIV", "VASE-1") == (1, 0)
    assert [e["data"]["amount"] for e in await events(client, "order.refund_due")] == [1500]
    last = await step(client, oid, "short-picks", json={"sku": "LAMP-1", "quantity": 1, "reason": "missing",
                                                        "resolution": "cancel"})
    assert last.json()["pickup"]["state"] == "cancelled"
    assert (await client.get(f"/api/v1/orders/{oid}")).json()["status"] == "cancelled"
    assert await level(client, "PAR-RIV", "LAMP-1") == (2, 0)
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []


@pytest.mark.parametrize(("body", "status"), [
    ({"sku": "LAMP-1", "quantity": 3, "reason": "missing", "resolution": "cancel"}, 422),  # holds 2
    ({"sku": "RUG-1", "quantity": 1, "reason": "missing", "resolution": "cancel"}, 422),  # not in the order
    ({"sku": "VASE-1", "quantity": 1, "reason": "missing", "resolution": "transfer"}, 409),  # nobody else has one
    ({"sku": "VASE-1", "quantity": 1, "reason": "stolen", "resolution": "cancel"}, 422),
    ({"sku": "VASE-1", "quantity": 0, "reason": "missing", "resolution": "cancel"}, 422),
    ({"sku": "VASE-1", "quantity": 1, "reason": "missing", "resolution": "wait"}, 422),
])
async def test_bad_short_picks_change_nothing(client, shop, db, body, status):
    oid = (await place(client, pickup(("LAMP-1", 2), ("VASE-1", 1))))["id"]
    await step(client, oid, "start")
    before = await counts(db)
    response = await step(client, oid, "short-picks", json=body)
    assert response.status_code == status, response.text
    assert await counts(db) == before
    assert await level(client, "PAR-RIV", "VASE-1") == (2, 1)


async def test_no_short_pick_once_ready(client, shop):
    oid = (await place(client, pickup(("VASE-1", 1))))["id"]
    await make_ready(client, oid)
    refused = await step(client, oid, "short-picks", json={"sku": "VASE-1", "quantity": 1, "reason": "missing",
                                                           "resolution": "cancel"})
    assert refused.status_code == 409


async def test_endless_aisle_at_a_kiosk_orders_for_pickup_at_this_store(client, shop):
    order = await place(client, pickup(("RUG-1", 1), channel="kiosk", allow_transfer=True))
    assert order["origin_location"] == "PAR-RIV"  # the kiosk's store is credited
    assert order["lines"][0]["location"] == "WH-ORL"
    assert (await pickup_state(client, order["id"]))["origin_location"] == "PAR-RIV"


async def test_endless_aisle_at_a_till_ships_home_from_elsewhere(client, shop, db):
    order = await place(client, {"channel": "pos", "fulfillment": "ship", "origin_location": "LYO-PDI",
                                 "lines": [{"sku": "RUG-1", "quantity": 2}]})
    assert order["origin_location"] == "LYO-PDI" and order["lines"][0]["location"] == "WH-ORL"
    assert await level(client, "WH-ORL", "RUG-1") == (4, 2)
    assert (await client.get(f"/api/v1/orders/{order['id']}")).json()["origin_location"] == "LYO-PDI"
    created = (await events(client, "order.created"))[-1]["data"]
    assert created["origin_location"] == "LYO-PDI"
    before = await counts(db)
    for origin, status in (("WH-ORL", 422), ("NOWHERE", 404)):
        response = await client.post("/api/v1/orders", json={
            "channel": "pos", "fulfillment": "ship", "origin_location": origin,
            "lines": [{"sku": "RUG-1", "quantity": 1}]})
        assert response.status_code == status
    assert await counts(db) == before
