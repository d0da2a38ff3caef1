from sqlalchemy import update

from omnicanal.events.models import OutboxEvent
from omnicanal.events.service import record_event
from tests.factories import make_network, make_product


async def test_events_are_read_in_order_and_resumed_from_the_last_sequence(client, db):
    await make_network(db)
    await make_product(db, "LAMP-1")
    for n in range(3):
        await client.put("/api/v1/locations/WH-ORL/stock/LAMP-1", json={"on_hand": n + 1})
    first = (await client.get("/api/v1/events", params={"limit": 2})).json()
    assert [e["sequence"] for e in first["items"]] == [1, 2]
    rest = (await client.get("/api/v1/events", params={"after": first["next"]})).json()
    assert [e["data"]["on_hand"] for e in first["items"] + rest["items"]] == [1, 2, 3]
    assert rest["next"] == 3
    empty = (await client.get("/api/v1/events", params={"after": 3})).json()
    assert empty == {"items": [], "next": 3}
    assert all(e["type"] == "stock.changed" and e["source"] == "/omnicanal" for e in rest["items"])


async def test_an_event_committed_late_is_not_skipped(client, db):
    """Event 1 got the lower id but its transaction committed after event 2 had been numbered and read."""
    async with db.writer() as session:
        await record_event(session, "test.slow-transaction", "a", {})
        await record_event(session, "test.fast-transaction", "b", {})
        await session.commit()
    async with db.writer() as session:
        await session.execute(update(OutboxEvent).where(OutboxEvent.type == "test.fast-transaction")
                              .values(sequence=1))
        await session.commit()
    seen = (await client.get("/api/v1/events", params={"after": 1})).json()
    assert [(e["type"], e["sequence"]) for e in seen["items"]] == [("test.slow-transaction", 2)]


async def test_events_filter_by_type_and_subject(client, db):
    async with db.writer() as session:
        await record_event(session, "order.created", "ord_1", {"n": 1})
        await record_event(session, "order.cancelled", "ord_1", {"n": 2})
        await record_event(session, "order.created", "ord_2", {"n": 3})
        await session.commit()
    by_type = (await client.get("/api/v1/events", params={"type": "order.created"})).json()["items"]
    assert [e["data"]["n"] for e in by_type] == [1, 3]
    by_subject = (await client.get("/api/v1/events", params={"subject": "ord_1"})).json()["items"]
    assert [e["type"] for e in by_subject] == ["order.created", "order.cancelled"]
    assert (await client.get("/api/v1/events", params={"after": -1})).status_code == 422


async def test_a_channel_key_reads_its_own_orders_and_the_shared_facts_only(client, db, key_for):
    from omnicanal.access.rules import Role
    from tests.factories import put_stock

    await make_network(db)
    await make_product(db, "LAMP-1")
    await put_stock(db, "LAMP-1", "WH-ORL", 10)
    placed = {}
    for channel in ("web", "app"):
        response = await client.post("/api/v1/orders", json={
            "channel": channel, "fulfillment": "ship", "lines": [{"sku": "LAMP-1", "quantity": 1}]})
        assert response.status_code == 201, response.text
        placed[channel] = response.json()["id"]
    shipped = await client.post(f"/api/v1/orders/{placed['web']}/shipments",
                                json={"carrier": "colissimo", "tracking_number": "6A1"})
    assert shipped.status_code == 201, shipped.text
    customer = await client.post("/api/v1/customers", json={"first_name": "Anne", "last_name": "Test"})
    assert customer.status_code == 201, customer.text

    web = await key_for(Role.INTEGRATION, channel="web")
    seen = (await client.get("/api/v1/events", params={"limit": 500}, headers=web)).json()["items"]
    subjects = {e["subject"] for e in seen}
    assert placed["web"] in subjects and placed["app"] not in subjects
    assert shipped.json()["id"] in subjects  # its parcel's story too
    assert {"stock.changed", "order.created", "shipment.created"} <= {e["type"] for e in seen}
    assert not any(e["type"].startswith("customer.") for e in seen)  # a customer no web order names
    assert all(e["data"].get("channel") in (None, "web") for e in seen)
    everything = (await client.get("/api/v1/events", params={"limit": 500})).json()["items"]
    assert placed["app"] in {e["subject"] for e in everything}  # the admin reads the whole feed
    assert len(everything) > len(seen)
