"""Batch routing: waiting ship orders routed again jointly — cheaper, fewer parcels, never worse."""

import pytest
from typer.testing import CliRunner

from omnicanal.access.rules import Role
from omnicanal.cli import app as cli
from tests.factories import make_product, put_stock
from tests.routing.factories import PARIS, make_routing_network, ship, snapshot


@pytest.fixture
async def shop(db):
    """One lamp left at the warehouse and one in Marseille; vases only at the warehouse."""
    await make_routing_network(db)
    await make_product(db, "LAMP-1", 2500)
    await make_product(db, "VASE-1", 1500)
    await put_stock(db, "LAMP-1", "WH-ORL", 1)
    await put_stock(db, "LAMP-1", "MRS-TDP", 1)
    await put_stock(db, "VASE-1", "WH-ORL", 5)


async def place(client, *lines):
    response = await client.post("/api/v1/orders", json=ship(*lines, ship_to=PARIS))
    assert response.status_code == 201, response.text
    return response.json()


def sites(order):
    return {line["sku"]: line["location"] for line in order["lines"]}


@pytest.fixture
async def greedy_split(client, shop):
    """Routed one by one, the first order takes the warehouse's lamp, so the second must be split."""
    first = await place(client, ("LAMP-1", 1))
    second = await place(client, ("LAMP-1", 1), ("VASE-1", 1))
    assert sites(first) == {"LAMP-1": "WH-ORL"}
    assert sites(second) == {"LAMP-1": "MRS-TDP", "VASE-1": "WH-ORL"}
    return first, second


async def test_a_batch_routes_waiting_orders_jointly_and_cheaper(client, greedy_split):
    first, second = greedy_split
    response = await client.post("/api/v1/routing/batch", json={"time_limit": 5})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["method"] == "mip" and body["solver_status"] == "optimal" and body["considered"] == 2
    assert body["cost_after"] < body["cost_before"]
    assert (body["parcels_before"], body["parcels_after"]) == (3, 2)
    assert sorted(m["order"] for m in body["moves"]) == sorted([first["id"], second["id"]])
    first_now = (await client.get(f"/api/v1/orders/{first['id']}")).json()
    second_now = (await client.get(f"/api/v1/orders/{second['id']}")).json()
    assert sites(first_now) == {"LAMP-1": "MRS-TDP"}
    assert sites(second_now) == {"LAMP-1": "WH-ORL", "VASE-1": "WH-ORL"}  # one parcel now
    for location in ("WH-ORL", "MRS-TDP"):
        assert (await client.get(f"/api/v1/locations/{location}/stock/LAMP-1")).json()["reserved"] == 1
    assert (await client.get("/api/v1/stock/ledger-check")).json() == []
    routing = (await client.get(f"/api/v1/orders/{second['id']}/routing")).json()
    assert [d["trigger"] for d in routing["decisions"]] == ["batch", "placed"]
    assert routing["decisions"][0]["cost"] < routing["decisions"][1]["cost"]
    rerouted = (await client.get("/api/v1/events", params={"type": "order.rerouted"})).json()["items"]
    assert {e["subject"] for e in rerouted} == {first["id"], second["id"]}


async def test_a_second_batch_changes_nothing(client, greedy_split, db):
    await client.post("/api/v1/routing/batch", json={})
    before = await snapshot(db)
    again = (await client.post("/api/v1/routing/batch", json={})).json()
    assert again["changed"] == 0 and again["cost_after"] == again["cost_before"]
    after = await snapshot(db)
    assert after["levels"] == before["levels"] and after["lines"] == before["lines"]
    assert after["counts"][1:] == before["counts"][1:]  # no movement, decision, parcel: one batch event only


async def test_a_batch_leaves_alone_orders_not_waiting_or_not_named(client, greedy_split):
    first, second = greedy_split
    await client.post(f"/api/v1/orders/{first['id']}/ship")
    body = (await client.post("/api/v1/routing/batch", json={"orders": [second["id"], "ord_unknown"]})).json()
    assert body["considered"] == 1 and body["changed"] == 0  # the warehouse lamp has left with the first
    assert sites((await client.get(f"/api/v1/orders/{first['id']}")).json()) == {"LAMP-1": "WH-ORL"}


async def test_an_order_whose_customer_chose_the_store_is_not_moved(client, shop):
    chosen = await client.post("/api/v1/orders", json=ship(("LAMP-1", 1), ship_to=PARIS, location="MRS-TDP"))
    assert chosen.status_code == 201
    body = (await client.post("/api/v1/routing/batch", json={})).json()
    assert body["considered"] == 0 and body["method"] == "unchanged"


@pytest.mark.parametrize("body", [
    {"time_limit": 0}, {"time_limit": 1000}, {"limit": 0}, {"limit": 10_001}, {"orders": "ord_1"}, {"fast": True},
])
async def test_bad_batch_requests_are_refused_and_change_nothing(client, greedy_split, db, body):
    before = await snapshot(db)
    response = await client.post("/api/v1/routing/batch", json=body)
    assert response.status_code == 422 and response.json()["detail"]
    assert await snapshot(db) == before


async def test_batch_routing_is_for_hub_wide_roles(client, greedy_split, db, key_for):
    before = await snapshot(db)
    for headers in (await key_for(Role.STORE_MANAGER, locations=["MRS-TDP"]), await key_for(Role.INTEGRATION),
                    await key_for(Role.ANALYST)):
        assert (await client.post("/api/v1/routing/batch", json={}, headers=headers)).status_code == 403
    assert await snapshot(db) == before


def test_the_operator_runs_a_batch_from_the_command_line(greedy_split, database_url):
    _, second = greedy_split
    runner = CliRunner()
    result = runner.invoke(cli, ["orders", "route", "--batch", "--time-limit", "5"],
                           env={"OMNICANAL_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    assert "Batch routing" in result.output and second["id"] in result.output
    refused = runner.invoke(cli, ["orders", "route"], env={"OMNICANAL_DATABASE_URL": database_url})
    assert refused.exit_code == 2
