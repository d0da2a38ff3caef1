"""A person with data in every kind of table, for the access and erasure tests."""

import pytest

from tests.customers.support import LYON, consent, create, make_shop, person, report, sell, view


@pytest.fixture
async def everywhere(client, db):
    """Gwenaëlle, with data in every kind of table, and an older record of hers merged in; Bob, a stranger."""
    await make_shop(db)
    created = await client.post("/api/v1/customers", json=person(identifiers=[{"kind": "app_id", "value": "ios-77"}]),
                                headers={"Idempotency-Key": "till-3-customer-1"})  # its answer is kept 48 h
    assert created.status_code == 201, created.text
    gwen = created.json()
    older = await create(client, email="gwen.k@free.fr", phone=None, identifiers=[])
    older_order = await sell(client, older["id"], sku="VASE-2")
    merged = await client.post(f"/api/v1/customers/{gwen['id']}/merge", json={"duplicate": older["id"]})
    assert merged.status_code == 201, merged.text
    order = await sell(client, gwen["id"], quantity=2)
    returned = await client.post("/api/v1/returns", json={"order_id": order["id"], "method": "in_store",
                                                         "location": LYON, "lines": [{"sku": "LAMP-1", "quantity": 1}]})
    assert returned.status_code == 201, returned.text
    await consent(client, gwen["id"], "personalization")
    await report(client, view("ios-77", kind="search", search="suspension laiton"))
    assert (await client.patch(f"/api/v1/customers/{gwen['id']}", json={"last_name": "Kerbrat"})).status_code == 200
    bob = await create(client, first_name="Bob", last_name="Stranger", email="bob@example.fr", phone=None,
                       birth_date="1970-07-07", identifiers=[], address={
                           "line1": "1 rue de Rivoli", "postal_code": "75001", "city": "Paris", "country": "FR"})
    bob_order = await sell(client, bob["id"])
    return gwen, older, older_order, order, returned.json(), bob, bob_order
