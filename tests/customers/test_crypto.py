"""Sealing personal data at rest and finding it by blind index — the keyring itself, without a database."""

import logging
from datetime import date

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select

from omnicanal.config import Settings
from omnicanal.customers.crypto import encrypt_customer_row, identifier_digest, identifier_row, protected_rows
from omnicanal.customers.models import Customer
from omnicanal.kit import crypto
from omnicanal.kit.crypto import Keyring, KeyringError, keyring_from, new_key


def ring(*keys: str, index: str | None = None) -> Keyring:
    return keyring_from(Settings(encryption_keys=",".join(keys), blind_index_key=index or new_key()))


def test_a_sealed_value_opens_only_with_its_purpose_and_shows_nothing_in_clear():
    keys = ring(new_key())
    sealed = keys.seal("anne.dupont@example.fr", "customer.email")
    assert sealed.startswith(f"enc1:{keys.current_id}:") and "anne" not in sealed and "example" not in sealed
    assert keys.unseal(sealed, "customer.email") == "anne.dupont@example.fr"
    assert keys.seal("anne.dupont@example.fr", "customer.email") != sealed  # a fresh nonce each time
    with pytest.raises(InvalidTag):
        keys.unseal(sealed, "customer.first_name")  # copied into another column, it does not open


def test_sealing_twice_keeps_the_first_seal_but_a_forged_prefix_is_sealed_like_any_text():
    keys = ring(new_key())
    sealed = keys.seal("Anne", "customer.first_name")
    assert keys.seal(sealed, "customer.first_name") == sealed
    forged = f"enc1:{keys.current_id}:bm90IGEgc2VhbA=="
    assert keys.seal(forged, "customer.first_name") != forged
    assert keys.unseal(keys.seal(forged, "customer.first_name"), "customer.first_name") == forged


def test_an_older_key_still_opens_its_rows_and_new_rows_use_the_first_key():
    old, new = new_key(), new_key()
    before = ring(old).seal("0612345678", "customer.phone")
    rotated = ring(new, old)
    assert rotated.unseal(before, "customer.phone") == "0612345678"
    assert not rotated.is_current(before)
    assert rotated.is_current(rotated.seal("x", "customer.phone"))
    with pytest.raises(KeyringError, match="no longer holds"):
        ring(new).unseal(before, "customer.phone")


def test_clear_text_stored_before_encryption_reads_back_as_it_was():
    assert ring(new_key()).unseal("anne@example.fr", "customer.email") == "anne@example.fr"


def test_blind_indexes_are_equal_for_equal_values_and_depend_on_the_index_key():
    index = new_key()
    a, b = ring(new_key(), index=index), ring(new_key(), index=index)
    assert a.blind_index("customer_identifier", "email:anne@example.fr") == \
        b.blind_index("customer_identifier", "email:anne@example.fr")
    assert a.blind_index("customer_identifier", "email:anne@example.fr") != \
        a.blind_index("customer_identifier", "email:bob@example.fr")
    assert ring(new_key()).blind_index("p", "v") != a.blind_index("p", "v")


@pytest.mark.parametrize(("keys", "index", "message"), [
    ("not base64 at all!", None, "OMNICANAL_ENCRYPTION_KEYS"),
    ("c2hvcnQ=", None, "32 bytes"),
    (None, "c2hvcnQ=", "OMNICANAL_BLIND_INDEX_KEY"),
])
def test_a_malformed_key_is_refused_with_the_setting_named(keys, index, message):
    with pytest.raises(KeyringError, match=message):
        keyring_from(Settings(encryption_keys=keys or new_key(), blind_index_key=index or new_key()))


def test_without_keys_development_keys_are_used_and_a_loud_warning_says_so(caplog, monkeypatch):
    monkeypatch.setattr(crypto, "_warned", [])  # given once per process: forget it was
    with caplog.at_level(logging.WARNING, logger="omnicanal"):
        dev = keyring_from(Settings(encryption_keys=None, blind_index_key=None))
    assert dev.development and "DEVELOPMENT keys" in caplog.text
    again = keyring_from(Settings(encryption_keys=None, blind_index_key=None))
    assert again.unseal(dev.seal("x", "p"), "p") == "x"  # derived deterministically: a dev hub stays readable
    assert not ring(new_key()).development


def test_a_sealed_column_cannot_be_searched_in_sql():
    with pytest.raises(TypeError, match="blind index"):
        select(Customer).where(Customer.email == "anne@example.fr")
    select(Customer).where(Customer.email.is_(None))  # "has none" still works


def test_rows_for_bulk_loaders_are_sealed_and_indexed():
    with crypto.using(ring(new_key())) as keys:
        row = encrypt_customer_row({"id": "cus_1", "first_name": "Anne", "last_name": "Dupont",
                                    "email": "anne@example.fr", "phone": None, "birth_date": date(1988, 4, 12),
                                    "address": {"postal_code": "69002"}, "home_location_code": None})
        assert row["id"] == "cus_1" and row["phone"] is None
        for column, clear in [("first_name", "Anne"), ("email", "anne@example.fr"), ("birth_date", "1988-04-12")]:
            assert row[column].startswith("enc1:")
            assert keys.unseal(row[column], f"customer.{column}") == clear
        identifier = identifier_row(kind="email", value="anne@example.fr", customer_id="cus_1", created_at=None)
        assert identifier["digest"] == identifier_digest("email", "anne@example.fr")
        assert keys.unseal(identifier["value"], "customer_identifier.value") == "anne@example.fr"
        rows = protected_rows([{"id": "cus_1", "first_name": "Anne", "last_name": "Dupont", "email": None,
                                "birth_date": date(1988, 4, 12), "address": {"postal_code": "69002"}}], [])
        assert {k["kind"] for k in rows.match_keys} == {"place", "birth_date"}
