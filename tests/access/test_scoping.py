"""Store staff see and change only their stores' stock and orders; integration keys only their channel's."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from omnicanal.access.rules import Principal, Role
from omnicanal.access.scope import customer_filter_for, require_customer_access
from omnicanal.customers.models import Customer
from omnicanal.events.models import OutboxEvent
from omnicanal.inventory.models import Reservation, StockLevel, StockMovement, Transfer
from omnicanal.kit.errors import Forbidden
from omnicanal.orders.models import Order
from tests.access.factories import bearer, is_problem, make_user, token_of
from tests.factories import make_network, make_product, put_stock

LYON, PARIS = "LYO-PDI", "PAR-RIV"


@pytest.fixture
async def shop(db):
    await make_network(db)
    await make_product(db, "LAMP-1", 4990)
    for site in ("WH-ORL", PARIS, LYON):
        await put_stock(db, "LAMP-1", site, 10)


@pytest.fixture
async def lea(shop, db, anonymous):
    """Léa, an associate of the Lyon store, signed in."""
    await make_user(db, "lea@example.test", Role.STORE_ASSOCIATE, locations=[LYON])
    return bearer(await token_of(anonymous, "lea@example.test"))


async def stock_state(db):
    async with db.reader() as session:
        levels = sorted((s.sku, s.location_code, s.on_hand, s.reserved, s.safety)
                        for s in await session.scalars(select(StockLevel)))
        counts = [await session.scalar(select(func.count()).select_from(model))
                  for model in (StockMovement, Reservation, Transfer, Order, OutboxEvent)]
    return levels, counts


def sale(location, channel="pos", quantity=1, **extra):
    return {"channel": channel, "fulfillment": "carry_out", "location": location,
            "lines": [{"sku": "LAMP-1", "quantity": quantity}], **extra}


def shipped(channel="web", **extra):
    return {"channel": channel, "fulfillment": "ship", "lines": [{"sku": "LAMP-1", "quantity": 1}], **extra}


async def place(client, body, headers=None):
    response = await client.post("/api/v1/orders", json=body, headers=headers or {})
    assert response.status_code == 201, response.text
    return response.json()["id"]


# --- stock ------------------------------------------------------------------------------------------------------

async def test_a_lyon_associate_reads_lyon_stock_and_is_refused_paris_stock(client, lea, db):
    assert (await client.get(f"/api/v1/locations/{LYON}/stock/LAMP-1", headers=lea)).json()["on_hand"] == 10
    assert len((await client.get(f"/api/v1/locations/{LYON}/stock", headers=lea)).json()["items"]) == 1
    for path in (f"/api/v1/locations/{PARIS}/stock", f"/api/v1/locations/{PARIS}/stock/LAMP-1"):
        refused = await client.get(path, headers=lea)
        assert is_problem(refused, 403) and refused.json()["type"].endswith("/outside-scope")
        assert PARIS in refused.json()["detail"] and LYON in refused.json()["detail"]


async def test_a_lyon_associate_cannot_change_paris_stock(client, shop, db):
    manager = await _manager_of(db, client, LYON)
    before = await stock_state(db)
    paris = f"/api/v1/locations/{PARIS}/stock/LAMP-1"
    assert is_problem(await client.put(paris, json={"on_hand": 0}, headers=manager), 403)
    assert is_problem(await client.post(f"{paris}/receipts", json={"quantity": 5}, headers=manager), 403)
    assert is_problem(await client.post(f"{paris}/adjustments", json={"delta": -1, "reason": "damaged"},
                                        headers=manager), 403)
    assert await stock_state(db) == before
    lyon = f"/api/v1/locations/{LYON}/stock/LAMP-1"
    assert (await client.put(lyon, json={"on_hand": 7}, headers=manager)).json()["on_hand"] == 7


async def _manager_of(db, client, *stores, email="manager@example.test"):
    await make_user(db, email, Role.STORE_MANAGER, locations=list(stores))
    return bearer(await token_of(client, email))


async def test_the_stock_ledger_is_read_one_of_ones_own_stores_at_a_time(client, lea):
    assert is_problem(await client.get("/api/v1/stock/movements", headers=lea), 403)
    assert is_problem(await client.get("/api/v1/stock/movements", params={"location": PARIS}, headers=lea), 403)
    moves = (await client.get("/api/v1/stock/movements", params={"location": LYON}, headers=lea)).json()["items"]
    assert moves and {m["location"] for m in moves} == {LYON}
    assert (await client.get("/api/v1/stock/ledger-check", headers=lea)).json() == []


async def test_network_availability_stays_visible_to_the_till(client, lea):
    """What the web shop shows any customer (units per store) is what an associate tells one at the till."""
    found = (await client.get("/api/v1/availability/LAMP-1", headers=lea)).json()
    assert {entry["location"] for entry in found["locations"]} >= {LYON, PARIS}


async def test_an_associate_without_stock_write_cannot_hold_or_send_stock(client, lea, db):
    before = await stock_state(db)
    assert is_problem(await client.post("/api/v1/reservations", json={"sku": "LAMP-1", "location": LYON,
                                                                       "quantity": 1}, headers=lea), 403)
    assert await stock_state(db) == before


async def test_holds_stay_within_the_managers_store(client, shop, db):
    manager = await _manager_of(db, client, LYON)
    before = await stock_state(db)
    hold = {"sku": "LAMP-1", "location": PARIS, "quantity": 1}
    assert is_problem(await client.post("/api/v1/reservations", json=hold, headers=manager), 403)
    assert is_problem(await client.post("/api/v1/transfers", json={"from": PARIS, "to": LYON, "lines": [
        {"sku": "LAMP-1", "quantity": 1}]}, headers=manager), 403)
    assert await stock_state(db) == before
    paris_hold = (await client.post("/api/v1/reservations", json=hold)).json()["id"]
    assert is_problem(await client.get(f"/api/v1/reservations/{paris_hold}", headers=manager), 403)
    assert is_problem(await client.post(f"/api/v1/reservations/{paris_hold}/release", headers=manager), 403)
    assert (await client.get(f"/api/v1/reservations/{paris_hold}")).json()["status"] == "active"
    mine = await client.post("/api/v1/reservations", json={**hold, "location": LYON}, headers=manager)
    assert mine.status_code == 201 and (await client.get(f"/api/v1/reservations/{mine.json()['id']}",
                                                         headers=manager)).status_code == 200


async def test_a_transfer_is_sent_by_its_origin_and_received_by_its_destination(client, shop, db):
    lyon_manager = await _manager_of(db, client, LYON)
    paris_manager = await _manager_of(db, client, PARIS, email="paris@example.test")
    sent = await client.post("/api/v1/transfers", json={"from": LYON, "to": PARIS, "lines": [
        {"sku": "LAMP-1", "quantity": 2}]}, headers=lyon_manager)
    assert sent.status_code == 201, sent.text
    transfer = sent.json()["id"]
    assert (await client.get(f"/api/v1/transfers/{transfer}", headers=paris_manager)).status_code == 200
    assert is_problem(await client.post(f"/api/v1/transfers/{transfer}/receive", headers=lyon_manager), 403)
    assert is_problem(await client.post(f"/api/v1/transfers/{transfer}/cancel", headers=paris_manager), 403)
    received = await client.post(f"/api/v1/transfers/{transfer}/receive", headers=paris_manager)
    assert received.json()["status"] == "received"
    other = (await client.post("/api/v1/transfers", json={"from": "WH-ORL", "to": PARIS, "lines": [
        {"sku": "LAMP-1", "quantity": 1}]})).json()["id"]
    assert is_problem(await client.get(f"/api/v1/transfers/{other}", headers=lyon_manager), 403)


# --- orders -----------------------------------------------------------------------------------------------------

async def test_a_lyon_associate_sees_lyon_orders_only(client, lea):
    lyon_sale = await place(client, sale(LYON))
    paris_sale = await place(client, sale(PARIS))
    listed = (await client.get("/api/v1/orders", headers=lea)).json()["items"]
    assert [o["id"] for o in listed] == [lyon_sale]
    assert (await client.get("/api/v1/orders", params={"location": PARIS}, headers=lea)).json()["items"] == []
    assert (await client.get(f"/api/v1/orders/{lyon_sale}", headers=lea)).status_code == 200
    refused = await client.get(f"/api/v1/orders/{paris_sale}", headers=lea)
    assert is_problem(refused, 403) and "another store" in refused.json()["detail"]
    assert is_problem(await client.get("/api/v1/orders/ord_unknown", headers=lea), 404)


async def test_a_store_sees_the_web_orders_it_ships(client, shop, db, anonymous):
    await make_user(db, "paris@example.test", Role.STORE_ASSOCIATE, locations=[PARIS])
    paris = bearer(await token_of(anonymous, "paris@example.test"))
    web_order = await place(client, shipped("web", location=PARIS))  # ship-from-store: a line served in Paris
    async with db.writer() as session:  # only the line ties the order to Paris
        await session.execute(update(Order).where(Order.id == web_order).values(location_code=None))
        await session.commit()
    assert [o["id"] for o in (await client.get("/api/v1/orders", headers=paris)).json()["items"]] == [web_order]
    assert (await client.get(f"/api/v1/orders/{web_order}", headers=paris)).status_code == 200


async def test_a_lyon_associate_cannot_act_on_a_paris_order(client, lea, db):
    paris_order = await place(client, shipped(location=PARIS))
    before = await stock_state(db)
    for action in ("cancel", "ship", "deliver"):
        assert is_problem(await client.post(f"/api/v1/orders/{paris_order}/{action}", headers=lea), 403)
    assert is_problem(await client.post(f"/api/v1/orders/{paris_order}/payment", json={"status": "paid"},
                                        headers=lea), 403)
    assert await stock_state(db) == before
    assert (await client.get(f"/api/v1/orders/{paris_order}")).json()["status"] == "confirmed"


async def test_a_lyon_associate_rings_up_sales_in_lyon_only(client, lea, db):
    before = await stock_state(db)
    assert is_problem(await client.post("/api/v1/orders", json=sale(PARIS), headers=lea), 403)
    assert await stock_state(db) == before
    assert (await client.post("/api/v1/orders", json=sale(LYON), headers=lea)).status_code == 201


async def test_an_endless_aisle_order_names_the_associates_store_and_stays_visible_to_it(client, lea, db):
    before = await stock_state(db)
    assert is_problem(await client.post("/api/v1/orders", json=shipped("kiosk"), headers=lea), 403)
    assert is_problem(await client.post("/api/v1/orders", json=shipped("kiosk", origin_location=PARIS),
                                        headers=lea), 403)
    assert await stock_state(db) == before
    taken = await place(client, shipped("kiosk", origin_location=LYON), lea)
    order = (await client.get(f"/api/v1/orders/{taken}", headers=lea)).json()
    assert order["origin_location"] == LYON and LYON not in {line["location"] for line in order["lines"]}
    assert [o["id"] for o in (await client.get("/api/v1/orders", headers=lea)).json()["items"]] == [taken]


async def test_a_web_shop_key_orders_on_web_only_and_sees_only_web_orders(client, shop, key_for, db):
    web = await key_for(Role.INTEGRATION, channel="web")
    app_order = await place(client, shipped("app"))
    before = await stock_state(db)
    refused = await client.post("/api/v1/orders", json=shipped("app"), headers=web)
    assert is_problem(refused, 403) and "channel web, not app" in refused.json()["detail"]
    assert await stock_state(db) == before
    web_order = await place(client, shipped("web"), web)
    assert [o["id"] for o in (await client.get("/api/v1/orders", headers=web)).json()["items"]] == [web_order]
    assert (await client.get("/api/v1/orders", params={"channel": "app"}, headers=web)).json()["items"] == []
    assert is_problem(await client.get(f"/api/v1/orders/{app_order}", headers=web), 403)
    assert is_problem(await client.post(f"/api/v1/orders/{app_order}/cancel", headers=web), 403)
    hold = {"sku": "LAMP-1", "location": PARIS, "quantity": 1}
    assert is_problem(await client.post("/api/v1/reservations", json={**hold, "channel": "app"}, headers=web), 403)
    assert (await client.post("/api/v1/reservations", json={**hold, "channel": "web"}, headers=web)).status_code == 201


async def test_unscoped_roles_see_every_order(client, shop, key_for):
    ids = {await place(client, sale(LYON)), await place(client, sale(PARIS)), await place(client, shipped("app"))}
    for headers in ({}, await key_for(Role.ADMIN)):
        assert {o["id"] for o in (await client.get("/api/v1/orders", headers=headers)).json()["items"]} == ids


# --- customers (the hook the customers API calls) ----------------------------------------------------------------

async def test_a_store_sees_its_home_customers_and_those_who_ordered_there(client, lea, db):
    home_lyon = await _customer(client, "Lyonnaise", LYON)
    home_paris = await _customer(client, "Parisienne", PARIS)
    bought_in_lyon = await _customer(client, "Visiteuse", PARIS)
    await place(client, sale(LYON, customer=bought_in_lyon))
    bought_online = await _customer(client, "Internaute", None)
    await place(client, shipped("web", customer=bought_online))
    nowhere = await _customer(client, "Inconnue", None)
    associate = Principal(key_id="usr", name="Léa", role=Role.STORE_ASSOCIATE, locations=(LYON,))
    async with db.reader() as session:
        for visible in (home_lyon, bought_in_lyon, "cus_unknown"):
            await require_customer_access(session, associate, visible)
        for hidden in (home_paris, nowhere):
            with pytest.raises(Forbidden):
                await require_customer_access(session, associate, hidden)
        listed = set((await session.scalars(select(Customer.id).where(customer_filter_for(associate)))).all())
        web = Principal(key_id="k", name="web shop", role=Role.INTEGRATION, channel="web")
        web_list = set((await session.scalars(select(Customer.id).where(customer_filter_for(web)))).all())
        await require_customer_access(session, web, home_paris)  # known by id: checkout recognises them
        head_office = Principal(key_id="k", name="HO", role=Role.HEAD_OFFICE)
        assert customer_filter_for(head_office) is None
        await require_customer_access(session, head_office, home_paris)
    assert listed == {home_lyon, bought_in_lyon}
    assert web_list == {bought_online}


async def _customer(client, name, home):
    body = {"first_name": name, "last_name": "Test", **({"home_location": home} if home else {})}
    response = await client.post("/api/v1/customers", json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_an_analyst_reads_no_customer_and_leaves_no_trace_of_one(client, shop, key_for, db):
    from omnicanal.audit.models import AuditEntry

    customer = await _customer(client, "Anne", PARIS)
    order = await place(client, sale(PARIS, customer=customer))
    analyst = await key_for(Role.ANALYST)
    async with db.reader() as session:
        audited = await session.scalar(select(func.count()).select_from(AuditEntry))
    for path in ("/api/v1/customers", f"/api/v1/customers/{customer}", f"/api/v1/customers/{customer}/360",
                 f"/api/v1/customers/{customer}/export", f"/api/v1/orders/{order}", "/api/v1/orders",
                 "/api/v1/events"):
        response = await client.get(path, headers=analyst)
        assert is_problem(response, 403) and "analyst" in response.json()["detail"], path
        assert "Anne" not in response.text
    async with db.reader() as session:
        assert await session.scalar(select(func.count()).select_from(AuditEntry)) == audited
    assert (await client.get(f"/api/v1/locations/{PARIS}/stock", headers=analyst)).status_code == 200
