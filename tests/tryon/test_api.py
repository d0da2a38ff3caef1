"""Reserve online, try in store — each journey through the API, and what the hub refuses."""

from datetime import datetime, timedelta

from sqlalchemy import func, select

from omnicanal.events.models import OutboxEvent
from omnicanal.inventory.models import Reservation
from omnicanal.tryon.models import TryOn, TryOnSlot
from omnicanal.tryon.service import expire_try_ons
from tests.tryon.conftest import booking, events, level, slot_at, slot_remaining, tomorrow


async def counts(db) -> tuple[int, int, int, int]:
    async with db.reader() as session:
        return (await session.scalar(select(func.count()).select_from(TryOn)),
                await session.scalar(select(func.count()).select_from(Reservation)),
                await session.scalar(select(func.coalesce(func.sum(TryOnSlot.booked), 0))),
                await session.scalar(select(func.count()).select_from(OutboxEvent)))


async def book(client, *lines, **extra) -> dict:
    response = await client.post("/api/v1/try-ons", json=booking(*lines, **extra))
    assert response.status_code == 201, response.text
    return response.json()


async def lapse(db, clock, after: datetime) -> int:
    clock.now = after
    async with db.writer() as session:
        lapsed = await expire_try_ons(session)
        await session.commit()
    return lapsed


# --- a store's offer --------------------------------------------------------------------------------------
async def test_a_store_never_configured_offers_no_slot(client, store):
    settings = (await client.get("/api/v1/locations/LYO-PDI/try-on-settings")).json()
    assert settings["enabled"] is False and settings["updated_at"] is None
    refused = await client.get("/api/v1/locations/LYO-PDI/try-on-slots", params={"date": tomorrow().isoformat()})
    assert refused.status_code == 422 and "does not offer try-ons" in refused.json()["detail"]
    assert (await client.get("/api/v1/locations/NOPE/try-on-slots",
                             params={"date": tomorrow().isoformat()})).status_code == 404


async def test_a_day_lists_its_slots_with_the_places_left(client, store):
    day = (await client.get("/api/v1/locations/PAR-RIV/try-on-slots", params={"date": tomorrow().isoformat()})).json()
    assert day["slot_minutes"] == 30 and day["capacity"] == 2 and day["timezone"] == "Europe/Paris"
    assert len(day["slots"]) == 20  # 09:00–19:00 in half hours
    first = day["slots"][0]
    assert datetime.fromisoformat(first["starts_at"]) == slot_at(9)
    assert first == {**first, "capacity": 2, "booked": 0, "remaining": 2, "bookable": True}
    assert (await client.get("/api/v1/locations/PAR-RIV/try-on-slots")).status_code == 422  # date is required


async def test_only_a_store_that_sells_can_offer_try_ons_and_bad_settings_change_nothing(client, store):
    warehouse = await client.put("/api/v1/locations/WH-ORL/try-on-settings", json={})
    assert warehouse.status_code == 422
    for bad in ({"slot_minutes": 0}, {"capacity": -1}, {"max_items": 0}, {"slot_minute": 30}):
        assert (await client.put("/api/v1/locations/PAR-RIV/try-on-settings", json=bad)).status_code == 422
    assert (await client.get("/api/v1/locations/PAR-RIV/try-on-settings")).json()["max_items"] == 4


async def test_a_day_may_take_more_or_fewer_bookings(client, store):
    day = tomorrow().isoformat()
    busy = await client.put(f"/api/v1/locations/PAR-RIV/try-on-days/{day}", json={"capacity": 5})
    assert busy.status_code == 200 and busy.json()["capacity"] == 5 and busy.json()["slots"][0]["remaining"] == 5
    closed = await client.put(f"/api/v1/locations/PAR-RIV/try-on-days/{day}", json={"capacity": 0})
    assert all(not s["bookable"] for s in closed.json()["slots"])
    assert (await client.post("/api/v1/try-ons", json=booking(("DRESS-1", 1)))).status_code == 409
    usual = await client.put(f"/api/v1/locations/PAR-RIV/try-on-days/{day}", json={"capacity": None})
    assert usual.json()["capacity"] == 2
    assert [e["data"]["capacity"] for e in await events(client, "tryon.day_capacity_changed")] == [5, 0, None]


# --- booking ----------------------------------------------------------------------------------------------
async def test_a_booking_holds_the_articles_until_the_slot_ends_plus_grace(client, store):
    try_on = await book(client, ("DRESS-1", 2), ("SHOE-1", 1), customer=store)
    assert try_on["status"] == "booked" and try_on["customer"] == store
    assert datetime.fromisoformat(try_on["slot_end"]) == slot_at(10, 30)
    assert datetime.fromisoformat(try_on["hold_until"]) == slot_at(11)
    lines = [(li["sku"], li["quantity"], li["bought"]) for li in try_on["lines"]]
    assert lines == [("DRESS-1", 2, 0), ("SHOE-1", 1, 0)]
    assert (await level(client, "PAR-RIV", "DRESS-1"))["reserved"] == 2
    assert (await level(client, "PAR-RIV", "SHOE-1"))["available"] == 1
    assert await slot_remaining(client) == 1
    assert (await client.get(f"/api/v1/try-ons/{try_on['id']}")).json() == try_on
    booked = await events(client, "tryon.booked")
    assert booked[0]["subject"] == try_on["id"] and booked[0]["data"]["location"] == "PAR-RIV"
    hold = (await client.get(f"/api/v1/reservations/{try_on['lines'][0]['reservation']}")).json()
    assert hold["reference"] == try_on["id"] and datetime.fromisoformat(hold["expires_at"]) == slot_at(11)


async def test_a_full_slot_is_refused_and_nothing_is_held(client, store, db):
    await book(client, ("DRESS-1", 1))
    await book(client, ("DRESS-1", 1))
    before = await counts(db)
    full = await client.post("/api/v1/try-ons", json=booking(("SHOE-1", 1)))
    assert full.status_code == 409 and full.json()["type"].endswith("/slot-full")
    assert await counts(db) == before
    assert (await level(client, "PAR-RIV", "SHOE-1"))["reserved"] == 0
    assert (await client.post("/api/v1/try-ons", json=booking(("SHOE-1", 1), hour=11))).status_code == 201


async def test_missing_stock_on_any_line_books_nothing_and_keeps_the_place(client, store, db):
    before = await counts(db)
    short = await client.post("/api/v1/try-ons", json=booking(("DRESS-1", 1), ("SHOE-1", 3)))
    assert short.status_code == 409
    assert short.json()["shortages"] == [{"sku": "SHOE-1", "location": "PAR-RIV", "requested": 3}]
    assert await counts(db) == before
    assert (await level(client, "PAR-RIV", "DRESS-1"))["reserved"] == 0
    assert await slot_remaining(client) == 2


async def test_the_web_channels_safety_buffer_is_respected(client, store):
    assert (await client.patch("/api/v1/channels/web", json={"safety_buffer": 2})).status_code == 200
    assert (await client.post("/api/v1/try-ons", json=booking(("SHOE-1", 1)))).status_code == 409
    assert (await client.post("/api/v1/try-ons", json=booking(("DRESS-1", 1)))).status_code == 201


async def test_bad_bookings_are_refused_and_change_nothing(client, store, db):
    before = await counts(db)
    past = tomorrow() - timedelta(days=2)
    refusals = [
        (422, booking(("DRESS-1", 1), slot_start=slot_at(10, 10).isoformat())),  # not a slot's start
        (422, booking(("DRESS-1", 1), slot_start=slot_at(8).isoformat())),  # before opening
        (422, booking(("DRESS-1", 1), slot_start=slot_at(10, day=past).isoformat())),  # in the past
        (422, booking(("DRESS-1", 1), slot_start=slot_at(10, day=tomorrow() + timedelta(days=20)).isoformat())),
        (422, booking(("DRESS-1", 1), slot_start="2026-06-01T10:00:00")),  # no time zone
        (422, booking(("DRESS-1", 1), channel="pos")),  # a till does not book
        (404, booking(("DRESS-1", 1), channel="fax")),
        (404, booking(("DRESS-1", 1), customer="cus_nobody")),
        (404, booking(("NOPE-1", 1))),
        (422, booking(("DRESS-1", 3), ("SHOE-1", 2))),  # more than max_items (4)
        (422, booking(("DRESS-1", 1), ("DRESS-1", 1))),  # an article twice
        (422, booking(("DRESS-1", 0))),
        (422, booking()),
        (422, booking(("DRESS-1", 1), colour="red")),
        (422, booking(("DRESS-1", 1), location="WH-ORL")),  # not a store offering try-ons
    ]
    for status, body in refusals:
        response = await client.post("/api/v1/try-ons", json=body)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert await counts(db) == before


async def test_an_idempotent_replay_books_once(client, store):
    headers = {"Idempotency-Key": "web-cart-42"}
    first = await client.post("/api/v1/try-ons", json=booking(("DRESS-1", 1)), headers=headers)
    again = await client.post("/api/v1/try-ons", json=booking(("DRESS-1", 1)), headers=headers)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert (await level(client, "PAR-RIV", "DRESS-1"))["reserved"] == 1


# --- at the store -----------------------------------------------------------------------------------------
async def test_bought_at_the_till_the_held_units_become_a_sale_and_the_rest_go_back(client, store):
    try_on = await book(client, ("DRESS-1", 2), ("SHOE-1", 1), customer=store)
    checked = await client.post(f"/api/v1/try-ons/{try_on['id']}/check-in")
    assert checked.status_code == 200 and checked.json()["status"] == "checked_in"
    bought = await client.post(f"/api/v1/try-ons/{try_on['id']}/purchase",
                               json={"channel": "pos", "lines": [{"sku": "DRESS-1", "quantity": 1}]})
    assert bought.status_code == 200, bought.text
    result = bought.json()
    assert result["status"] == "partially_purchased" and result["purchase_channel"] == "pos"
    assert {li["sku"]: li["bought"] for li in result["lines"]} == {"DRESS-1": 1, "SHOE-1": 0}
    order = (await client.get(f"/api/v1/orders/{result['order_id']}")).json()
    assert (order["fulfillment"], order["status"], order["location"], order["customer"]) == (
        "carry_out", "completed", "PAR-RIV", store)
    assert [(li["sku"], li["quantity"], li["unit_price"]) for li in order["lines"]] == [("DRESS-1", 1, 8900)]
    assert await level(client, "PAR-RIV", "DRESS-1") == {
        "sku": "DRESS-1", "location": "PAR-RIV", "on_hand": 2, "reserved": 0, "safety": 0, "available": 2}
    assert (await level(client, "PAR-RIV", "SHOE-1"))["reserved"] == 0
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []
    sale = (await client.get("/api/v1/stock/movements", params={"sku": "DRESS-1", "kind": "sale"})).json()["items"]
    assert [(m["on_hand_delta"], m["reserved_delta"]) for m in sale] == [(-1, -1)]  # one movement, from the hold
    holds = {li["sku"]: (await client.get(f"/api/v1/reservations/{li['reservation']}")).json()["status"]
             for li in result["lines"]}
    assert holds == {"DRESS-1": "consumed", "SHOE-1": "released"}
    purchased = await events(client, "tryon.purchased")
    assert purchased[0]["data"]["order_id"] == order["id"]


async def test_buying_everything_at_the_till_without_checking_in(client, store):
    try_on = await book(client, ("SHOE-1", 2))
    bought = await client.post(f"/api/v1/try-ons/{try_on['id']}/purchase",
                               json={"channel": "pos", "lines": [{"sku": "SHOE-1", "quantity": 2}]})
    assert bought.json()["status"] == "purchased"
    assert await level(client, "PAR-RIV", "SHOE-1") == {
        "sku": "SHOE-1", "location": "PAR-RIV", "on_hand": 0, "reserved": 0, "safety": 0, "available": 0}
    again = await client.post(f"/api/v1/try-ons/{try_on['id']}/purchase",
                              json={"channel": "pos", "lines": [{"sku": "SHOE-1", "quantity": 1}]})
    assert again.status_code == 409


async def test_bought_online_the_holds_become_a_web_order(client, store):
    try_on = await book(client, ("DRESS-1", 1), ("SHOE-1", 1), customer=store)
    bought = await client.post(f"/api/v1/try-ons/{try_on['id']}/purchase",
                               json={"channel": "web", "lines": [{"sku": "SHOE-1", "quantity": 1}]})
    assert bought.status_code == 200, bought.text
    assert bought.json()["status"] == "partially_purchased"
    order = (await client.get(f"/api/v1/orders/{bought.json()['order_id']}")).json()
    assert (order["channel"], order["fulfillment"], order["status"], order["customer"]) == (
        "web", "ship", "confirmed", store)
    assert order["lines"][0]["location"] == "PAR-RIV"  # the only place holding shoes ships them
    assert (await level(client, "PAR-RIV", "SHOE-1"))["reserved"] == 1  # now reserved by the order
    assert (await level(client, "PAR-RIV", "DRESS-1"))["reserved"] == 0
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []


async def test_an_online_purchase_that_cannot_be_shipped_changes_nothing(client, store, db):
    await client.patch("/api/v1/locations/PAR-RIV", json={"capabilities": {"ships": False}})
    try_on = await book(client, ("SHOE-1", 1))
    before = await counts(db)
    refused = await client.post(f"/api/v1/try-ons/{try_on['id']}/purchase",
                                json={"channel": "web", "lines": [{"sku": "SHOE-1", "quantity": 1}]})
    assert refused.status_code == 409 and refused.json()["shortages"][0]["sku"] == "SHOE-1"
    assert await counts(db) == before
    assert (await client.get(f"/api/v1/try-ons/{try_on['id']}")).json()["status"] == "booked"
    assert (await level(client, "PAR-RIV", "SHOE-1"))["reserved"] == 1  # still held for the customer


async def test_a_purchase_may_take_only_what_was_held(client, store, db):
    try_on = await book(client, ("DRESS-1", 1))
    before = await counts(db)
    for lines, status in (([{"sku": "DRESS-1", "quantity": 2}], 422), ([{"sku": "SHOE-1", "quantity": 1}], 422),
                          ([], 422)):
        response = await client.post(f"/api/v1/try-ons/{try_on['id']}/purchase",
                                     json={"channel": "pos", "lines": lines})
        assert response.status_code == status, response.text
    assert (await client.post(f"/api/v1/try-ons/{try_on['id']}/purchase", json={
        "channel": "teleport", "lines": [{"sku": "DRESS-1", "quantity": 1}]})).status_code == 404
    assert await counts(db) == before
    assert (await client.post("/api/v1/try-ons/try_nope/purchase", json={
        "channel": "pos", "lines": [{"sku": "DRESS-1", "quantity": 1}]})).status_code == 404


async def test_declined_the_articles_go_back_at_once(client, store):
    try_on = await book(client, ("DRESS-1", 2))
    declined = await client.post(f"/api/v1/try-ons/{try_on['id']}/decline")
    assert declined.json()["status"] == "declined" and declined.json()["closed_at"] is not None
    assert (await level(client, "PAR-RIV", "DRESS-1"))["reserved"] == 0
    assert (await client.post(f"/api/v1/try-ons/{try_on['id']}/check-in")).status_code == 409
    assert (await client.post(f"/api/v1/try-ons/{try_on['id']}/purchase", json={
        "channel": "pos", "lines": [{"sku": "DRESS-1", "quantity": 1}]})).status_code == 409


async def test_a_cancelled_booking_frees_its_place_and_articles(client, store):
    try_on = await book(client, ("DRESS-1", 1))
    assert await slot_remaining(client) == 1
    cancelled = await client.post(f"/api/v1/try-ons/{try_on['id']}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    assert await slot_remaining(client) == 2
    assert (await level(client, "PAR-RIV", "DRESS-1"))["reserved"] == 0
    assert (await client.post(f"/api/v1/try-ons/{try_on['id']}/cancel")).status_code == 409
    came = await book(client, ("DRESS-1", 1))
    await client.post(f"/api/v1/try-ons/{came['id']}/check-in")
    assert (await client.post(f"/api/v1/try-ons/{came['id']}/cancel")).status_code == 409  # declines instead


# --- lapsing ----------------------------------------------------------------------------------------------
async def test_a_booking_nobody_came_for_lapses_as_a_no_show(client, store, db, clock):
    try_on = await book(client, ("DRESS-1", 2), customer=store)
    came = await book(client, ("SHOE-1", 1), customer=store)
    await client.post(f"/api/v1/try-ons/{came['id']}/check-in")
    assert await lapse(db, clock, slot_at(10, 59)) == 0  # within the grace period: still held
    assert (await level(client, "PAR-RIV", "DRESS-1"))["reserved"] == 2
    assert await lapse(db, clock, slot_at(11)) == 2
    assert (await client.get(f"/api/v1/try-ons/{try_on['id']}")).json()["status"] == "no_show"
    assert (await client.get(f"/api/v1/try-ons/{came['id']}")).json()["status"] == "expired"
    assert (await level(client, "PAR-RIV", "DRESS-1"))["reserved"] == 0
    assert (await level(client, "PAR-RIV", "SHOE-1"))["reserved"] == 0
    no_show = await events(client, "tryon.no_show")
    assert [e["subject"] for e in no_show] == [try_on["id"]] and no_show[0]["data"]["customer"] == store
    record = (await client.get(f"/api/v1/customers/{store}/try-ons")).json()
    assert record == {"customer": store, "total": 2, "no_shows": 1, "by_status": {"no_show": 1, "expired": 1}}
    listed = (await client.get("/api/v1/try-ons", params={"customer": store, "status": "no_show"})).json()
    assert [t["id"] for t in listed["items"]] == [try_on["id"]]
    assert await lapse(db, clock, slot_at(12)) == 0  # nothing left to lapse


async def test_nothing_can_be_done_with_a_hold_that_lapsed(client, store, clock):
    try_on = await book(client, ("DRESS-1", 1))
    clock.now = slot_at(11)  # the sweeper has not run yet: the hold has lapsed all the same
    for action, body in (("purchase", {"channel": "pos", "lines": [{"sku": "DRESS-1", "quantity": 1}]}),
                         ("check-in", None), ("decline", None), ("cancel", None)):
        response = await client.post(f"/api/v1/try-ons/{try_on['id']}/{action}", json=body)
        assert response.status_code == 409 and response.json()["type"].endswith("/try-on-lapsed"), action
    assert (await client.get(f"/api/v1/try-ons/{try_on['id']}")).json()["status"] == "booked"
    assert (await level(client, "PAR-RIV", "DRESS-1"))["reserved"] == 1


async def test_the_stock_comes_back_even_if_the_reservation_sweep_ran_first(client, store, db, clock):
    from omnicanal.inventory.holds import expire_reservations

    try_on = await book(client, ("DRESS-1", 1))
    async with db.writer() as session:  # the hub's reservation sweeper, at the hold's end
        assert await expire_reservations(session, now=slot_at(11)) == 1
        await session.commit()
    assert await lapse(db, clock, slot_at(11)) == 1
    assert (await client.get(f"/api/v1/try-ons/{try_on['id']}")).json()["status"] == "no_show"
    assert (await level(client, "PAR-RIV", "DRESS-1"))["reserved"] == 0
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []


# --- reading ----------------------------------------------------------------------------------------------
async def test_try_ons_are_listed_by_store_and_slot(client, store):
    first = await book(client, ("DRESS-1", 1))
    second = await book(client, ("SHOE-1", 1), hour=15)
    page = (await client.get("/api/v1/try-ons", params={"location": "PAR-RIV", "limit": 1})).json()
    assert [t["id"] for t in page["items"]] == [second["id"]] and page["next"]
    rest = (await client.get("/api/v1/try-ons", params={"location": "PAR-RIV", "cursor": page["next"]})).json()
    assert [t["id"] for t in rest["items"]] == [first["id"]] and rest["next"] is None
    afternoon = (await client.get("/api/v1/try-ons", params={"slot_from": slot_at(12).isoformat()})).json()
    assert [t["id"] for t in afternoon["items"]] == [second["id"]]
    assert (await client.get("/api/v1/try-ons", params={"status": "lost"})).status_code == 422
    assert (await client.get("/api/v1/try-ons/try_nope")).status_code == 404
    assert (await client.get("/api/v1/customers/cus_nobody/try-ons")).status_code == 404


async def test_who_may_do_what(client, store, key_for):
    from omnicanal.access.rules import Role

    analyst = await key_for(Role.ANALYST)
    assert (await client.post("/api/v1/try-ons", json=booking(("DRESS-1", 1)), headers=analyst)).status_code == 403
    assert (await client.get("/api/v1/try-ons", headers=analyst)).status_code == 403
    assert (await client.put("/api/v1/locations/PAR-RIV/try-on-settings", json={},
                             headers=analyst)).status_code == 403
    day = {"date": tomorrow().isoformat()}
    assert (await client.get("/api/v1/locations/PAR-RIV/try-on-slots", params=day, headers=analyst)).status_code == 200


async def test_store_staff_and_channels_reach_only_their_own_try_ons(client, store, key_for):
    from omnicanal.access.rules import Role

    try_on = await book(client, ("DRESS-1", 1), customer=store)
    lyon = await key_for(Role.STORE_ASSOCIATE, locations=["LYO-PDI"])
    assert (await client.get(f"/api/v1/try-ons/{try_on['id']}", headers=lyon)).status_code == 403
    assert (await client.post(f"/api/v1/try-ons/{try_on['id']}/check-in", headers=lyon)).status_code == 403
    assert (await client.get("/api/v1/try-ons", headers=lyon)).json()["items"] == []
    assert (await client.post("/api/v1/try-ons", json=booking(("DRESS-1", 1)), headers=lyon)).status_code == 403
    app = await key_for(Role.INTEGRATION, channel="app")
    assert (await client.post("/api/v1/try-ons", json=booking(("DRESS-1", 1)), headers=app)).status_code == 403
    assert (await client.get(f"/api/v1/try-ons/{try_on['id']}", headers=app)).status_code == 403
    web = await key_for(Role.INTEGRATION, channel="web")
    assert (await client.get(f"/api/v1/try-ons/{try_on['id']}", headers=web)).status_code == 200
    buy = {"channel": "pos", "lines": [{"sku": "DRESS-1", "quantity": 1}]}
    assert (await client.post(f"/api/v1/try-ons/{try_on['id']}/purchase", json=buy, headers=web)).status_code == 403
    assert (await client.get(f"/api/v1/try-ons/{try_on['id']}")).json()["status"] == "booked"
    paris = await key_for(Role.STORE_ASSOCIATE, locations=["PAR-RIV"])
    bought = await client.post(f"/api/v1/try-ons/{try_on['id']}/purchase", json=buy, headers=paris)
    assert bought.status_code == 200 and bought.json()["status"] == "purchased"
