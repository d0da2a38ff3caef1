"""Every API route declares the permission it needs; none is open by accident."""

from fastapi.routing import APIRoute
from starlette.routing import Match

from omnicanal.access.rules import Permission, Role, role_allows
from omnicanal.app import ROUTERS


def _permission_of(route: APIRoute) -> Permission | None:
    for dependency in route.dependant.dependencies:
        permission = getattr(dependency.call, "permission", None)
        if permission is not None:
            return permission
    return None


def _is_public(route: APIRoute) -> bool:
    return any(getattr(dependency.call, "public", False) for dependency in route.dependant.dependencies)


# The only routes open without credentials, each a deliberate decision.
PUBLIC = {"POST /api/v1/auth/login", "GET /api/v1/privacy-policy"}


def test_every_api_route_declares_a_permission(app):
    entries = [r for router in ROUTERS for r in router.routes]
    routes = [r for r in entries if isinstance(r, APIRoute)]
    assert len(routes) == len(entries), "a nested router hides its routes from this check: list it in ROUTERS"
    assert len(routes) > 40
    assert all(r.path.startswith("/api/v1/") for r in routes)
    missing = sorted(f"{sorted(r.methods)} {r.path}" for r in routes if _permission_of(r) is None and not _is_public(r))
    assert missing == []
    public = {f"{method} {r.path}" for r in routes if _is_public(r) for method in r.methods}
    assert public == PUBLIC
    assert not [r.path for r in routes if _is_public(r) and _permission_of(r) is not None]


def test_every_permission_is_granted_to_someone_and_admin_holds_them_all():
    assert all(role_allows(Role.ADMIN, p) for p in Permission)
    assert {p for role in Role for p in Permission if role_allows(role, p)} == set(Permission)


async def test_no_credentials_is_401_and_a_wrong_key_too(anonymous, client):
    response = await anonymous.get("/api/v1/orders")
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    wrong = await anonymous.get("/api/v1/orders", headers={"Authorization": "Bearer omk_key_x.nope"})
    assert wrong.status_code == 401


async def test_a_role_without_the_permission_is_403(client, key_for):
    analyst = await key_for(Role.ANALYST)
    assert (await client.get("/api/v1/orders", headers=analyst)).status_code == 403
    assert (await client.get("/api/v1/locations", headers=analyst)).status_code == 200


async def test_api_keys_are_issued_once_and_can_be_revoked(client, anonymous):
    await client.post("/api/v1/channels", json={"code": "web", "name": "Web", "kind": "web"})
    issued = await client.post("/api/v1/api-keys", json={"name": "web shop", "role": "integration", "channel": "web"})
    assert issued.status_code == 201
    token = issued.json()["token"]
    assert (await anonymous.get("/api/v1/orders", headers={"Authorization": f"Bearer {token}"})).status_code == 200
    listed = (await client.get("/api/v1/api-keys")).json()["items"]
    assert all("token" not in key for key in listed)
    assert (await client.delete(f"/api/v1/api-keys/{issued.json()['id']}")).status_code == 204
    assert (await anonymous.get("/api/v1/orders", headers={"Authorization": f"Bearer {token}"})).status_code == 401
    assert (await client.post("/api/v1/api-keys", json={"name": "x", "role": "overlord"})).status_code == 422


async def test_health_and_offline_docs(anonymous):
    assert (await anonymous.get("/healthz")).json()["status"] == "ok"
    docs = await anonymous.get("/docs")
    assert docs.status_code == 200 and "/assets/docs/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert (await anonymous.get("/assets/docs/swagger-ui-bundle.js")).status_code == 200
    assert (await anonymous.get("/openapi.json")).json()["info"]["title"] == "Omnicanal"


def test_each_route_is_the_first_to_match_its_own_requests(app):
    """ROUTERS is ordered for speed (the hottest first): that order must not let a route take another's requests."""
    routes = [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    for route in routes:
        path = route.path_format
        for name in route.param_convertors:
            path = path.replace("{" + name + "}", "x-1")
        for method in route.methods:
            scope = {"type": "http", "method": method, "path": path, "root_path": ""}
            first = next(r for r in routes if r.matches(scope)[0] is Match.FULL)
            assert first is route, f"{method} {path} reaches {first.path}, not {route.path}"


async def test_the_openapi_document_describes_every_error_as_the_problem_json_it_is(client):
    document = (await client.get("/openapi.json")).json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            errors = {code: r for code, r in operation["responses"].items() if code[0] in "45"}
            assert {"404", "422", "503"} <= set(errors), (method, path)
            assert ({"401", "403"} <= set(errors)) == ("security" in operation), (method, path)
            for response in errors.values():
                assert response["content"] == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}, (method, path)
    reasons = document["paths"]["/api/v1/orders"]["post"]["responses"]["409"]["description"]
    assert "shortages" in reasons  # an endpoint's own words for its conflicts are kept


async def test_the_openapi_document_shows_idempotency_on_every_write(client):
    document = (await client.get("/openapi.json")).json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            keyed = [p for p in operation.get("parameters", []) if p["name"] == "Idempotency-Key"]
            assert len(keyed) == (method in ("post", "put", "patch", "delete")), (method, path)
            for code, response in operation["responses"].items():
                assert ("Idempotent-Replayed" in response.get("headers", {})) == bool(keyed and code[0] == "2")


async def test_the_openapi_document_names_each_schema_once_and_plainly(client):
    """A client generated from the document gets ``Address``, not ``omnicanal__customers__schemas__Address``:
    one model per name, shared where the API means the same thing."""
    names = (await client.get("/openapi.json")).json()["components"]["schemas"]
    assert not [name for name in names if "__" in name]
    address = names["Address"]
    assert set(address["required"]) == {"line1", "postal_code", "city", "country"}
