"""Probable duplicates proposed for a person to confirm, and merging two records of one person."""

import pytest
from sqlalchemy import func, select

from omnicanal.access.rules import Role
from omnicanal.customers.models import Customer, CustomerActivity, CustomerIdentifier, CustomerMerge
from omnicanal.events.models import OutboxEvent
from omnicanal.orders.models import Order
from omnicanal.privacy.models import Consent
from tests.customers.support import LYON, consent, create, events_of, is_problem, make_shop, report, sell, view


@pytest.fixture
async def shop(db):
    await make_shop(db)


@pytest.fixture
async def records(client, shop):
    """Gwenaëlle registered twice (at the till, then on the web with a typo), and two other people."""
    till = await create(client, phone=None, identifiers=[{"kind": "loyalty_card", "value": "ML-1"}])
    web = await create(client, last_name="Kerbrat-Zilberstein", email="gwen.kerbrat@gmail.com", birth_date=None,
                       home_location=None, identifiers=[{"kind": "app_id", "value": "ios-42"}])
    namesake = await create(client, first_name="Gwenaëlle", last_name="Kerbrat-Zylberstein", email="g.k@other.fr",
                            phone=None, birth_date="1990-01-01",
                            address={"line1": "1 rue X", "postal_code": "13001", "city": "Marseille",
                                     "country": "FR"}, identifiers=[])
    neighbour = await create(client, first_name="Bernard", last_name="Martin", email="bernard@example.fr",
                             phone=None, identifiers=[])
    return till, web, namesake, neighbour


async def test_the_duplicates_of_a_customer_are_proposed_with_their_reasons(client, records):
    till, web, namesake, neighbour = records
    found = await client.get(f"/api/v1/customers/{till['id']}/duplicates")
    assert found.status_code == 200, found.text
    [proposal] = found.json()
    assert proposal["customer"] == till["id"] and proposal["duplicate"] == web["id"]
    assert proposal["reasons"][0].startswith("similar names")
    assert set(proposal["reasons"][1:]) == {"same postal code", "same street address", "same e-mail before the @"}
    assert proposal["score"] >= 90 and proposal["duplicate_email"] == "gwen.kerbrat@gmail.com"
    assert (await client.get(f"/api/v1/customers/{neighbour['id']}/duplicates")).json() == []
    assert (await client.get(f"/api/v1/customers/{namesake['id']}/duplicates")).json() == []  # same name only


async def test_all_probable_duplicates_of_the_hub_are_listed_once_page_by_page(client, records):
    till, web, _, _ = records
    third = await create(client, email="gwen.k@free.fr", phone=None, identifiers=[], last_name="Kerbrat Zylberstein")
    seen, cursor = [], None
    while True:
        page = (await client.get("/api/v1/customers/duplicates",
                                 params={"limit": 1, **({"cursor": cursor} if cursor else {})})).json()
        seen += page["items"]
        cursor = page["next"]
        if cursor is None:
            break
    pairs = [tuple(sorted((p["customer"], p["duplicate"]))) for p in seen]
    assert len(pairs) == len(set(pairs)) == 3
    assert set(pairs) == {tuple(sorted(p)) for p in [(till["id"], web["id"]), (till["id"], third["id"]),
                                                     (web["id"], third["id"])]}
    assert [p["score"] for p in seen] == sorted((p["score"] for p in seen), reverse=True)
    assert is_problem(await client.get("/api/v1/customers/duplicates", params={"cursor": "WzFd"}), 422)


async def test_merging_moves_everything_to_the_survivor_and_explains_itself(client, db, records):
    till, web, _, _ = records
    web_order = await sell(client, web["id"])
    await report(client, view("ios-42"), view("ios-42", "VASE-2", hours=1))
    await consent(client, web["id"], "marketing_email")
    merged = await client.post(f"/api/v1/customers/{till['id']}/merge",
                               json={"duplicate": web["id"], "reason": "same person, checked at the till"})
    assert merged.status_code == 201, merged.text
    body = merged.json()
    assert (body["survivor"], body["merged"], body["reason"]) == (till["id"], web["id"],
                                                                   "same person, checked at the till")
    assert body["merged_by"].startswith("OMNICANAL_ADMIN_TOKEN")
    assert body["moved"]["order"] == 1 and body["moved"]["customer_identifier"] == 3  # e-mail, phone, app id
    assert body["moved"]["customer_activity"] == 2 and body["moved"]["consent"] == 1
    assert body["moved"]["filled"] == ["phone"]  # the till record had no phone

    gone = await client.get(f"/api/v1/customers/{web['id']}")
    assert is_problem(gone, 404) and gone.json()["merged_into"] == till["id"]
    order = (await client.get(f"/api/v1/orders/{web_order['id']}")).json()
    assert order["customer"] == till["id"] and order["total"] == web_order["total"]
    for kind, value in [("email", "gwen.kerbrat@gmail.com"), ("app_id", "ios-42"), ("loyalty_card", "ML-1")]:
        found = await client.get("/api/v1/customers/lookup", params={"kind": kind, "value": value})
        assert found.json()["id"] == till["id"]
    view360 = (await client.get(f"/api/v1/customers/{till['id']}/360")).json()
    assert [o["id"] for o in view360["orders"]["items"]] == [web_order["id"]]
    assert len(view360["browsing"]) == 2 and view360["merged_records"] == [web["id"]]
    assert {c["purpose"]: c["granted"] for c in view360["consents"]}["marketing_email"] is True
    history = (await client.get(f"/api/v1/customers/{till['id']}/merges")).json()
    assert [(m["id"], m["merged"]) for m in history] == [(body["id"], web["id"])]
    [(_, subject, data)] = await events_of(db, "customer.merged")
    assert subject == till["id"] and data["merged"] == web["id"] and data["moved"]["order"] == 1
    assert (await client.get(f"/api/v1/customers/{till['id']}/duplicates")).json() == []


async def test_the_survivor_takes_over_the_details_it_lacked(client, db, shop):
    first = await create(client, phone=None, birth_date=None, identifiers=[])
    second = await create(client, email="gwen.kerbrat@gmail.com", identifiers=[], home_location=None)
    merged = await client.post(f"/api/v1/customers/{first['id']}/merge", json={"duplicate": second["id"]})
    assert merged.json()["moved"]["filled"] == ["phone", "birth_date"]
    survivor = (await client.get(f"/api/v1/customers/{first['id']}")).json()
    assert (survivor["phone"], survivor["birth_date"], survivor["email"]) == ("+33698765432", "1986-02-17",
                                                                             "gwen.kerbrat@example.fr")
    assert sorted(i["value"] for i in survivor["identifiers"] if i["kind"] == "email") == [
        "gwen.kerbrat@example.fr", "gwen.kerbrat@gmail.com"]


async def merge_state(db):
    async with db.reader() as session:
        return [await session.scalar(select(func.count()).select_from(m)) for m in (
            Customer, CustomerIdentifier, CustomerActivity, CustomerMerge, Consent, OutboxEvent)] + [
            sorted((o.id, o.customer_id) for o in await session.scalars(select(Order)))]


async def test_a_merge_that_cannot_be_is_refused_and_changes_nothing(client, db, records, key_for):
    till, web, _, _ = records
    await sell(client, web["id"])
    before = await merge_state(db)
    url = f"/api/v1/customers/{till['id']}/merge"
    assert is_problem(await client.post(url, json={"duplicate": till["id"]}), 422)
    assert is_problem(await client.post(url, json={"duplicate": "cus_nobody"}), 404)
    assert is_problem(await client.post("/api/v1/customers/cus_nobody/merge", json={"duplicate": web["id"]}), 404)
    assert is_problem(await client.post(url, json={"duplicate": web["id"], "why": "typo"}), 422)
    assert is_problem(await client.post(url, json={}), 422)
    analyst = await key_for(Role.ANALYST)
    assert is_problem(await client.post(url, json={"duplicate": web["id"]}, headers=analyst), 403)
    paris = await key_for(Role.STORE_MANAGER, locations=["PAR-RIV"])
    assert is_problem(await client.post(url, json={"duplicate": web["id"]}, headers=paris), 403)
    assert await merge_state(db) == before
    lyon = await key_for(Role.STORE_MANAGER, locations=[LYON])
    assert (await client.post(url, json={"duplicate": web["id"]}, headers=lyon)).status_code == 201
