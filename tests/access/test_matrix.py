"""The authorization matrix: every API route, called for real by every role (and by nobody).

A route's declared permission and the role table say whether a role may call it; the call must agree — a
refused role gets 403 (nobody gets 401), an allowed role gets past authorization (anything but 401/403, or a
403 ``outside-scope`` when the route then finds the object outside the caller's stores or channel). Besides,
routes that return or change people's data are refused to the analyst and head office whatever they declare.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from omnicanal.access.rules import Permission, Role, role_allows
from omnicanal.app import ROUTERS
from tests.factories import make_network, make_product, put_stock

ROUTES = [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
# Dummy path values: real store and channel codes so that scoped roles are inside their scope; other ids unknown.
PATH_VALUES = {"location": "PAR-RIV", "channel": "web", "code": "PAR-RIV", "day": "2030-01-07"}
QUERY = {"location": "PAR-RIV", "channel": "web"}  # lists a store role must narrow to its store
# Where people's data lives: the analyst ("figures, no person") and head office never get in.
PERSONAL_PATHS = re.compile(r"^/api/v1/(customers|orders|returns|try-ons|shipments|privacy-requests|activity|"
                            r"audit|users|api-keys|events|routing/(explain|batch))|/pickup-tasks$|/pickup$")
NO_PERSONAL_DATA = (Role.ANALYST, Role.HEAD_OFFICE)


def _permission_of(route: APIRoute) -> Permission | None:
    found = (getattr(d.call, "permission", None) for d in route.dependant.dependencies)
    return next((p for p in found if p is not None), None)


def _is_public(route: APIRoute) -> bool:
    return any(getattr(d.call, "public", False) for d in route.dependant.dependencies)


def _url(route: APIRoute) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: PATH_VALUES.get(m.group(1), f"zz-{m.group(1)}-missing"), route.path)


def _calls() -> list[tuple[str, str, APIRoute]]:
    return [(method, _url(route), route) for route in ROUTES for method in sorted(route.methods)]


@pytest.fixture
async def callers(db, key_for, client) -> dict[Role | None, dict[str, str]]:
    await make_network(db)
    keys: dict[Role | None, dict[str, str]] = {role: await key_for(role) for role in Role}
    keys[None] = {}
    return keys


async def _call(client: httpx.AsyncClient, method: str, url: str, headers: dict[str, str]) -> httpx.Response:
    body: Any = {} if method in ("POST", "PUT", "PATCH") else None
    return await client.request(method, url, params=QUERY, json=body,
                                headers={"Authorization": "", **headers})


def _refused_by_role(response: httpx.Response) -> bool:
    return response.status_code == 403 and not response.json().get("type", "").endswith("/outside-scope")


async def test_every_route_answers_every_role_as_the_role_table_says(anonymous, callers):
    wrong: list[str] = []
    for method, url, route in _calls():
        permission = _permission_of(route)
        for role, headers in callers.items():
            response = await _call(anonymous, method, url, headers)
            if _is_public(route):
                ok = response.status_code not in (401, 403)
            elif role is None:
                ok = response.status_code == 401
            elif permission is not None and role_allows(role, permission):
                ok = response.status_code != 401 and not _refused_by_role(response)
            else:
                ok = _refused_by_role(response)
            if not ok:
                wrong.append(f"{role or 'nobody'}: {method} {url} → {response.status_code} {response.text[:120]}")
    assert wrong == []


async def test_the_matrix_covers_every_route_and_role():
    calls = _calls()
    assert len(calls) == sum(len(r.methods) for r in ROUTES) > 60
    assert {_permission_of(r) for r in ROUTES} - {None} == {p for p in Permission
                                                              if any(_permission_of(r) is p for r in ROUTES)}


async def test_analysts_and_head_office_reach_no_personal_data(anonymous, callers):
    personal = [(m, u, r) for m, u, r in _calls() if PERSONAL_PATHS.search(r.path)]
    assert len(personal) > 30
    leaks = []
    for method, url, _route in personal:
        for role in NO_PERSONAL_DATA:
            response = await _call(anonymous, method, url, callers[role])
            if not _refused_by_role(response):
                leaks.append(f"{role}: {method} {url} → {response.status_code}")
    assert leaks == []


async def test_analysts_still_see_the_figures(anonymous, callers, db):
    await make_product(db, "LAMP-1")
    await put_stock(db, "LAMP-1", "PAR-RIV", 3)
    for path in ("/api/v1/products", "/api/v1/locations", "/api/v1/availability/LAMP-1",
                 "/api/v1/locations/PAR-RIV/stock", "/api/v1/prices/audit"):
        assert (await anonymous.get(path, headers=callers[Role.ANALYST])).status_code == 200
