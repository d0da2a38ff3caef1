"""The right to erasure, checked the hard way: after it, a search of the whole database — its raw bytes (the
SQLite file, or a pg_dump) and every value as the hub reads it, events and stored answers included — finds
nothing of the person; their sales remain in the figures under an anonymous token."""

from sqlalchemy import func, select

from omnicanal.access.rules import Role
from omnicanal.audit.models import AuditEntry
from omnicanal.customers.models import Customer, CustomerActivity
from omnicanal.events.models import OutboxEvent
from omnicanal.kit.idempotency import IdempotencyRecord
from omnicanal.orders.models import Order
from omnicanal.privacy.models import Consent, PrivacyRequest
from tests.customers.support import create, events_of, is_problem, make_shop, sell, ship, table_rows
from tests.privacy.scan import found_in, found_in_raw, logical_text, raw_bytes

PERSONAL = ["gwen.kerbrat@example.fr", "gwen.k@free.fr", "+33698765432", "Gwenaëlle",
            "Kerbrat-Zylberstein", "1986-02-17", "12 quai Saint-Vincent", "ios-77", "suspension laiton"]


async def test_after_erasure_nothing_of_the_person_is_left_anywhere(client, db, settings, everywhere):
    gwen, older, older_order, order, returned, bob, bob_order = everywhere
    ids = [gwen["id"], older["id"]]
    before = await logical_text(db)
    assert found_in(before, PERSONAL + ids) == PERSONAL + ids  # the search does find them while they are held
    raw = await raw_bytes(db, settings.database_url)
    assert found_in_raw(raw, ids) == ids  # ids are stored in clear…
    assert found_in_raw(raw, PERSONAL) == []  # …personal data never is: it is sealed at rest

    erased = await client.post(f"/api/v1/customers/{gwen['id']}/erase")
    assert erased.status_code == 200, erased.text
    body = erased.json()
    token = body["anonymous_token"]
    assert token.startswith("anon_") and body["erased"] is True
    assert body["rows"]["customer"] == 1 and body["rows"]["order"] == 2 and body["rows"]["outbox_event"] > 5

    after = await logical_text(db)
    assert found_in(after, PERSONAL + ids) == []
    audited = {(a.subject_id, a.action) for a in await table_rows(db, AuditEntry) if a.subject_type == "customer"}
    assert (token, "erase") in audited and not {s for s, _ in audited} & set(ids)
    assert found_in_raw(await raw_bytes(db, settings.database_url), PERSONAL + ids) == []
    assert found_in(after, ["bob@example.fr", bob["id"], bob_order["id"]]) == [  # others keep theirs
        "bob@example.fr", bob["id"], bob_order["id"]]

    for sale, total in ((order, order["total"]), (older_order, older_order["total"])):  # the figures stay
        kept = (await client.get(f"/api/v1/orders/{sale['id']}")).json()
        assert (kept["customer"], kept["total"], kept["lines"]) == (token, total, sale["lines"])
    assert (await client.get(f"/api/v1/returns/{returned['id']}")).json()["customer"] == token
    assert is_problem(await client.get(f"/api/v1/customers/{gwen['id']}"), 404)
    assert is_problem(await client.get("/api/v1/customers/lookup",
                                       params={"kind": "email", "value": "gwen.kerbrat@example.fr"}), 404)
    [activity] = await table_rows(db, CustomerActivity)
    assert (activity.customer_id, activity.device_digest, activity.search) == (None, token, None)
    assert await table_rows(db, Consent) == []
    assert await table_rows(db, IdempotencyRecord) == []  # the creation's stored answer named her

    [(_, subject, data)] = await events_of(db, "customer.erased")
    assert subject == token and data["customer"] == token and data["kind"] == "erasure"
    created = [(s, d) for _, s, d in await events_of(db, "customer.created")]
    assert (token, {"customer_id": token, "home_location": "LYO-PDI",
                    "identifier_kinds": ["app_id", "email", "phone"]}) in created
    requests = [(r.kind, r.customer_id) for r in await table_rows(db, PrivacyRequest)]
    assert sorted(requests) == [("erasure", token), ("rectification", token)]


async def test_erasure_waits_for_orders_still_being_fulfilled_and_changes_nothing_meanwhile(client, db):
    await make_shop(db)
    gwen = await create(client)
    await sell(client, gwen["id"])
    parcel = await ship(client, gwen["id"])
    before = await logical_text(db, skip=("audit_entry",))  # the refused attempt is audited, nothing else
    refused = await client.post(f"/api/v1/customers/{gwen['id']}/erase")
    assert is_problem(refused, 409) and refused.json()["order"] == parcel["id"]
    assert await logical_text(db, skip=("audit_entry",)) == before
    assert (await client.post(f"/api/v1/orders/{parcel['id']}/cancel")).status_code == 200
    assert (await client.post(f"/api/v1/customers/{gwen['id']}/erase")).status_code == 200
    assert found_in(await logical_text(db), ["gwen.kerbrat@example.fr", gwen["id"]]) == []


async def test_only_the_privacy_officer_erases_and_an_unknown_customer_is_404(client, db, key_for):
    await make_shop(db)
    gwen = await create(client)
    url = f"/api/v1/customers/{gwen['id']}/erase"
    for role in (Role.STORE_MANAGER, Role.STORE_ASSOCIATE, Role.ANALYST, Role.HEAD_OFFICE, Role.INTEGRATION):
        assert is_problem(await client.post(url, headers=await key_for(role)), 403)
    assert is_problem(await client.post("/api/v1/customers/cus_nobody/erase"), 404)
    async with db.reader() as session:
        assert await session.scalar(select(func.count()).select_from(Customer)) == 1
        assert await session.scalar(select(func.count()).select_from(PrivacyRequest)) == 0
        assert not await session.scalar(select(func.count()).select_from(OutboxEvent)
                                        .where(OutboxEvent.type == "customer.erased"))


async def test_a_replayed_erasure_answers_the_same_and_erases_once(client, db):
    await make_shop(db)
    gwen = await create(client)
    await sell(client, gwen["id"])
    headers = {"Idempotency-Key": "erase-gwen"}
    first = await client.post(f"/api/v1/customers/{gwen['id']}/erase", headers=headers)
    replay = await client.post(f"/api/v1/customers/{gwen['id']}/erase", headers=headers)
    assert first.status_code == replay.status_code == 200 and replay.json() == first.json()
    assert [r.kind for r in await table_rows(db, PrivacyRequest)] == ["erasure"]
    [order] = await table_rows(db, Order)
    assert order.customer_id == first.json()["anonymous_token"]
    assert found_in(await logical_text(db), [gwen["id"]]) == []
