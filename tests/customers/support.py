"""Builders shared by the customer and privacy tests: a small shop, customers, orders and activity made
through the API, and readers of the stored state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from omnicanal.db import Database
from omnicanal.events.models import OutboxEvent
from tests.factories import make_network, make_product, put_stock

PROBLEM = "application/problem+json"
LYON, PARIS = "LYO-PDI", "PAR-RIV"
T0 = datetime(2026, 1, 5, 10, tzinfo=UTC)


async def make_shop(db: Database) -> None:
    await make_network(db)
    for sku in ("LAMP-1", "VASE-2"):
        await make_product(db, sku, 4990)
        for site in ("WH-ORL", PARIS, LYON):
            await put_stock(db, sku, site, 50)


def person(**changes: Any) -> dict[str, Any]:
    body = {
        "first_name": "Gwenaëlle", "last_name": "Kerbrat-Zylberstein", "email": "gwen.kerbrat@example.fr",
        "phone": "06 98 76 54 32", "birth_date": "1986-02-17",
        "address": {"line1": "12 quai Saint-Vincent", "postal_code": "69001", "city": "Lyon", "country": "FR"},
        "home_location": LYON, "identifiers": [{"kind": "loyalty_card", "value": "ML-7770001"}],
    }
    return {**body, **changes}


async def create(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/customers", json=person(**changes))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def sell(client: httpx.AsyncClient, customer: str | None, *, location: str = LYON, sku: str = "LAMP-1",
               quantity: int = 1) -> dict[str, Any]:
    """A till sale at ``location`` (completed at once)."""
    response = await client.post("/api/v1/orders", json={
        "channel": "pos", "fulfillment": "carry_out", "location": location, "customer": customer,
        "lines": [{"sku": sku, "quantity": quantity}]})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def ship(client: httpx.AsyncClient, customer: str | None, sku: str = "VASE-2") -> dict[str, Any]:
    """A web order to ship (confirmed: still being fulfilled)."""
    response = await client.post("/api/v1/orders", json={
        "channel": "web", "fulfillment": "ship", "customer": customer, "lines": [{"sku": sku, "quantity": 1}]})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def view(device: str, sku: str = "LAMP-1", *, hours: float = 0, kind: str = "product_view",
         **more: Any) -> dict[str, Any]:
    item = {"device_id": device, "kind": kind, "at": (T0 + timedelta(hours=hours)).isoformat(), "channel": "web",
            **more}
    if kind in ("product_view", "cart_add"):
        item["sku"] = sku
    return item


def visit(device: str, *, hours: float = 0, location: str = LYON, **more: Any) -> dict[str, Any]:
    return {"device_id": device, "kind": "store_visit", "at": (T0 + timedelta(hours=hours)).isoformat(),
            "channel": "pos", "location": location, **more}


async def report(client: httpx.AsyncClient, *items: dict[str, Any], status: int = 201,
                 **headers: str) -> httpx.Response:
    response = await client.post("/api/v1/activity", json={"items": list(items)}, headers=headers)
    assert response.status_code == status, response.text
    return response


async def consent(client: httpx.AsyncClient, customer: str, purpose: str, granted: bool = True,
                  **more: Any) -> httpx.Response:
    response = await client.post(f"/api/v1/customers/{customer}/consents",
                                 json={"purpose": purpose, "granted": granted, "channel": "web", **more})
    assert response.status_code == 201, response.text
    return response


def is_problem(response: httpx.Response, status: int) -> bool:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == status and response.json()["detail"]
    return True


async def events_of(db: Database, *types: str) -> list[tuple[str, str, dict[str, Any]]]:
    async with db.reader() as session:
        return [(e.type, e.subject, e.data) for e in await session.scalars(
            select(OutboxEvent).where(OutboxEvent.type.in_(types)).order_by(OutboxEvent.id))]


async def table_rows(db: Database, model: Any) -> list[Any]:
    async with db.reader() as session:
        return list((await session.scalars(select(model))).all())
