"""Personal data is encrypted at rest: read raw from the database, no e-mail, phone, name, birth date or
address is in clear — not in the customer rows, the identifiers, activity, merges, nor stored answers."""

import re

from sqlalchemy import text

from tests.customers.support import create, make_shop, report, view
from tests.privacy.scan import found_in_raw, raw_bytes

GWEN = {
    "first_name": "Gwenaëlle", "last_name": "Kerbrat-Zylberstein", "email": "gwen.kerbrat@example.fr",
    "phone": "06 98 76 54 32", "birth_date": "1986-02-17",
    "address": {"line1": "12 quai Saint-Vincent", "postal_code": "69001", "city": "Lyon", "country": "FR"},
    "identifiers": [{"kind": "loyalty_card", "value": "ML-7770001"}]}
CLEAR = ["gwen.kerbrat@example.fr", "+33698765432", "Gwenaëlle", "Kerbrat-Zylberstein", "1986-02-17",
         "12 quai Saint-Vincent", "ML-7770001", "lampe laiton", "she said so"]


async def test_raw_rows_hold_sealed_values_and_blind_indexes_only(client, db, settings):
    await make_shop(db)
    made = await client.post("/api/v1/customers", json=GWEN, headers={"Idempotency-Key": "c-1"})
    assert made.status_code == 201, made.text
    gwen = made.json()
    twin = await create(client, email="gwen.k@free.fr", phone=None, identifiers=[])
    merged = await client.post(f"/api/v1/customers/{gwen['id']}/merge",
                               json={"duplicate": twin["id"], "reason": "she said so"})
    assert merged.status_code == 201
    await report(client, view("web-1", kind="search", search="lampe laiton", customer=gwen["id"]))

    async with db.reader() as session:
        [row] = (await session.execute(text(
            "SELECT first_name, last_name, email, phone, birth_date, address FROM customer"))).all()
        assert all(str(value).startswith("enc1:") for value in row)
        identifiers = (await session.execute(text("SELECT kind, digest, value FROM customer_identifier"))).all()
        assert len(identifiers) == 5 and all(re.fullmatch("[0-9a-f]{64}", digest) and value.startswith("enc1:")
                                             for _, digest, value in identifiers)
        [(search,)] = (await session.execute(text("SELECT search FROM customer_activity"))).all()
        [(reason,)] = (await session.execute(text("SELECT reason FROM customer_merge"))).all()
        [(body,)] = (await session.execute(text("SELECT body FROM idempotency_record"))).all()
    assert search.startswith("enc1:") and reason.startswith("enc1:") and bytes(body).startswith(b"enc1:")
    assert found_in_raw(await raw_bytes(db, settings.database_url), CLEAR) == []
    # …while the hub reads them back in clear
    assert (await client.get(f"/api/v1/customers/{gwen['id']}")).json()["email"] == "gwen.kerbrat@example.fr"
    replay = await client.post("/api/v1/customers", json=GWEN, headers={"Idempotency-Key": "c-1"})
    assert replay.headers["idempotent-replayed"] == "true" and replay.json() == made.json()  # the sealed answer opens
