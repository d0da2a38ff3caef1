"""Key rotation: every sealed value re-sealed under the new key, every blind index recomputed; afterwards the
old key can go and look-ups still work."""

from sqlalchemy import text

from omnicanal.config import Settings
from omnicanal.kit import crypto
from omnicanal.kit.crypto import key_id, keyring_from, new_key
from omnicanal.privacy.rotation import rotate_keys
from tests.customers.support import create, make_shop, report, view

SEALED = [("customer", "email"), ("customer", "first_name"), ("customer", "address"), ("customer", "birth_date"),
          ("customer_identifier", "value"), ("idempotency_record", "body")]


def ring(keys, index):
    return keyring_from(Settings(encryption_keys=",".join(keys), blind_index_key=index))


async def stored_key_ids(db) -> set[str]:
    """The ids of the keys the stored values were sealed with, read from the raw rows."""
    found = set()
    async with db.reader() as session:
        for table, column in SEALED:
            for (value,) in (await session.execute(text(f"SELECT {column} FROM {table}"))).all():
                value = bytes(value).decode() if isinstance(value, bytes | memoryview) else value
                assert value.startswith("enc1:"), f"{table}.{column} holds a clear value"
                found.add(value.split(":")[1])
    return found


async def lookup(client, email):
    return await client.get("/api/v1/customers/lookup", params={"kind": "email", "value": email})


async def test_rotating_reseals_everything_under_the_new_key_and_reindexes(client, db):
    await make_shop(db)
    old_key, new_key_, old_index, new_index = new_key(), new_key(), new_key(), new_key()
    with crypto.using(ring([old_key], old_index)):
        made = await client.post("/api/v1/customers", json={
            "first_name": "Gwenaëlle", "last_name": "Kerbrat", "email": "gwen@example.fr", "birth_date": "1986-02-17",
            "address": {"line1": "1 quai", "postal_code": "69001", "city": "Lyon", "country": "FR"},
            "identifiers": [{"kind": "device", "value": "web-1"}]}, headers={"Idempotency-Key": "k-1"})
        gwen = made.json()
        await create(client, email="other@example.fr", phone=None, identifiers=[])
        assert await stored_key_ids(db) == {key_id(crypto._decode_key(old_key, "test"))}

    with crypto.using(ring([new_key_, old_key], new_index)):
        assert (await lookup(client, "gwen@example.fr")).status_code == 404  # the indexes are the old key's
        async with db.writer() as session:
            changed = await rotate_keys(session)
            await session.commit()
        assert changed["customer"] == 2 and changed["customer_identifier (index)"] == 3
        assert changed["idempotency_record"] == 1 and changed["customer_match_key (index)"] == 2
        assert await stored_key_ids(db) == {key_id(crypto._decode_key(new_key_, "test"))}
        async with db.writer() as session:
            assert await rotate_keys(session) == {}  # nothing left to do

    with crypto.using(ring([new_key_], new_index)):  # the old key is gone: everything still opens
        assert (await lookup(client, "GWEN@example.fr")).json() == gwen
        assert (await client.get(f"/api/v1/customers/{gwen['id']}")).json() == gwen
        stitched = await report(client, view("web-1"))
        assert stitched.json()["linked"] == 1
        duplicate = await create(client, first_name="Gwenaëlle", last_name="Kerbrat", email="gwen.k@free.fr",
                                 phone=None, identifiers=[], birth_date="1986-02-17")
        found = (await client.get(f"/api/v1/customers/{gwen['id']}/duplicates")).json()
        assert [d["duplicate"] for d in found] == [duplicate["id"]]  # match keys were recomputed too
