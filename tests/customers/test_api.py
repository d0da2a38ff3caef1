import json

import pytest
from sqlalchemy import select

from omnicanal.access.rules import Role
from omnicanal.customers.models import Customer, CustomerIdentifier
from omnicanal.events.models import OutboxEvent
from tests.factories import make_network

PROBLEM = "application/problem+json"


@pytest.fixture
async def network(db):
    await make_network(db)


def anne(**changes):
    body = {
        "first_name": "Anne", "last_name": "Dupont", "email": "  Anne.Dupont@Example.FR ",
        "phone": "06 12 34 56 78", "birth_date": "1988-04-12",
        "address": {"line1": "3 place Bellecour", "postal_code": "69002", "city": "Lyon", "country": "fr"},
        "home_location": "LYO-PDI", "identifiers": [{"kind": "loyalty_card", "value": "2900 0000 0001"}],
    }
    return {**body, **changes}


async def snapshot(db):
    """Customers, identifiers and events as stored: what a refused request must leave as it was."""
    async with db.reader() as session:
        customers = [(c.id, c.first_name, c.last_name, c.email, c.phone, c.birth_date, c.address,
                      c.home_location_code, c.updated_at)
                     for c in await session.scalars(select(Customer).order_by(Customer.id))]
        identifiers = [(i.kind, i.value, i.customer_id) for i in await session.scalars(
            select(CustomerIdentifier).order_by(CustomerIdentifier.kind, CustomerIdentifier.value))]
        events = [(e.type, e.subject, e.data)
                  for e in await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))]
    return customers, identifiers, events


async def events_of(db, *types):
    async with db.reader() as session:
        return [(e.type, e.data) for e in await session.scalars(
            select(OutboxEvent).where(OutboxEvent.type.in_(types)).order_by(OutboxEvent.id))]


def is_problem(response, status: int) -> bool:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == status and response.json()["detail"]
    return True


def pairs(customer) -> list[tuple[str, str]]:
    return [(i["kind"], i["value"]) for i in customer["identifiers"]]


async def create(client, **changes):
    response = await client.post("/api/v1/customers", json=anne(**changes))
    assert response.status_code == 201, response.text
    return response.json()


async def lookup(client, kind, value):
    return await client.get("/api/v1/customers/lookup", params={"kind": kind, "value": value})


# --- creating and reading -----------------------------------------------------------------------------------

async def test_a_customer_is_created_with_normalised_contacts_that_are_also_identifiers(client, network):
    created = await client.post("/api/v1/customers", json=anne())
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"] == f"/api/v1/customers/{body['id']}" and body["id"].startswith("cus_")
    assert (body["email"], body["phone"], body["birth_date"]) == ("anne.dupont@example.fr", "+33612345678",
                                                                    "1988-04-12")
    assert body["address"]["country"] == "FR" and body["home_location"] == "LYO-PDI"
    assert pairs(body) == [("email", "anne.dupont@example.fr"), ("loyalty_card", "290000000001"),
                           ("phone", "+33612345678")]
    assert (await client.get(f"/api/v1/customers/{body['id']}")).json() == body


async def test_events_name_the_customer_and_identifier_kinds_but_no_personal_data(client, db, network):
    customer = await create(client)
    await client.patch(f"/api/v1/customers/{customer['id']}", json={"email": "anne@new.fr", "last_name": "Martin"})
    await client.post(f"/api/v1/customers/{customer['id']}/identifiers", json={"kind": "app_id", "value": "ios-77"})
    await client.delete(f"/api/v1/customers/{customer['id']}/identifiers/app_id/ios-77")
    events = await events_of(db, "customer.created", "customer.updated", "customer.identifier_added",
                             "customer.identifier_removed")
    assert [t for t, _ in events] == ["customer.created", "customer.updated", "customer.identifier_removed",
                                      "customer.identifier_added", "customer.identifier_added",
                                      "customer.identifier_removed"]
    assert events[0][1] == {"customer_id": customer["id"], "home_location": "LYO-PDI",
                            "identifier_kinds": ["email", "loyalty_card", "phone"]}
    assert events[1][1]["changed"] == ["email", "last_name"]
    assert events[2][1] == {"customer_id": customer["id"], "kind": "email"}
    text = json.dumps([data for _, data in events])
    for personal in ("anne", "Anne", "Dupont", "Martin", "612345678", "2900", "ios-77", "1988"):
        assert personal not in text


async def test_only_names_are_needed(client):
    created = await client.post("/api/v1/customers", json={"first_name": "Léa", "last_name": "Roux"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["identifiers"] == [] and body["email"] is None and body["address"] is None


async def test_an_identifier_repeated_in_one_request_is_kept_once(client, network):
    customer = await create(client, identifiers=[{"kind": "email", "value": "ANNE.DUPONT@example.fr"},
                                                 {"kind": "loyalty_card", "value": "1"},
                                                 {"kind": "loyalty_card", "value": " 1 "}])
    assert pairs(customer) == [("email", "anne.dupont@example.fr"), ("loyalty_card", "1"), ("phone", "+33612345678")]


@pytest.mark.parametrize(("second", "identifier"), [
    pytest.param({"email": "ANNE.dupont@example.fr", "phone": None, "identifiers": []},
                 {"kind": "email", "value": "anne.dupont@example.fr"}, id="same email, other case"),
    pytest.param({"email": None, "phone": "+33 6 12 34 56 78", "identifiers": []},
                 {"kind": "phone", "value": "+33612345678"}, id="same phone, other format"),
    pytest.param({"email": None, "phone": None, "identifiers": [{"kind": "loyalty_card", "value": "290000000001"}]},
                 {"kind": "loyalty_card", "value": "290000000001"}, id="same loyalty card"),
    pytest.param({"email": "other@example.fr", "phone": None,
                  "identifiers": [{"kind": "email", "value": "anne.dupont@example.fr"}]},
                 {"kind": "email", "value": "anne.dupont@example.fr"}, id="email given as an identifier"),
])
async def test_an_identifier_of_another_customer_is_409_naming_it_and_nothing_is_written(
        client, db, network, second, identifier):
    await create(client)
    before = await snapshot(db)
    refused = await client.post("/api/v1/customers", json={k: v for k, v in anne(first_name="Bob", **second).items()
                                                           if v is not None})
    assert is_problem(refused, 409)
    assert refused.json()["identifier"] == identifier and identifier["kind"] in refused.json()["detail"]
    assert await snapshot(db) == before


BAD_CUSTOMERS = [
    pytest.param({"first_name": None}, id="no first name"),
    pytest.param({"last_name": "  "}, id="blank last name"),
    pytest.param({"email": "anne-at-example.fr"}, id="not an email"),
    pytest.param({"email": 42}, id="email not text"),
    pytest.param({"phone": "12"}, id="not a phone"),
    pytest.param({"phone": "call me"}, id="phone in words"),
    pytest.param({"birth_date": "2999-01-01"}, id="born in the future"),
    pytest.param({"birth_date": "12/04/1988"}, id="date not ISO"),
    pytest.param({"birth_date": "1850-01-01"}, id="implausibly old"),
    pytest.param({"address": {"line1": "x", "postal_code": "1", "country": "FR"}}, id="address without city"),
    pytest.param({"home_location": "NOWHERE"}, id="unknown home location"),
    pytest.param({"identifiers": [{"kind": "passport", "value": "X1"}]}, id="unknown identifier kind"),
    pytest.param({"identifiers": [{"kind": "app_id", "value": "   "}]}, id="blank identifier"),
    pytest.param({"identifiers": [{"kind": "email", "value": "nope"}]}, id="bad email identifier"),
    pytest.param({"identifiers": [{"kind": "app_id"}]}, id="identifier without value"),
    pytest.param({"identifiers": "loyalty"}, id="identifiers not a list"),
    pytest.param({"nickname": "Nanou"}, id="unknown field"),
]


@pytest.mark.parametrize("change", BAD_CUSTOMERS)
async def test_a_bad_customer_is_refused_and_nothing_is_written(client, db, network, change):
    before = await snapshot(db)
    body = {k: v for k, v in anne(**change).items() if v is not None}
    assert is_problem(await client.post("/api/v1/customers", json=body), 422)
    assert await snapshot(db) == before


async def test_an_unknown_customer_is_404(client):
    assert is_problem(await client.get("/api/v1/customers/cus_nobody"), 404)
    assert is_problem(await client.patch("/api/v1/customers/cus_nobody", json={"first_name": "X"}), 404)
    assert is_problem(await client.post("/api/v1/customers/cus_nobody/identifiers",
                                        json={"kind": "app_id", "value": "1"}), 404)
    assert is_problem(await client.delete("/api/v1/customers/cus_nobody/identifiers/app_id/1"), 404)


# --- listing ------------------------------------------------------------------------------------------------

async def test_customers_are_listed_in_creation_order_page_after_page_with_their_identifiers(client, network):
    made = [await create(client, email=f"c{n}@example.fr", phone=None, identifiers=[],
                         home_location="PAR-RIV" if n % 2 else "LYO-PDI") for n in range(5)]
    seen, cursor = [], None
    while True:
        page = (await client.get("/api/v1/customers", params={"limit": 2, **({"cursor": cursor} if cursor else {})})
                ).json()
        seen += page["items"]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == made
    paris = (await client.get("/api/v1/customers", params={"home_location": "PAR-RIV"})).json()
    assert [c["id"] for c in paris["items"]] == [made[1]["id"], made[3]["id"]]
    assert pairs(paris["items"][0]) == [("email", "c1@example.fr")]
    assert (await client.get("/api/v1/customers", params={"home_location": "NOWHERE"})).json()["items"] == []


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": "all"}, {"cursor": "%%%"}, {"cursor": "WzFd"}])
async def test_bad_list_parameters_are_422(client, params):
    assert is_problem(await client.get("/api/v1/customers", params=params), 422)


# --- changing -----------------------------------------------------------------------------------------------

async def test_changing_the_email_moves_the_email_identifier(client, db, network):
    customer = await create(client)
    patched = await client.patch(f"/api/v1/customers/{customer['id']}", json={"email": " Anne@NEW.fr"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["email"] == "anne@new.fr"
    assert ("email", "anne@new.fr") in pairs(patched.json())
    assert ("email", "anne.dupont@example.fr") not in pairs(patched.json())
    assert is_problem(await lookup(client, "email", "anne.dupont@example.fr"), 404)
    assert (await lookup(client, "email", "ANNE@new.fr")).json()["id"] == customer["id"]
    assert (await client.get(f"/api/v1/customers/{customer['id']}")).json() == patched.json()


async def test_clearing_the_phone_removes_its_identifier_and_the_old_number_is_free_again(client, network):
    customer = await create(client)
    patched = await client.patch(f"/api/v1/customers/{customer['id']}", json={"phone": None, "birth_date": None})
    assert patched.json()["phone"] is None and patched.json()["birth_date"] is None
    assert [kind for kind, _ in pairs(patched.json())] == ["email", "loyalty_card"]
    other = await client.post("/api/v1/customers", json={"first_name": "Bob", "last_name": "B", "phone": "0612345678"})
    assert other.status_code == 201


async def test_an_email_already_among_the_customers_identifiers_can_become_the_profile_email(client, network):
    customer = await create(client, identifiers=[{"kind": "email", "value": "anne@work.fr"}])
    patched = await client.patch(f"/api/v1/customers/{customer['id']}", json={"email": "anne@work.fr"})
    assert patched.status_code == 200, patched.text
    assert [v for k, v in pairs(patched.json()) if k == "email"] == ["anne@work.fr"]


async def test_an_email_held_by_someone_else_cannot_be_taken_by_a_patch(client, db, network):
    anne_ = await create(client)
    bob = await create(client, first_name="Bob", email="bob@example.fr", phone=None, identifiers=[])
    before = await snapshot(db)
    refused = await client.patch(f"/api/v1/customers/{bob['id']}",
                                 json={"last_name": "Durand", "email": "ANNE.DUPONT@example.fr"})
    assert is_problem(refused, 409)
    assert refused.json()["identifier"] == {"kind": "email", "value": "anne.dupont@example.fr"}
    assert await snapshot(db) == before
    assert (await lookup(client, "email", "anne.dupont@example.fr")).json()["id"] == anne_["id"]


async def test_a_patch_that_changes_nothing_records_no_event(client, db, network):
    customer = await create(client)
    before = await snapshot(db)
    same = await client.patch(f"/api/v1/customers/{customer['id']}",
                              json={"first_name": "Anne", "email": "anne.dupont@example.fr", "phone": "+33612345678"})
    assert same.status_code == 200 and same.json() == customer
    assert await snapshot(db) == before


async def test_the_home_store_and_address_can_change_or_be_cleared(client, network):
    customer = await create(client)
    moved = await client.patch(f"/api/v1/customers/{customer['id']}", json={"home_location": "PAR-RIV", "address": {
        "line1": "1 rue de Rivoli", "postal_code": "75001", "city": "Paris", "country": "FR"}})
    assert moved.json()["home_location"] == "PAR-RIV" and moved.json()["address"]["city"] == "Paris"
    cleared = await client.patch(f"/api/v1/customers/{customer['id']}", json={"home_location": None, "address": None})
    assert cleared.json()["home_location"] is None and cleared.json()["address"] is None


@pytest.mark.parametrize("patch", [
    {"first_name": None}, {"last_name": ""}, {"email": "no-at-sign"}, {"phone": "1"}, {"home_location": "NOWHERE"},
    {"birth_date": "2999-12-31"}, {"identifiers": []}, {"id": "cus_other"}, {"address": {"city": "Paris"}},
])
async def test_a_bad_patch_is_refused_and_changes_nothing(client, db, network, patch):
    customer = await create(client)
    before = await snapshot(db)
    assert is_problem(await client.patch(f"/api/v1/customers/{customer['id']}", json=patch), 422)
    assert await snapshot(db) == before


# --- identifiers --------------------------------------------------------------------------------------------

async def test_an_identifier_is_added_found_by_and_removed(client, db, network):
    customer = await create(client)
    added = await client.post(f"/api/v1/customers/{customer['id']}/identifiers",
                              json={"kind": "pos_customer", "value": " PAR-RIV/000042 "})
    assert added.status_code == 201, added.text
    assert ("pos_customer", "PAR-RIV/000042") in pairs(added.json())
    assert (await lookup(client, "pos_customer", "PAR-RIV/000042")).json()["id"] == customer["id"]
    removed = await client.delete(f"/api/v1/customers/{customer['id']}/identifiers/pos_customer/PAR-RIV/000042")
    assert removed.status_code == 204, removed.text
    assert is_problem(await lookup(client, "pos_customer", "PAR-RIV/000042"), 404)
    assert ("pos_customer", "PAR-RIV/000042") not in pairs(
        (await client.get(f"/api/v1/customers/{customer['id']}")).json())
    assert [t for t, _ in await events_of(db, "customer.identifier_added", "customer.identifier_removed")] == [
        "customer.identifier_added", "customer.identifier_removed"]


async def test_adding_an_identifier_the_customer_already_has_changes_nothing(client, db, network):
    customer = await create(client)
    before = await snapshot(db)
    again = await client.post(f"/api/v1/customers/{customer['id']}/identifiers",
                              json={"kind": "loyalty_card", "value": "2900 0000 0001"})
    assert again.status_code == 200 and pairs(again.json()) == pairs(customer)
    assert await snapshot(db) == before


async def test_an_identifier_of_someone_else_cannot_be_added(client, db, network):
    await create(client)
    bob = await create(client, first_name="Bob", email=None, phone=None, identifiers=[])
    before = await snapshot(db)
    refused = await client.post(f"/api/v1/customers/{bob['id']}/identifiers",
                                json={"kind": "phone", "value": "0612345678"})
    assert is_problem(refused, 409) and refused.json()["identifier"] == {"kind": "phone", "value": "+33612345678"}
    assert await snapshot(db) == before


@pytest.mark.parametrize("body", [
    {"kind": "passport", "value": "1"}, {"kind": "email", "value": "x"}, {"kind": "phone", "value": "abc"},
    {"kind": "app_id", "value": ""}, {"kind": "app_id"}, {"kind": "app_id", "value": "1", "primary": True},
])
async def test_a_bad_identifier_is_refused(client, db, network, body):
    customer = await create(client)
    before = await snapshot(db)
    assert is_problem(await client.post(f"/api/v1/customers/{customer['id']}/identifiers", json=body), 422)
    assert await snapshot(db) == before


async def test_removing_needs_an_identifier_the_customer_has_and_not_a_profile_contact(client, db, network):
    customer = await create(client)
    bob = await create(client, first_name="Bob", email=None, phone=None,
                       identifiers=[{"kind": "app_id", "value": "bob-app"}])
    before = await snapshot(db)
    base = f"/api/v1/customers/{customer['id']}/identifiers"
    profile_email = await client.delete(f"{base}/email/Anne.Dupont@example.fr")
    assert is_problem(profile_email, 409) and "profile" in profile_email.json()["detail"]
    assert is_problem(await client.delete(f"{base}/phone/06 12 34 56 78"), 409)
    assert is_problem(await client.delete(f"{base}/app_id/bob-app"), 404)  # Bob's, not Anne's
    assert is_problem(await client.delete(f"{base}/app_id/never-seen"), 404)
    assert is_problem(await client.delete(f"{base}/passport/1"), 422)
    assert is_problem(await client.delete(f"{base}/email/not-an-email"), 422)
    assert await snapshot(db) == before
    assert (await lookup(client, "app_id", "bob-app")).json()["id"] == bob["id"]


# --- look-up ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "value"), [
    ("email", " ANNE.Dupont@example.FR"), ("phone", "+33 6 12 34 56 78"), ("phone", "06.12.34.56.78"),
    ("loyalty_card", "290000000001"), ("loyalty_card", "2900 0000 0001"),
])
async def test_a_customer_is_found_by_any_identifier_however_it_is_written(client, network, kind, value):
    customer = await create(client)
    found = await lookup(client, kind, value)
    assert found.status_code == 200, found.text
    assert found.json() == customer


async def test_looking_up_nobody_is_404_and_a_malformed_look_up_is_422(client, network):
    await create(client)
    assert is_problem(await lookup(client, "email", "someone@else.fr"), 404)
    assert is_problem(await lookup(client, "app_id", "ios-1"), 404)
    assert is_problem(await lookup(client, "email", "not-an-email"), 422)
    assert is_problem(await lookup(client, "passport", "X"), 422)
    assert is_problem(await client.get("/api/v1/customers/lookup", params={"kind": "email"}), 422)


# --- replay and permissions ---------------------------------------------------------------------------------

async def test_a_replayed_creation_gives_the_same_customer_once(client, db, network):
    headers = {"Idempotency-Key": "till-7-customer-12"}
    first = await client.post("/api/v1/customers", json=anne(), headers=headers)
    replay = await client.post("/api/v1/customers", json=anne(), headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json() and replay.headers["idempotent-replayed"] == "true"
    customers, _, events = await snapshot(db)
    assert len(customers) == 1 and [t for t, _, _ in events] == ["customer.created"]


async def test_a_replayed_identifier_addition_is_answered_like_the_first(client, db, network):
    customer = await create(client)
    url, headers = f"/api/v1/customers/{customer['id']}/identifiers", {"Idempotency-Key": "add-app"}
    first = await client.post(url, json={"kind": "app_id", "value": "a-1"}, headers=headers)
    replay = await client.post(url, json={"kind": "app_id", "value": "a-1"}, headers=headers)
    assert first.status_code == replay.status_code == 201 and replay.json() == first.json()
    assert len(await events_of(db, "customer.identifier_added")) == 1


async def test_customers_are_read_and_changed_only_with_the_right_role(client, key_for, db, network, anonymous):
    customer = await create(client)
    analyst, head_office = await key_for(Role.ANALYST), await key_for(Role.HEAD_OFFICE)
    associate = await key_for(Role.STORE_ASSOCIATE, locations=["LYO-PDI"])
    before = await snapshot(db)
    for headers in (analyst, head_office):
        assert is_problem(await client.get(f"/api/v1/customers/{customer['id']}", headers=headers), 403)
        assert is_problem(await client.get("/api/v1/customers", headers=headers), 403)
        assert is_problem(await client.get("/api/v1/customers/lookup", params={"kind": "app_id", "value": "1"},
                                           headers=headers), 403)
        assert is_problem(await client.post("/api/v1/customers", json=anne(email=None, phone=None, identifiers=[]),
                                            headers=headers), 403)
        assert is_problem(await client.patch(f"/api/v1/customers/{customer['id']}", json={"first_name": "X"},
                                             headers=headers), 403)
    assert is_problem(await anonymous.get(f"/api/v1/customers/{customer['id']}"), 401)
    assert await snapshot(db) == before
    assert (await client.get(f"/api/v1/customers/{customer['id']}", headers=associate)).status_code == 200
    made = await client.post("/api/v1/customers", json={"first_name": "C", "last_name": "D"}, headers=associate)
    assert made.status_code == 201


async def test_a_store_lists_looks_up_and_registers_only_its_own_customers(client, key_for, db, network):
    lyon_customer = await create(client)
    paris_customer = await create(client, first_name="Paul", email="paul@example.fr", phone=None, identifiers=[],
                                  home_location="PAR-RIV")
    lyon = await key_for(Role.STORE_ASSOCIATE, locations=["LYO-PDI"])
    listed = (await client.get("/api/v1/customers", headers=lyon)).json()["items"]
    assert [c["id"] for c in listed] == [lyon_customer["id"]]
    assert is_problem(await client.get(f"/api/v1/customers/{paris_customer['id']}", headers=lyon), 403)
    assert is_problem(await client.get("/api/v1/customers/lookup", params={"kind": "email", "value": "paul@example.fr"},
                                       headers=lyon), 403)
    registered = await client.post("/api/v1/customers", json={"first_name": "Léa", "last_name": "Roux"}, headers=lyon)
    assert registered.status_code == 201 and registered.json()["home_location"] == "LYO-PDI"
    elsewhere = await client.post("/api/v1/customers", json={"first_name": "Léo", "last_name": "Roux",
                                                            "home_location": "PAR-RIV"}, headers=lyon)
    assert is_problem(elsewhere, 403)
