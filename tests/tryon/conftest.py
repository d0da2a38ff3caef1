"""A Paris store open every day 09:00–19:00 that offers try-ons, two articles in stock, and a clock."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from omnicanal.kit.clock import utcnow
from omnicanal.tryon import service, slots
from tests.factories import make_network, make_product, put_stock

PARIS = ZoneInfo("Europe/Paris")
EVERY_DAY = {day: [["09:00", "19:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def tomorrow() -> date:
    return utcnow().astimezone(PARIS).date() + timedelta(days=1)


def slot_at(hour: int, minute: int = 0, day: date | None = None) -> datetime:
    return datetime.combine(day or tomorrow(), time(hour, minute), tzinfo=PARIS)


def booking(*lines: tuple[str, int], hour: int = 10, **extra: object) -> dict[str, object]:
    return {"channel": "web", "location": "PAR-RIV", "slot_start": slot_at(hour).isoformat(),
            "lines": [{"sku": sku, "quantity": qty} for sku, qty in lines], **extra}


@pytest.fixture
async def store(db, client):
    await make_network(db)
    await make_product(db, "DRESS-1", 8900)
    await make_product(db, "SHOE-1", 12000)
    await put_stock(db, "DRESS-1", "PAR-RIV", 3)
    await put_stock(db, "SHOE-1", "PAR-RIV", 2)
    await put_stock(db, "DRESS-1", "WH-ORL", 10)
    patched = await client.patch("/api/v1/locations/PAR-RIV", json={"opening_hours": EVERY_DAY})
    assert patched.status_code == 200, patched.text
    configured = await client.put("/api/v1/locations/PAR-RIV/try-on-settings",
                                  json={"slot_minutes": 30, "capacity": 2, "grace_minutes": 30, "max_items": 4})
    assert configured.status_code == 200, configured.text
    customer = await client.post("/api/v1/customers", json={"first_name": "Ana", "last_name": "Lopes"})
    assert customer.status_code == 201, customer.text
    return customer.json()["id"]


class Clock:
    """The try-on services' clock, moved forward by tests (the rest of the hub keeps real time)."""

    def __init__(self) -> None:
        self.now: datetime | None = None

    def __call__(self) -> datetime:
        return self.now or utcnow()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(service, "utcnow", fake)
    monkeypatch.setattr(slots, "utcnow", fake)
    return fake


async def level(client, location: str, sku: str) -> dict[str, int]:
    response = await client.get(f"/api/v1/locations/{location}/stock/{sku}")
    assert response.status_code == 200, response.text
    return response.json()


async def events(client, type_: str) -> list[dict]:
    return (await client.get("/api/v1/events", params={"type": type_})).json()["items"]


async def slot_remaining(client, hour: int = 10, day: date | None = None) -> int:
    answer = (await client.get("/api/v1/locations/PAR-RIV/try-on-slots",
                               params={"date": (day or tomorrow()).isoformat()})).json()
    wanted = slot_at(hour, day=day)
    return next(s["remaining"] for s in answer["slots"] if datetime.fromisoformat(s["starts_at"]) == wanted)


