"""Click & collect through the API: options, placing, the store's task, ready, handover, wrong codes."""

from datetime import datetime, timedelta

import pytest

from omnicanal.access.rules import Role
from omnicanal.kit.clock import utcnow
from omnicanal.network.rules import is_open, local_time
from tests.fulfillment.support import build_shop, counts, events, level, make_ready, pickup, place, step

HOURS = {day: [["09:00", "19:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat")}


@pytest.fixture
async def shop(db):
    await build_shop(db)


def around(moment: str, expected: datetime, slack: timedelta = timedelta(minutes=1)) -> bool:
    return abs(datetime.fromisoformat(moment) - expected) <= slack


async def test_pickup_options_list_stores_with_availability_distance_and_promise(client, shop):
    before = utcnow()
    response = await client.get("/api/v1/pickup-options", params=[
        ("channel", "web"), ("sku", "LAMP-1"), ("qty", "2"), ("sku", "VASE-1"), ("qty", "1"),
        ("lat", "48.85"), ("lon", "2.34")])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["lines"] == [{"sku": "LAMP-1", "quantity": 2}, {"sku": "VASE-1", "quantity": 1}]
    paris, lyon = body["options"]  # the warehouse offers no pickup
    assert paris["location"] == "PAR-RIV" and paris["in_stock"] and paris["transfer"] is None
    assert paris["distance_km"] < 2 and lyon["distance_km"] > 350
    assert paris["lines"] == [{"sku": "LAMP-1", "requested": 2, "available": 3},
                              {"sku": "VASE-1", "requested": 1, "available": 2}]
    assert around(paris["ready_at"], before + timedelta(hours=2))  # no opening hours recorded: clock time
    assert lyon["in_stock"] is False and lyon["ready_at"] is None
    assert lyon["transfer"]["sources"] == [{"sku": "LAMP-1", "location": "WH-ORL", "quantity": 1},
                                           {"sku": "VASE-1", "location": "PAR-RIV", "quantity": 1}]
    assert around(lyon["transfer"]["ready_at"], before + timedelta(hours=50))


async def test_the_promise_follows_the_store_hours_and_settings(client, shop):
    assert (await client.patch("/api/v1/locations/PAR-RIV", json={"opening_hours": HOURS})).status_code == 200
    settings = await client.put("/api/v1/locations/PAR-RIV/pickup-settings",
                                json={"preparation_minutes": 45, "holding_days": 3, "transfer_hours": 24})
    assert settings.json() == {"location": "PAR-RIV", "preparation_minutes": 45, "holding_days": 3,
                               "transfer_hours": 24}
    options = (await client.get("/api/v1/pickup-options", params={"channel": "web", "sku": "LAMP-1"})).json()
    paris = next(option for option in options["options"] if option["location"] == "PAR-RIV")
    ready_at = datetime.fromisoformat(paris["ready_at"])
    assert is_open(HOURS, local_time(ready_at, "Europe/Paris"))
    assert ready_at - utcnow() >= timedelta(minutes=44)
    assert paris["distance_km"] is None


@pytest.mark.parametrize("params", [
    {"channel": "web"},
    {"channel": "web", "sku": ["LAMP-1", "VASE-1"], "qty": [1]},
    {"channel": "web", "sku": "LAMP-1", "qty": 0},
    {"channel": "web", "sku": "LAMP-1", "lat": 48.8},
    {"channel": "web", "sku": "LAMP-1", "lat": 91, "lon": 2},
    {"channel": "web", "sku": "LAMP-1", "qty": "two"},
])
async def test_bad_option_queries_are_422(client, shop, params):
    response = await client.get("/api/v1/pickup-options", params=params)
    assert response.status_code == 422 and response.json()["detail"]


async def test_unknown_article_or_channel_in_options_is_404(client, shop):
    assert (await client.get("/api/v1/pickup-options", params={"channel": "web", "sku": "GHOST"})).status_code == 404
    assert (await client.get("/api/v1/pickup-options", params={"channel": "fax", "sku": "LAMP-1"})).status_code == 404


async def test_a_web_pickup_is_reserved_at_the_store_which_gets_a_task(client, shop):
    before = utcnow()
    order = await place(client, pickup(("LAMP-1", 2), ("VASE-1", 1), customer=None))
    assert (order["status"], order["fulfillment"], order["location"]) == ("confirmed", "pickup", "PAR-RIV")
    assert {line["location"] for line in order["lines"]} == {"PAR-RIV"}
    assert await level(client, "PAR-RIV", "LAMP-1") == (3, 2)
    task = (await client.get(f"/api/v1/orders/{order['id']}/pickup")).json()
    assert task["state"] == "to_prepare" and task["order_status"] == "confirmed"
    assert around(task["promised_at"], before + timedelta(hours=2))
    assert [(li["sku"], li["name"], li["quantity"], li["status"]) for li in task["lines"]] == [
        ("LAMP-1", "Article LAMP-1", 2, "in_store"), ("VASE-1", "Article VASE-1", 1, "in_store")]
    queue = (await client.get("/api/v1/locations/PAR-RIV/pickup-tasks", params={"state": "to_prepare"})).json()
    assert [t["order_id"] for t in queue["items"]] == [order["id"]]
    assert (await client.get("/api/v1/locations/LYO-PDI/pickup-tasks")).json()["items"] == []
    created = await events(client, "pickup.created")
    assert created[0]["data"]["location"] == "PAR-RIV" and created[0]["data"]["inbound"] == []


async def test_start_ready_collect_walks_the_order_to_the_customer(client, shop):
    order = await place(client, pickup(("LAMP-1", 2), payment={"status": "paid", "reference": "psp-1"}))
    oid = order["id"]
    started = await step(client, oid, "start")
    assert started.json()["state"] == "preparing" and started.json()["started_at"]
    ready = (await step(client, oid, "ready")).json()
    assert ready["state"] == "ready" and len(ready["code"]) == 8
    assert ready["qr_payload"] == f"omnicanal:pickup:{oid}:{ready['code']}"
    notified = (await events(client, "pickup.ready"))[0]["data"]
    assert notified["code"] == ready["code"] and notified["order"] == oid and notified["expires_at"]
    assert "code" not in (await client.get(f"/api/v1/orders/{oid}/pickup")).json()  # shown once only

    wrong = await client.post(f"/api/v1/orders/{oid}/collect", json={"code": "ZZZZZZZZ"})
    assert wrong.status_code == 422 and wrong.json()["attempts_left"] == 4
    assert (await client.get(f"/api/v1/orders/{oid}")).json()["status"] == "ready"
    assert await level(client, "PAR-RIV", "LAMP-1") == (3, 2)
    assert (await client.get(f"/api/v1/orders/{oid}/pickup")).json()["code_attempts"] == 1

    collected = await client.post(f"/api/v1/orders/{oid}/collect", json={"code": ready["qr_payload"]})
    assert collected.status_code == 200, collected.text
    task = collected.json()
    assert task["state"] == "collected" and task["order_status"] == "collected"
    assert task["ordered_at"] <= task["started_at"] <= task["ready_at"] <= task["collected_at"]
    assert await level(client, "PAR-RIV", "LAMP-1") == (1, 0)
    assert [e["subject"] for e in await events(client, "order.collected")] == [oid]
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []


async def test_illegal_steps_are_409_and_change_nothing(client, shop, db):
    oid = (await place(client, pickup(("LAMP-1", 1))))["id"]
    before = await counts(db)
    assert (await client.post(f"/api/v1/orders/{oid}/collect", json={"code": "AAAAAAAA"})).status_code == 409
    assert (await step(client, oid, "ready")).status_code == 409  # not started
    assert (await step(client, oid, "code")).status_code == 409  # no code before ready
    assert (await client.post(f"/api/v1/orders/{oid}/ship")).status_code == 409  # a pickup is not shipped
    assert (await client.post(f"/api/v1/orders/{oid}/shipments",
                              json={"carrier": "x", "tracking_number": "1"})).status_code == 409
    assert (await step(client, oid, "dispatch")).status_code == 409  # nothing comes from elsewhere
    assert await counts(db) == before
    ready = await make_ready(client, oid)
    before = await counts(db)
    assert (await step(client, oid, "ready")).status_code == 409  # ready twice
    assert (await step(client, oid, "start")).status_code == 409
    assert (await client.get(f"/api/v1/orders/{oid}")).json()["status"] == "ready"
    assert await counts(db) == before
    assert (await client.post(f"/api/v1/orders/{oid}/collect", json={"code": ready["code"]})).status_code == 200
    again = await client.post(f"/api/v1/orders/{oid}/collect", json={"code": ready["code"]})
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
    assert await level(client, "PAR-RIV", "LAMP-1") == (2, 0)


async def test_wrong_codes_lock_the_order_until_a_new_code_is_issued(client, shop):
    oid = (await place(client, pickup(("VASE-1", 1))))["id"]
    first = await make_ready(client, oid)
    for _ in range(5):
        assert (await client.post(f"/api/v1/orders/{oid}/collect", json={"code": "WRONG"})).status_code == 422
    locked = await client.post(f"/api/v1/orders/{oid}/collect", json={"code": first["code"]})
    assert locked.status_code == 429
    assert (await client.get(f"/api/v1/orders/{oid}/pickup")).json()["locked"] is True
    assert [e["data"]["attempts"] for e in await events(client, "pickup.code_rejected")] == [1, 2, 3, 4, 5]
    reissued = (await step(client, oid, "code")).json()
    assert reissued["code"] != first["code"] and reissued["locked"] is False
    assert (await events(client, "pickup.code_reissued"))[0]["data"]["code"] == reissued["code"]
    assert (await client.post(f"/api/v1/orders/{oid}/collect", json={"code": first["code"]})).status_code == 422
    ok = await client.post(f"/api/v1/orders/{oid}/collect", json={"code": reissued["code"].lower()})
    assert ok.status_code == 200 and ok.json()["state"] == "collected"


async def test_a_replayed_handover_is_answered_once(client, shop):
    oid = (await place(client, pickup(("VASE-1", 1))))["id"]
    ready = await make_ready(client, oid)
    headers = {"Idempotency-Key": "till-7-collect-1"}
    first = await client.post(f"/api/v1/orders/{oid}/collect", json={"code": ready["code"]}, headers=headers)
    replay = await client.post(f"/api/v1/orders/{oid}/collect", json={"code": ready["code"]}, headers=headers)
    assert first.status_code == replay.status_code == 200 and replay.headers["idempotent-replayed"] == "true"
    assert await level(client, "PAR-RIV", "VASE-1") == (1, 0)


@pytest.mark.parametrize(("body", "status"), [
    ({"channel": "web", "fulfillment": "pickup", "lines": [{"sku": "LAMP-1", "quantity": 1}]}, 422),
    (pickup(("LAMP-1", 1), location="WH-ORL"), 422),  # no pickup at the warehouse
    (pickup(("LAMP-1", 1), location="NOWHERE"), 404),
    (pickup(("GHOST", 1)), 404),
    (pickup(("LAMP-1", 1), channel="fax"), 404),
    (pickup(("LAMP-1", 1), customer="cus_nobody"), 404),
    (pickup(("LAMP-1", 1), origin_location="WH-ORL"), 422),  # an origin is a store
    ({"channel": "web", "fulfillment": "ship", "allow_transfer": True, "lines": [{"sku": "LAMP-1", "quantity": 1}]},
     422),
    (pickup(("LAMP-1", 4)), 409),  # Paris has 3
    (pickup(("LAMP-1", 2), location="LYO-PDI"), 409),  # Lyon has 1, and no transfer was allowed
    (pickup(("LAMP-1", 99), location="LYO-PDI", allow_transfer=True), 409),
])
async def test_bad_pickup_orders_are_refused_and_change_nothing(client, shop, db, body, status):
    before = await counts(db)
    response = await client.post("/api/v1/orders", json=body)
    assert response.status_code == status, response.text
    assert response.json()["detail"]
    assert await counts(db) == before


async def test_a_shortage_names_what_is_missing(client, shop):
    problem = (await client.post("/api/v1/orders", json=pickup(("LAMP-1", 2), location="LYO-PDI"))).json()
    assert problem["shortages"] == [{"sku": "LAMP-1", "location": "LYO-PDI", "requested": 2, "missing": 1}]
    assert "allow_transfer" in problem["detail"]


async def test_the_online_buffer_is_held_back_at_the_pickup_store(client, shop):
    # the marketplace withholds one unit per location: of Paris's 2 vases, one can be promised
    assert (await client.post("/api/v1/orders", json=pickup(("VASE-1", 2), channel="marketplace"))).status_code == 409
    assert (await client.post("/api/v1/orders", json=pickup(("VASE-1", 1), channel="marketplace"))).status_code == 201


async def test_pickup_settings_are_read_set_and_checked(client, shop, db):
    defaults = (await client.get("/api/v1/locations/LYO-PDI/pickup-settings")).json()
    assert defaults == {"location": "LYO-PDI", "preparation_minutes": 120, "holding_days": 5, "transfer_hours": 48}
    assert (await client.get("/api/v1/locations/NOWHERE/pickup-settings")).status_code == 404
    before = await counts(db)
    for bad in ({"preparation_minutes": -1, "holding_days": 5, "transfer_hours": 48},
                {"preparation_minutes": 60, "holding_days": 0, "transfer_hours": 48},
                {"preparation_minutes": 60, "holding_days": 5}, {"preparation_minutes": 60, "holding_days": 5,
                                                                  "transfer_hours": 1, "colour": "red"}):
        assert (await client.put("/api/v1/locations/LYO-PDI/pickup-settings", json=bad)).status_code == 422
    nowhere = await client.put("/api/v1/locations/NOWHERE/pickup-settings",
                               json={"preparation_minutes": 1, "holding_days": 1, "transfer_hours": 1})
    assert nowhere.status_code == 404
    assert await counts(db) == before


async def test_store_staff_reach_their_own_store_only(client, shop, key_for):
    paris = await key_for(Role.STORE_ASSOCIATE, locations=["PAR-RIV"])
    lyon = await key_for(Role.STORE_ASSOCIATE, locations=["LYO-PDI"])
    oid = (await place(client, pickup(("VASE-1", 1))))["id"]
    assert (await client.get("/api/v1/locations/PAR-RIV/pickup-tasks", headers=paris)).status_code == 200
    assert (await client.get("/api/v1/locations/PAR-RIV/pickup-tasks", headers=lyon)).status_code == 403
    assert (await client.post(f"/api/v1/orders/{oid}/pickup/start", headers=lyon)).status_code == 403
    assert (await client.post(f"/api/v1/orders/{oid}/pickup/start", headers=paris)).status_code == 200
    analyst = await key_for(Role.ANALYST)
    assert (await client.post(f"/api/v1/orders/{oid}/pickup/ready", headers=analyst)).status_code == 403
    assert (await client.get(f"/api/v1/orders/{oid}")).json()["status"] == "preparing"


async def test_a_channel_number_already_placed_names_the_order_it_placed(client, shop):
    first = await place(client, pickup(("VASE-1", 1), external_reference="APP-77"))
    again = await client.post("/api/v1/orders", json=pickup(("VASE-1", 1), external_reference="APP-77"))
    assert again.status_code == 409 and again.json()["order"] == first["id"]
    assert await level(client, "PAR-RIV", "VASE-1") == (2, 1)  # the refused one reserved nothing
