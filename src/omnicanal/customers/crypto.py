"""How customer data is protected at rest: which columns are sealed, the blind indexes that find a customer by
identifier, and the match keys that find probable duplicates — for the services and for bulk loaders (the
demo seeder) that write rows without the ORM.

A bulk loader writing customers must call :func:`protected_rows` (or the three functions it combines):
``COPY`` on PostgreSQL bypasses SQLAlchemy's column types, so values must be sealed beforehand (sealing is
idempotent: a value already sealed is kept as is when it then goes through the ORM or Core).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from omnicanal.customers.matching import Person, match_keys
from omnicanal.customers.models import Customer, CustomerIdentifier
from omnicanal.kit.crypto import keyring

IDENTIFIER_PURPOSE = "customer_identifier"
MATCH_KEY_PURPOSE = "customer_match_key"


def identifier_digest(kind: str, value: str) -> str:
    """The blind index of a normalised identifier: how ``customer_identifier`` is searched."""
    return keyring().blind_index(IDENTIFIER_PURPOSE, f"{kind}:{value}")


def device_digest(device_id: str) -> str:
    """The blind index under which a device's activity is kept (its id is never stored in clear there)."""
    return keyring().blind_index("customer_activity.device", device_id)


def person_of(customer: Customer | Mapping[str, Any]) -> Person:
    """The matching view of a customer row (ORM object or a plain dict with clear values)."""
    get = customer.get if isinstance(customer, Mapping) else lambda name: getattr(customer, name)
    address = get("address") or {}
    return Person(id=str(get("id")), first_name=get("first_name"), last_name=get("last_name"), email=get("email"),
                  phone=get("phone"), birth_date=get("birth_date"), postal_code=address.get("postal_code"),
                  address_line=address.get("line1"))


def match_key_digests(person: Person) -> dict[str, str]:
    """The person's match keys as blind indexes, by kind."""
    ring = keyring()
    return {kind: ring.blind_index(f"{MATCH_KEY_PURPOSE}.{kind}", key) for kind, key in match_keys(person).items()}


def _sealed_columns(model: Any) -> list[tuple[str, Any]]:
    return [(c.name, c.type) for c in model.__table__.columns if getattr(c.type, "seals", False)]


def encrypt_customer_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a ``customer`` row (clear values, column names as keys) with its personal fields sealed."""
    return _seal(Customer, row)


def identifier_row(*, kind: str, value: str, customer_id: str, created_at: datetime) -> dict[str, Any]:
    """A ``customer_identifier`` row for a normalised ``value``: its blind index and its sealed copy."""
    return _seal(CustomerIdentifier, {"kind": kind, "digest": identifier_digest(kind, value), "value": value,
                                      "customer_id": customer_id, "created_at": created_at})


def match_key_rows(customers: Iterable[Mapping[str, Any] | Customer]) -> list[dict[str, Any]]:
    """The ``customer_match_key`` rows of customers given with clear values."""
    return [{"customer_id": person.id, "kind": kind, "digest": digest}
            for person in map(person_of, customers) for kind, digest in match_key_digests(person).items()]


def _seal(model: Any, row: Mapping[str, Any]) -> dict[str, Any]:
    sealed = dict(row)
    for name, column_type in _sealed_columns(model):
        if sealed.get(name) is not None:
            sealed[name] = column_type.process_bind_param(sealed[name], None)
    return sealed


@dataclass(frozen=True)
class ProtectedRows:
    customers: list[dict[str, Any]]
    identifiers: list[dict[str, Any]]
    match_keys: list[dict[str, Any]]


def protected_rows(customers: Sequence[Mapping[str, Any]],
                   identifiers: Sequence[Mapping[str, Any]]) -> ProtectedRows:
    """What a bulk loader inserts for customers given in clear: sealed ``customer`` rows, ``customer_identifier``
    rows (``kind``, normalised ``value``, ``customer_id``, ``created_at`` in; digest and sealed value out),
    and their ``customer_match_key`` rows."""
    return ProtectedRows(
        customers=[encrypt_customer_row(row) for row in customers],
        identifiers=[identifier_row(kind=i["kind"], value=i["value"], customer_id=i["customer_id"],
                                    created_at=i["created_at"]) for i in identifiers],
        match_keys=match_key_rows(customers),
    )
