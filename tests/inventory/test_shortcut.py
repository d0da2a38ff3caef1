"""``GET /api/v1/availability/{sku}`` answered before FastAPI (inventory.shortcut): the same answer as the
route's, byte for byte, and every case it does not take left to the route, with nothing sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from omnicanal.access.rules import ROLE_PERMISSIONS, Role
from omnicanal.app import create_app
from omnicanal.inventory.shortcut import AvailabilityShortcut
from tests.conftest import empty_all_tables
from tests.factories import make_network, make_product, put_stock


class Passed:
    """Stands between the shortcut and the rest of the app and counts the requests the shortcut passed on."""

    def __init__(self, app: Any) -> None:
        self.app, self.paths = app, []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


@pytest.fixture
async def hub(settings, schema) -> AsyncIterator[tuple[httpx.AsyncClient, Passed]]:
    """A hub that trusts a verified API key for a minute (the tests' default hub verifies every request),
    the requests its shortcut passed on, and a shop: LAMP-1 at the warehouse, a store and a pick-up store."""
    app = create_app(settings.model_copy(update={"api_key_cache_seconds": 60}), background_jobs=False)
    db = app.state.db
    await empty_all_tables(db)
    await make_network(db)
    await make_product(db, "LAMP-1")
    await make_product(db, "VASE-1")  # stocked nowhere
    await put_stock(db, "LAMP-1", "WH-ORL", 20, safety=2)
    await put_stock(db, "LAMP-1", "PAR-RIV", 5)
    await put_stock(db, "LAMP-1", "LYO-PDI", 3)
    app.middleware_stack = app.build_middleware_stack()
    layer = app.middleware_stack
    while not isinstance(layer, AvailabilityShortcut):
        layer = layer.app
    layer.app = passed = Passed(layer.app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub",
                                 headers={"Authorization": "Bearer test-admin-token"}) as client:
        yield client, passed
    await db.dispose()


async def new_key(client: httpx.AsyncClient, role: Role = Role.ANALYST) -> tuple[str, dict[str, str]]:
    issued = await client.post("/api/v1/api-keys", json={"name": f"shop {role}", "role": role})
    assert issued.status_code == 201, issued.text
    return issued.json()["id"], {"Authorization": f"Bearer {issued.json()['token']}"}


def same_answer(a: httpx.Response, b: httpx.Response) -> bool:
    return (a.status_code, a.content, a.headers["content-type"], a.headers["content-length"]) == (
        b.status_code, b.content, b.headers["content-type"], b.headers["content-length"])


@pytest.mark.parametrize("query", [{}, {"channel": "web"}, {"channel": "marketplace"}, {"channel": "pos"}])
async def test_the_shortcut_answers_what_the_route_answers(hub, query):
    client, passed = hub
    _, key = await new_key(client)
    by_route = await client.get("/api/v1/availability/LAMP-1", params=query, headers=key)  # a key not yet verified
    assert passed.paths == ["/api/v1/api-keys", "/api/v1/availability/LAMP-1"]
    by_shortcut = await client.get("/api/v1/availability/LAMP-1", params=query, headers=key)  # now it is
    by_admin_token = await client.get("/api/v1/availability/LAMP-1", params=query)
    assert len(passed.paths) == 2  # neither reached the route
    assert by_route.status_code == 200
    assert same_answer(by_route, by_shortcut) and same_answer(by_route, by_admin_token)
    expected = {(): 18 + 5 + 3, ("channel", "web"): 18 + 5 + 3, ("channel", "marketplace"): 17 + 4 + 2,
                ("channel", "pos"): 5 + 3}[tuple(*query.items())]
    assert by_shortcut.json()["total"] == expected


async def test_a_product_stocked_nowhere_has_nothing_available(hub):
    client, passed = hub
    found = await client.get("/api/v1/availability/VASE-1", params={"channel": "web"})
    assert found.status_code == 200
    assert found.json() == {"sku": "VASE-1", "channel": "web", "total": 0, "locations": []}
    assert passed.paths == []


async def test_the_shortcut_reads_the_stock_as_it_is_now(hub):
    client, passed = hub
    before = (await client.get("/api/v1/availability/LAMP-1", params={"channel": "web"})).json()["total"]
    assert (await client.put("/api/v1/locations/PAR-RIV/stock/LAMP-1", json={"on_hand": 9})).status_code == 200
    after = (await client.get("/api/v1/availability/LAMP-1", params={"channel": "web"})).json()["total"]
    assert after == before + 4
    assert passed.paths == ["/api/v1/locations/PAR-RIV/stock/LAMP-1"]


@pytest.mark.parametrize(("path", "query", "headers", "status"), [
    ("/api/v1/availability/NOPE", {"channel": "web"}, None, 404),  # no such product
    ("/api/v1/availability/LAMP-1", {"channel": "fax"}, None, 404),  # no such channel
    ("/api/v1/availability/LAMP-1", {"channel": "web", "colour": "red"}, None, 200),  # another parameter
    ("/api/v1/availability/LAMP-1", {"channel": "web\x00"}, None, 422),  # NUL
    ("/api/v1/availability/LAMP-1", {}, {"Authorization": "Bearer omk_nobody"}, 401),
    ("/api/v1/availability/LAMP-1", {}, {"Authorization": "Basic dGVzdDp0ZXN0"}, 401),
    ("/api/v1/availability/LAMP-1", {}, {"Authorization": ""}, 401),
    ("/api/v1/availability/LAMP-1/more", {}, None, 404),  # another path
])
async def test_what_the_shortcut_does_not_take_the_route_answers(hub, path, query, headers, status):
    client, passed = hub
    response = await client.get(path, params=query, headers=headers)
    assert response.status_code == status, response.text
    assert passed.paths == [path]
    if status >= 400:
        assert response.headers["content-type"] == "application/problem+json"


async def test_a_revoked_key_is_refused_at_once(hub):
    client, passed = hub
    key_id, key = await new_key(client)
    for _ in range(2):
        assert (await client.get("/api/v1/availability/LAMP-1", headers=key)).status_code == 200
    assert (await client.delete(f"/api/v1/api-keys/{key_id}")).status_code == 204
    refused = await client.get("/api/v1/availability/LAMP-1", headers=key)
    assert refused.status_code == 401
    assert passed.paths[-1] == "/api/v1/availability/LAMP-1"


async def test_a_role_without_stock_read_is_refused_by_the_shortcut_too(hub, monkeypatch):
    client, passed = hub
    _, key = await new_key(client, Role.ANALYST)
    assert (await client.get("/api/v1/availability/LAMP-1", headers=key)).status_code == 200  # now trusted
    monkeypatch.setitem(ROLE_PERMISSIONS, Role.ANALYST, frozenset())
    refused = await client.get("/api/v1/availability/LAMP-1", headers=key)
    assert refused.status_code == 403
    assert passed.paths[-1] == "/api/v1/availability/LAMP-1"


async def test_only_gets_are_taken(hub):
    client, passed = hub
    assert (await client.post("/api/v1/availability/LAMP-1")).status_code == 405
    assert passed.paths == ["/api/v1/availability/LAMP-1"]
