"""The audit log: every read of a person's data leaves a row, even from a read-only or refused request."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request

from omnicanal.access.deps import Allow
from omnicanal.access.rules import Permission, Principal, Role
from omnicanal.access.service import KeyVerifier
from omnicanal.audit.models import AuditEntry
from omnicanal.audit.service import record_access, route_of
from omnicanal.kit.deps import SessionDep
from omnicanal.kit.errors import InvalidRequest, install_problem_handlers
from omnicanal.kit.transaction import TransactionalRoute
from tests.access.factories import is_problem, rows
from tests.factories import make_network, make_product, put_stock


@pytest.fixture
async def shop(db):
    await make_network(db)
    await make_product(db, "LAMP-1", 4990)
    await put_stock(db, "LAMP-1", "PAR-RIV", 10)


async def customer_with_order(client):
    customer = (await client.post("/api/v1/customers", json={"first_name": "Anne", "last_name": "Test"})).json()["id"]
    order = (await client.post("/api/v1/orders", json={
        "channel": "pos", "fulfillment": "carry_out", "location": "PAR-RIV", "customer": customer,
        "lines": [{"sku": "LAMP-1", "quantity": 1}]})).json()["id"]
    return customer, order


def entry(row: AuditEntry) -> tuple:
    return (row.principal_id, row.principal_kind, row.principal_role, row.action, row.subject_type, row.subject_id,
            row.route, row.outcome, row.status)


async def audit_rows(db) -> list[AuditEntry]:
    return sorted(await rows(db, AuditEntry), key=lambda r: r.id)


async def test_reading_a_customers_order_is_logged_with_who_and_how(client, shop, db, key_for):
    customer, order = await customer_with_order(client)
    before = len(await audit_rows(db))
    manager = await key_for(Role.STORE_MANAGER, locations=["PAR-RIV"])
    key_id = (await client.get("/api/v1/auth/me", headers=manager)).json()["id"]
    assert (await client.get(f"/api/v1/orders/{order}", headers=manager)).status_code == 200
    assert (await client.get("/api/v1/orders", params={"customer": customer}, headers=manager)).status_code == 200
    logged = (await audit_rows(db))[before:]
    assert [entry(r) for r in logged] == [
        (key_id, "api_key", "store_manager", "read", "customer", customer, "GET /api/v1/orders/{order_id}",
         "done", 200),
        (key_id, "api_key", "store_manager", "read", "customer", customer, "GET /api/v1/orders", "done", 200),
    ]


async def test_reading_an_anonymous_sale_is_not_logged(client, shop, db):
    order = (await client.post("/api/v1/orders", json={
        "channel": "pos", "fulfillment": "carry_out", "location": "PAR-RIV",
        "lines": [{"sku": "LAMP-1", "quantity": 1}]})).json()["id"]
    before = await audit_rows(db)
    assert (await client.get(f"/api/v1/orders/{order}")).status_code == 200
    assert (await client.get("/api/v1/orders")).status_code == 200
    assert len(await audit_rows(db)) == len(before)


def _probe_app(db) -> FastAPI:
    """A route that reads a person's data and then fails, as a refused read or change would."""
    router = APIRouter(route_class=TransactionalRoute)

    @router.get("/probe/{customer_id}")
    async def probe(session: SessionDep, request: Request, customer_id: str,
                    principal: Principal = Allow(Permission.CUSTOMERS_READ)) -> dict[str, str]:
        await record_access(session, principal=principal, action="read", subject_type="customer",
                            subject_id=customer_id, route=route_of(request))
        if customer_id == "refused":
            raise InvalidRequest("no")
        return {"ok": customer_id}

    @router.post("/probe")
    async def change(session: SessionDep, request: Request,
                     principal: Principal = Allow(Permission.CUSTOMERS_WRITE)) -> dict[str, str]:
        await record_access(session, principal=principal, action="update", subject_type="customer",
                            subject_id=["cus_a", "cus_b"], route=route_of(request))
        raise InvalidRequest("nothing changes")

    probe_app = FastAPI()
    probe_app.state.db = db
    probe_app.state.key_verifier = KeyVerifier("probe-admin", 0)
    install_problem_handlers(probe_app)
    probe_app.include_router(router)
    return probe_app


async def test_a_refused_request_still_leaves_its_trail(db):
    transport = httpx.ASGITransport(app=_probe_app(db))
    async with httpx.AsyncClient(transport=transport, base_url="http://probe",
                                 headers={"Authorization": "Bearer probe-admin"}) as probe:
        assert (await probe.get("/probe/cus_1")).status_code == 200
        assert is_problem(await probe.get("/probe/refused"), 422)
        assert is_problem(await probe.post("/probe"), 422)
    assert [(r.subject_id, r.action, r.route, r.outcome, r.status) for r in await audit_rows(db)] == [
        ("cus_1", "read", "GET /probe/{customer_id}", "done", 200),
        ("refused", "read", "GET /probe/{customer_id}", "refused", 422),
        ("cus_a", "update", "POST /probe", "refused", 422),
        ("cus_b", "update", "POST /probe", "refused", 422),
    ]


async def test_outside_a_request_the_entry_joins_the_callers_transaction(db):
    async with db.writer() as session:
        await record_access(session, principal=None, action="erase", subject_type="customer", subject_id="cus_x",
                            route="job retention")
        await session.rollback()
    assert await audit_rows(db) == []
    async with db.writer() as session:
        await record_access(session, principal=None, action="erase", subject_type="customer", subject_id="cus_x",
                            route="job retention")
        await session.commit()
    assert [entry(r) for r in await audit_rows(db)] == [
        ("system", "system", "admin", "erase", "customer", "cus_x", "job retention", "done", None)]


async def test_only_admins_read_the_audit_log_newest_first_and_filtered(client, shop, db, key_for):
    async with db.writer() as session:
        for n, (who, action) in enumerate([("usr_1", "read"), ("usr_2", "export"), ("usr_1", "erase")]):
            principal = Principal(key_id=who, name=who, role=Role.ADMIN, kind="user")
            await record_access(session, principal=principal, action=action, subject_type="customer",
                                subject_id=f"cus_{n}", route="test")
        await session.commit()
    first = (await client.get("/api/v1/audit", params={"limit": 2})).json()
    second = (await client.get("/api/v1/audit", params={"limit": 2, "cursor": first["next"]})).json()
    assert [e["subject_id"] for e in first["items"] + second["items"]] == ["cus_2", "cus_1", "cus_0"]
    assert second["next"] is None
    by_user = (await client.get("/api/v1/audit", params={"principal": "usr_1"})).json()["items"]
    assert [e["action"] for e in by_user] == ["erase", "read"]
    exports = (await client.get("/api/v1/audit", params={"action": "export"})).json()["items"]
    assert [e["principal_id"] for e in exports] == ["usr_2"]
    subject = (await client.get("/api/v1/audit", params={"subject_type": "customer", "subject_id": "cus_0"})).json()
    assert [e["principal_id"] for e in subject["items"]] == ["usr_1"]
    assert is_problem(await client.get("/api/v1/audit", params={"action": "peek"}), 422)
    for role in (Role.STORE_MANAGER, Role.ANALYST, Role.HEAD_OFFICE, Role.INTEGRATION):
        assert is_problem(await client.get("/api/v1/audit", headers=await key_for(role)), 403)
