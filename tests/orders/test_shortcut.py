"""``POST /api/v1/orders`` answered before FastAPI (``orders.shortcut``) answers exactly as the route does, and
leaves the route every request it does not place itself."""

from omnicanal.access.rules import Role
from tests.orders.test_api import counts, ship, stock

THE_ROUTE = "/api/v1/orders?by=route"  # a query string: the shortcut leaves the request to the route
TIMES = ("id", "created_at", "updated_at")


def apart_from_ids(order: dict) -> dict:
    return {key: value for key, value in order.items() if key not in TIMES}


async def test_an_order_placed_by_the_shortcut_is_answered_as_by_the_route(client, shop):
    by_shortcut = await client.post("/api/v1/orders", json=ship(("LAMP-1", 1), ("VASE-1", 1)))
    by_route = await client.post(THE_ROUTE, json=ship(("LAMP-1", 1), ("VASE-1", 1)))
    for answer in (by_shortcut, by_route):
        assert answer.status_code == 201, answer.text
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers["location"] == f"/api/v1/orders/{answer.json()['id']}"
    assert list(by_shortcut.json()) == list(by_route.json())  # the same members, in the same order
    assert apart_from_ids(by_shortcut.json()) == apart_from_ids(by_route.json())
    assert by_shortcut.json()["id"] != by_route.json()["id"]
    assert (await stock(client, "WH-ORL", "LAMP-1"))["reserved"] == 2


async def test_a_refused_order_gets_the_routes_problem_and_writes_nothing(client, shop, db):
    before = await counts(db)
    by_shortcut = await client.post("/api/v1/orders", json=ship(("LAMP-1", 1), ("VASE-1", 3)))
    by_route = await client.post(THE_ROUTE, json=ship(("LAMP-1", 1), ("VASE-1", 3)))
    assert by_shortcut.status_code == by_route.status_code == 409
    assert by_shortcut.headers["content-type"] == "application/problem+json"
    assert by_shortcut.json() == by_route.json()
    assert by_shortcut.json()["shortages"] == [{"sku": "VASE-1", "requested": 3, "available": 2}]
    assert await counts(db) == before
    assert (await stock(client, "WH-ORL", "LAMP-1"))["reserved"] == 0


async def test_what_the_shortcut_does_not_place_the_route_answers(client, anonymous, shop, db, key_for):
    before = await counts(db)
    invalid = await client.post("/api/v1/orders", json=ship(("LAMP-1", 0)))
    assert invalid.status_code == 422 and invalid.json()["errors"][0]["field"] == "lines.0.quantity"
    not_json = await client.post("/api/v1/orders", content=b"{", headers={"Content-Type": "application/json"})
    assert not_json.status_code in (400, 422) and not_json.headers["content-type"] == "application/problem+json"
    assert (await anonymous.post("/api/v1/orders", json=ship(("LAMP-1", 1)))).status_code == 401
    analyst = await key_for(Role.ANALYST)
    for _ in range(2):  # the second time the key is known without a read: the shortcut's to refuse, to the route
        refused = await client.post("/api/v1/orders", json=ship(("LAMP-1", 1)), headers=analyst)
        assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    integration = await key_for(Role.INTEGRATION, channel="app")
    for _ in range(2):  # an integration places orders on its own channel only: a rule of the use case
        other_channel = await client.post("/api/v1/orders", json=ship(("LAMP-1", 1)), headers=integration)
        assert other_channel.status_code == 403, other_channel.text
    assert await counts(db) == before


async def test_an_integration_places_orders_on_its_channel_through_the_shortcut(client, shop, key_for):
    integration = await key_for(Role.INTEGRATION, channel="web")
    answers = [await client.post("/api/v1/orders", json=ship(("LAMP-1", 1)), headers=integration) for _ in range(2)]
    assert [answer.status_code for answer in answers] == [201, 201]
    assert (await stock(client, "WH-ORL", "LAMP-1"))["reserved"] == 2
