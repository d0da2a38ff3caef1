"""The customer 360 view: everything an associate needs at the till, in one fast read."""

import pytest
from sqlalchemy import event

from omnicanal.access.rules import Role
from tests.customers.support import LYON, PARIS, consent, create, is_problem, make_shop, report, sell, ship, view, visit


@pytest.fixture
async def shop(db):
    await make_shop(db)


@pytest.fixture
async def regular(client, shop):
    """A customer who shops on every channel."""
    customer = await create(client, identifiers=[{"kind": "app_id", "value": "ios-1"}])
    till = await sell(client, customer["id"], quantity=2)
    web = await ship(client, customer["id"])
    elsewhere = await sell(client, customer["id"], location=PARIS, sku="VASE-2")
    returned = await client.post("/api/v1/returns", json={"order_id": till["id"], "method": "in_store",
                                                         "location": LYON, "lines": [{"sku": "LAMP-1", "quantity": 1}]})
    assert returned.status_code == 201, returned.text
    await consent(client, customer["id"], "in_store_tracking", at="2026-01-01T00:00:00Z")
    await consent(client, customer["id"], "marketing_sms", granted=False)
    await report(client, view("ios-1", "VASE-2"), visit("ios-1", hours=1))
    return customer, [till, web, elsewhere], returned.json()


async def test_the_360_view_shows_profile_orders_returns_visits_browsing_and_consents(client, regular):
    customer, orders, returned = regular
    answer = await client.get(f"/api/v1/customers/{customer['id']}/360")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["profile"] == customer
    assert [o["id"] for o in body["orders"]["items"]] == [o["id"] for o in reversed(orders)]  # newest first
    assert body["orders"]["count"] == 3 and body["orders"]["more"] is None
    assert body["orders"]["by_channel"] == {"pos": 2, "web": 1}
    assert {(o["channel"], o["fulfillment"], o["status"], o["location"]) for o in body["orders"]["items"]} == {
        ("pos", "carry_out", "completed", LYON), ("web", "ship", "confirmed", None),
        ("pos", "carry_out", "completed", PARIS)}
    assert [line["sku"] for line in body["orders"]["items"][2]["lines"]] == ["LAMP-1"]
    assert [(r["id"], r["order_id"], [line["sku"] for line in r["lines"]]) for r in body["returns"]] == [
        (returned["id"], orders[0]["id"], ["LAMP-1"])]
    assert [(v["kind"], v["location"]) for v in body["store_visits"]] == [("store_visit", LYON)]
    assert [(b["kind"], b["sku"]) for b in body["browsing"]] == [("product_view", "VASE-2")]
    consents = {c["purpose"]: c["granted"] for c in body["consents"]}
    assert consents == {"marketing_email": False, "marketing_sms": False, "app_push": False,
                        "personalization": False, "in_store_tracking": True, "profiling": False}
    assert body["loyalty"] == {"available": False, "items": []}
    assert body["recommendations"] == {"available": False, "items": []}


async def test_the_360_view_shows_the_latest_orders_and_says_where_the_others_are(client, regular):
    customer, orders, _ = regular
    body = (await client.get(f"/api/v1/customers/{customer['id']}/360", params={"orders": 1})).json()
    assert [o["id"] for o in body["orders"]["items"]] == [orders[-1]["id"]]
    assert body["orders"]["count"] == 3 and body["orders"]["more"] == f"/api/v1/orders?customer={customer['id']}"


async def test_the_360_view_takes_a_handful_of_queries_whatever_the_history(client, db, regular):
    customer, _, _ = regular
    for _ in range(5):
        await sell(client, customer["id"])
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    # SQLite reads through an engine of its own; on PostgreSQL the reader shares the writer's events
    engines = [db.engine.sync_engine] + ([db.read_engine.sync_engine] if db.dialect == "sqlite" else [])
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        assert (await client.get(f"/api/v1/customers/{customer['id']}/360")).status_code == 200
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 12, "\n".join(selects)  # eleven today: one per section, not per order


async def test_the_360_view_is_for_those_who_may_see_the_customer(client, shop, key_for, anonymous):
    customer = await create(client, identifiers=[])
    url = f"/api/v1/customers/{customer['id']}/360"
    paris = await key_for(Role.STORE_ASSOCIATE, locations=[PARIS])
    assert is_problem(await client.get(url, headers=await key_for(Role.ANALYST)), 403)
    assert is_problem(await client.get(url, headers=paris), 403)
    assert (await client.get(url, headers=await key_for(Role.STORE_ASSOCIATE, locations=[LYON]))).status_code == 200
    await sell(client, customer["id"], location=PARIS)
    assert (await client.get(url, headers=paris)).status_code == 200  # Paris sold to them: its staff now may
    assert is_problem(await anonymous.get(url), 401)
    assert is_problem(await client.get("/api/v1/customers/cus_nobody/360"), 404)
