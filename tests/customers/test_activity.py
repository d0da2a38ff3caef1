"""Anonymous activity from the channels, its linking to customers, and stitching when a device identifies."""

import pytest
from sqlalchemy import func, select

from omnicanal.access.rules import Role
from omnicanal.customers.crypto import device_digest
from omnicanal.customers.models import CustomerActivity, CustomerIdentifier
from omnicanal.events.models import OutboxEvent
from tests.customers.support import (
    LYON,
    PARIS,
    consent,
    create,
    events_of,
    is_problem,
    make_shop,
    report,
    table_rows,
    view,
    visit,
)


@pytest.fixture
async def shop(db):
    await make_shop(db)


DEVICES = ("web-1", "web-2", "app-9", "web-5", "ios-5", "ios-7", "stranger", "d-1", "d-2")


async def activity(db):
    """The stored activity, with each device's blind index read back as the device's id."""
    names = {device_digest(d): d for d in DEVICES}
    rows = await table_rows(db, CustomerActivity)
    assert not {a.device_digest for a in rows} & set(DEVICES)  # never stored in clear
    return sorted(((a.kind, names.get(a.device_digest, a.device_digest), a.customer_id, a.sku, a.location_code,
                    a.search) for a in rows), key=str)


async def state(db):
    async with db.reader() as session:
        counts = [await session.scalar(select(func.count()).select_from(m))
                  for m in (CustomerActivity, CustomerIdentifier, OutboxEvent)]
    return await activity(db), counts


async def test_anonymous_browsing_is_stitched_to_the_customer_when_the_device_identifies(client, db, shop):
    customer = await create(client)
    answer = await report(client, view("web-1", "LAMP-1"), view("web-1", "VASE-2", kind="cart_add", hours=1),
                          view("web-1", kind="search", search="lampe laiton", hours=2), view("web-2", "VASE-2"))
    assert answer.json() == {"recorded": 4, "linked": 0, "anonymous_visits": 0, "stitched": 0}
    assert {row[2] for row in await activity(db)} == {None}

    identified = await client.post("/api/v1/activity/identify",
                                   json={"device_id": " web-1 ", "customer": customer["id"]})
    assert identified.status_code == 200, identified.text
    assert identified.json() == {"customer": customer["id"], "device_id": "web-1", "stitched": 3}
    rows = await activity(db)
    assert [r[2] for r in rows if r[1] == "web-1"] == [customer["id"]] * 3
    assert [r[2] for r in rows if r[1] == "web-2"] == [None]  # another device stays anonymous
    assert ("device", "web-1") in [(i["kind"], i["value"]) for i in
                                   (await client.get(f"/api/v1/customers/{customer['id']}")).json()["identifiers"]]
    assert await events_of(db, "customer.activity_stitched") == [
        ("customer.activity_stitched", customer["id"], {"customer_id": customer["id"], "activities": 3})]

    later = await report(client, view("web-1", "VASE-2", hours=3))  # a known device: linked at once
    assert later.json()["linked"] == 1
    browsing = (await client.get(f"/api/v1/customers/{customer['id']}/360")).json()["browsing"]
    assert [(b["kind"], b["sku"], b["search"]) for b in browsing] == [
        ("product_view", "VASE-2", None), ("search", None, "lampe laiton"), ("cart_add", "VASE-2", None),
        ("product_view", "LAMP-1", None)]


async def test_activity_naming_its_customer_links_the_device_and_stitches_its_past(client, db, shop):
    customer = await create(client)
    await report(client, view("app-9", "LAMP-1"), view("app-9", "VASE-2", hours=1))
    answer = await report(client, view("app-9", "VASE-2", kind="cart_add", hours=2, customer=customer["id"]))
    assert answer.json() == {"recorded": 1, "linked": 1, "anonymous_visits": 0, "stitched": 2}
    assert {r[2] for r in await activity(db)} == {customer["id"]}
    again = await report(client, view("app-9", hours=3, customer=customer["id"]))
    assert again.json()["stitched"] == 0


async def test_a_new_customer_or_identifier_naming_a_device_stitches_its_activity(client, db, shop):
    await report(client, view("web-5"), view("ios-5", hours=1), view("ios-5", hours=2))
    created = await create(client, identifiers=[{"kind": "device", "value": "web-5"}])
    added = await client.post(f"/api/v1/customers/{created['id']}/identifiers",
                              json={"kind": "app_id", "value": "ios-5"})
    assert added.status_code == 201, added.text
    assert {r[2] for r in await activity(db)} == {created["id"]}
    assert [d["activities"] for _, _, d in await events_of(db, "customer.activity_stitched")] == [1, 2]


async def test_a_store_visit_is_linked_only_with_consent_to_in_store_tracking_at_the_time(client, db, shop):
    customer = await create(client, identifiers=[{"kind": "app_id", "value": "ios-7"}])
    before = await report(client, visit("ios-7", hours=0))
    assert before.json() == {"recorded": 1, "linked": 0, "anonymous_visits": 1, "stitched": 0}
    await consent(client, customer["id"], "in_store_tracking", at="2026-01-05T12:00:00+00:00")
    await consent(client, customer["id"], "in_store_tracking", granted=False, at="2026-01-05T20:00:00+00:00")
    answer = await report(client, visit("ios-7", hours=1), visit("ios-7", hours=3, location=PARIS),
                          visit("ios-7", hours=11), visit("stranger", hours=3))
    assert answer.json() == {"recorded": 4, "linked": 1, "anonymous_visits": 3, "stitched": 0}
    visits = [r for r in await activity(db) if r[0] == "store_visit"]
    # only the visit at 13:00, between the grant and the withdrawal, is theirs; the others keep no device at all
    assert sorted(visits, key=str) == sorted([("store_visit", "ios-7", customer["id"], None, PARIS, None)]
                                             + [("store_visit", None, None, None, LYON, None)] * 4, key=str)
    assert [(d["customer_id"], d["location"]) for _, _, d in await events_of(db, "customer.store_visited")] == [
        (customer["id"], PARIS)]
    shown = (await client.get(f"/api/v1/customers/{customer['id']}/360")).json()["store_visits"]
    assert [(v["location"], v["at"]) for v in shown] == [(PARIS, "2026-01-05T13:00:00Z")]


async def test_identifying_a_device_of_another_customer_is_409_and_changes_nothing(client, db, shop):
    anne = await create(client, identifiers=[{"kind": "device", "value": "web-1"}])
    bob = await create(client, first_name="Bob", email="bob@example.fr", phone=None, identifiers=[])
    await report(client, view("web-1"))
    before = await state(db)
    refused = await client.post("/api/v1/activity/identify", json={"device_id": "web-1", "customer": bob["id"]})
    assert is_problem(refused, 409) and refused.json()["identifier"]["kind"] == "device"
    assert is_problem(await report(client, view("web-1", customer=bob["id"]), status=409), 409)
    assert await state(db) == before
    assert is_problem(await client.post("/api/v1/activity/identify", json={"device_id": "web-1",
                                                                           "customer": "cus_nobody"}), 404)
    assert anne["id"] in {r[2] for r in await activity(db)}


@pytest.mark.parametrize("item", [
    pytest.param(view("web-1", kind="teleport"), id="unknown kind"),
    pytest.param({**view("web-1"), "sku": None}, id="product view without sku"),
    pytest.param(view("web-1", kind="search"), id="search without text"),
    pytest.param({**visit("web-1"), "location": None}, id="visit without store"),
    pytest.param({**view("web-1"), "at": "2026-01-05T10:00:00"}, id="time without timezone"),
    pytest.param({**view("web-1"), "device_id": "   "}, id="blank device"),
    pytest.param({**view("web-1"), "device_id": "x" * 201}, id="device too long"),
    pytest.param({**view("web-1"), "colour": "red"}, id="unknown field"),
    pytest.param(view("web-1", channel="fax"), id="unknown channel"),
    pytest.param(visit("web-1", location="NOWHERE"), id="unknown store"),
    pytest.param(view("web-1", customer="cus_nobody"), id="unknown customer"),
])
async def test_a_bad_activity_refuses_the_whole_batch_and_writes_nothing(client, db, shop, item):
    before = await state(db)
    assert is_problem(await report(client, view("web-1"), item, status=422), 422)
    assert await state(db) == before


async def test_an_empty_or_oversized_batch_is_refused(client, db, shop):
    assert is_problem(await client.post("/api/v1/activity", json={"items": []}), 422)
    assert is_problem(await client.post("/api/v1/activity", json={"items": [view("d")] * 501}), 422)
    assert await activity(db) == []


async def test_a_channel_key_reports_for_its_own_channel_only_and_store_staff_for_their_store(client, db, key_for,
                                                                                              shop):
    web = await key_for(Role.INTEGRATION, channel="web")
    app_item = {**view("d-1"), "channel": "app"}
    assert is_problem(await report(client, app_item, status=403, **web), 403)
    no_channel = {k: v for k, v in view("d-1").items() if k != "channel"}
    await report(client, no_channel, **web)
    assert [(a[3], a[1]) for a in await activity(db)] == [("LAMP-1", "d-1")]
    assert [a.channel_code for a in await table_rows(db, CustomerActivity)] == ["web"]
    lyon = await key_for(Role.STORE_ASSOCIATE, locations=[LYON])
    assert is_problem(await report(client, visit("d-2", location=PARIS), status=403, **lyon), 403)
    await report(client, visit("d-2", location=LYON), **lyon)
    analyst = await key_for(Role.ANALYST)
    assert is_problem(await report(client, view("d-3"), status=403, **analyst), 403)
