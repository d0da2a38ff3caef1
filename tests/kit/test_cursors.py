"""A cursor is opaque: one the hub did not hand out — forged, mangled, from another list — is a 422 problem on
every paginated list, never a 500, whatever it decodes to."""

import pytest

from omnicanal.kit.pagination import encode_cursor
from tests.factories import make_network, make_product

FORGED = [
    (10**30,), (-(10**30),), (True,), (1.5,), ({"x": 1},), ([1, 2],), (None,), ("nul\x00byte",), ("x" * 501,),
    ("a", "b", "c", "d"), (10**30, 10**30),
]


@pytest.fixture
async def lists(client, db):
    """Every list that takes ?cursor=, its path parameters filled with things that exist."""
    await make_network(db)
    await make_product(db, "LAMP-1")
    sale = {"channel": "pos", "fulfillment": "carry_out", "location": "PAR-RIV",
            "lines": [{"sku": "LAMP-1", "quantity": 1}]}
    order = await client.post("/api/v1/orders", json=sale)
    assert order.status_code == 201, order.text
    known = {"sku": "LAMP-1", "location": "PAR-RIV", "order_id": order.json()["id"]}
    spec = (await client.get("/openapi.json")).json()
    found = []
    for path, operations in spec["paths"].items():
        get = operations.get("get")
        if get and any(p["name"] == "cursor" for p in get.get("parameters", [])):
            for parameter in get["parameters"]:
                if parameter["in"] == "path":
                    path = path.replace("{" + parameter["name"] + "}", known[parameter["name"]])
            found.append(path)
    assert len(found) >= 15
    return found


async def test_a_forged_cursor_is_a_422_problem_on_every_list(client, lists):
    for path in lists:
        for key in FORGED:
            answer = await client.get(path, params={"cursor": encode_cursor(*key)})
            assert answer.status_code == 422, (path, key, answer.text)
            assert answer.json()["detail"] == "The cursor is not one this hub handed out."
        assert (await client.get(path, params={"cursor": "!!"})).status_code == 422
        first = await client.get(path, params={"limit": 1})
        assert first.status_code == 200, (path, first.text)  # and the lists still page with their own cursors
        if first.json()["next"]:
            assert (await client.get(path, params={"limit": 1, "cursor": first.json()["next"]})).status_code == 200


async def test_an_event_cursor_beyond_any_sequence_is_refused(client):
    assert (await client.get("/api/v1/events", params={"after": 2**63})).status_code == 422
    assert (await client.get("/api/v1/events", params={"after": 2**63 - 1})).json()["items"] == []
