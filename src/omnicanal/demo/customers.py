"""The demo's customers: French names and addresses (Faker ``fr_FR``), an e-mail, most with a mobile number
and a loyalty card, a home store near where they live."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import phonenumbers
from faker import Faker

from omnicanal.demo.ids import demo_id
from omnicanal.demo.reference import SITES, Site

MAIL_DOMAINS = ("gmail.com", "orange.fr", "free.fr", "laposte.net", "hotmail.fr", "sfr.fr", "outlook.fr",
                "yahoo.fr", "wanadoo.fr", "icloud.com")


@dataclass
class CustomerPlan:
    customers: list[dict[str, Any]]
    identifiers: list[dict[str, Any]]
    ids: list[str]
    weights: list[float]  # how often each customer buys, relative
    by_store: dict[str, list[int]]  # store code → indexes of the customers whose home store it is


def plan_customers(rng: random.Random, faker: Faker, *, count: int, now: datetime) -> CustomerPlan:
    """``count`` customers with unique identifiers (email, phone in E.164, loyalty card)."""
    stores = [site for site in SITES if site.kind == "store"]
    store_weights = [site.weight for site in stores]
    plan = CustomerPlan([], [], [], [], {site.code: [] for site in stores})
    taken: set[str] = set()
    for n in range(count):
        home = rng.choices(stores, store_weights)[0] if rng.random() < 0.9 else None
        row = _customer_row(rng, faker, home, now)
        plan.customers.append(row)
        plan.ids.append(row["id"])
        plan.weights.append(rng.paretovariate(1.6))
        if home is not None:
            plan.by_store[home.code].append(n)
        plan.identifiers += _identifiers(rng, row, taken)
    return plan


def _customer_row(rng: random.Random, faker: Faker, home: Site | None, now: datetime) -> dict[str, Any]:
    created = now - timedelta(days=rng.randint(370, 2_000), minutes=rng.randint(0, 1_439))
    city_site = home or rng.choice(SITES[:-1])
    postal_code = f"750{rng.randint(1, 20):02d}" if city_site.city == "Paris" else city_site.postal_code
    return {
        "id": demo_id("cus", created, rng), "first_name": faker.first_name(), "last_name": faker.last_name(),
        "email": None, "phone": None,
        "birth_date": date(1950, 1, 1) + timedelta(days=rng.randint(0, 20_000)),
        "address": {"line1": faker.street_address(), "line2": None, "postal_code": postal_code,
                    "city": city_site.city, "country": "FR"},
        "home_location_code": home.code if home else None, "created_at": created, "updated_at": created,
    }


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum() or ch == "-")


def _unique(taken: set[str], make: Any) -> str:
    value: str = make()
    while value in taken:
        value = make()
    taken.add(value)
    return value


def _mobile(rng: random.Random) -> str:
    """A French mobile number in E.164 that the hub accepts: 06 or 07 3 to 07 9, drawn again when phonenumbers
    knows its block as unassigned (06 39, 06 9x …)."""
    while True:
        number = (f"+336{rng.randint(0, 99_999_999):08d}" if rng.random() < 0.7
                  else f"+337{rng.randint(3, 9)}{rng.randint(0, 9_999_999):07d}")
        if phonenumbers.is_valid_number(phonenumbers.parse(number)):
            return number


def _identifiers(rng: random.Random, row: dict[str, Any], taken: set[str]) -> list[dict[str, Any]]:
    local = f"{_ascii(row['first_name'])}.{_ascii(row['last_name'])}"
    domain = rng.choice(MAIL_DOMAINS)
    row["email"] = _unique(taken, lambda: f"{local}{rng.choice(('', '', str(rng.randint(1, 99))))}@{domain}")
    found = [("email", row["email"])]
    if rng.random() < 0.8:
        row["phone"] = _unique(taken, lambda: _mobile(rng))
        found.append(("phone", row["phone"]))
    if rng.random() < 0.7:
        found.append(("loyalty_card", _unique(taken, lambda: f"ML{rng.randint(0, 10**10 - 1):010d}")))
    return [{"kind": kind, "value": value, "customer_id": row["id"], "created_at": row["created_at"]}
            for kind, value in found]
