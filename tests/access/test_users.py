"""Admins manage console users and scoped API keys; nobody else can, and bad requests change nothing."""

from __future__ import annotations

import pytest

from omnicanal.access.rules import Role
from omnicanal.events.models import OutboxEvent
from tests.access.factories import PASSWORD, access_state, bearer, is_problem, rows, sign_in, token_of
from tests.factories import make_network


@pytest.fixture(autouse=True)
async def network(db):
    await make_network(db)


def lea(**changes):
    return {"email": "Lea.Martin@example.test", "name": "Léa Martin", "role": "store_associate",
            "password": PASSWORD, "locations": ["LYO-PDI"], **changes}


async def test_an_admin_creates_a_user_who_can_then_sign_in(client, anonymous, db):
    created = await client.post("/api/v1/users", json=lea())
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"] == f"/api/v1/users/{body['id']}"
    assert {k: body[k] for k in ("email", "name", "role", "locations", "channel", "active", "last_login_at")} == {
        "email": "lea.martin@example.test", "name": "Léa Martin", "role": "store_associate",
        "locations": ["LYO-PDI"], "channel": None, "active": True, "last_login_at": None}
    assert "password" not in created.text and PASSWORD not in created.text
    assert (await client.get(f"/api/v1/users/{body['id']}")).json() == body
    assert (await sign_in(anonymous, "lea.martin@example.test")).status_code == 200
    [event] = [e for e in await rows(db, OutboxEvent) if e.type == "user.created"]
    assert event.data == {"id": body["id"], "role": "store_associate", "locations": ["LYO-PDI"], "channel": None,
                          "active": True}  # staff e-mails and names stay out of the event feed


@pytest.mark.parametrize(("changes", "status"), [
    ({"password": "short pass"}, 422),  # under 12 characters
    ({"locations": []}, 422),  # a store role with no store
    ({"locations": ["NOPE-01"]}, 422),  # no such store
    ({"role": "analyst"}, 422),  # an analyst is hub-wide: no locations
    ({"role": "integration", "locations": [], "channel": None}, 422),
    ({"role": "integration", "locations": [], "channel": "tiktok"}, 422),  # no such channel
    ({"role": "overlord"}, 422),
    ({"email": "not-an-email"}, 422),
    ({"superuser": True}, 422),  # unknown field
])
async def test_a_user_that_cannot_work_is_refused_and_nothing_is_written(client, db, changes, status):
    before = await access_state(db)
    assert is_problem(await client.post("/api/v1/users", json=lea(**changes)), status)
    assert await access_state(db) == before


async def test_one_email_one_user_whatever_its_case(client, db):
    assert (await client.post("/api/v1/users", json=lea())).status_code == 201
    before = await access_state(db)
    assert is_problem(await client.post("/api/v1/users", json=lea(email="LEA.MARTIN@EXAMPLE.TEST")), 409)
    assert await access_state(db) == before


async def test_only_admins_manage_users(client, anonymous, key_for, db):
    user = (await client.post("/api/v1/users", json=lea())).json()
    manager = await key_for(Role.STORE_MANAGER, locations=["LYO-PDI"])
    lea_token = bearer(await token_of(anonymous, "lea.martin@example.test"))
    before = await access_state(db)
    for headers in (manager, lea_token, await key_for(Role.HEAD_OFFICE)):
        assert is_problem(await client.get("/api/v1/users", headers=headers), 403)
        assert is_problem(await client.post("/api/v1/users", json=lea(email="x@example.test"), headers=headers), 403)
        assert is_problem(await client.patch(f"/api/v1/users/{user['id']}", json={"role": "admin"},
                                             headers=headers), 403)
        assert is_problem(await client.post(f"/api/v1/users/{user['id']}/deactivate", headers=headers), 403)
        assert is_problem(await client.post("/api/v1/api-keys", json={"name": "x", "role": "admin"},
                                            headers=headers), 403)
    assert await access_state(db) == before


async def test_users_are_listed_by_page_and_filtered(client):
    ids = [(await client.post("/api/v1/users", json=lea(email=f"u{n}@example.test"))).json()["id"] for n in range(3)]
    await client.post("/api/v1/users", json=lea(email="ana@example.test", role="analyst", locations=[]))
    first = (await client.get("/api/v1/users", params={"limit": 2})).json()
    second = (await client.get("/api/v1/users", params={"limit": 2, "cursor": first["next"]})).json()
    assert len(first["items"]) == 2 and second["next"] is None
    assert len({u["id"] for u in first["items"] + second["items"]}) == 4
    associates = (await client.get("/api/v1/users", params={"role": "store_associate"})).json()["items"]
    assert sorted(u["id"] for u in associates) == sorted(ids)
    await client.post(f"/api/v1/users/{ids[0]}/deactivate")
    active = (await client.get("/api/v1/users", params={"active": "false"})).json()["items"]
    assert [u["id"] for u in active] == [ids[0]]


async def test_a_new_role_or_scope_signs_the_user_out_but_a_new_name_does_not(client, anonymous):
    user = (await client.post("/api/v1/users", json=lea())).json()
    token = bearer(await token_of(anonymous, "lea.martin@example.test"))
    renamed = await client.patch(f"/api/v1/users/{user['id']}", json={"name": "Léa M."})
    assert renamed.json()["name"] == "Léa M."
    assert (await anonymous.get("/api/v1/auth/me", headers=token)).status_code == 200
    moved = await client.patch(f"/api/v1/users/{user['id']}", json={"locations": ["PAR-RIV", "LYO-PDI"]})
    assert moved.json()["locations"] == ["LYO-PDI", "PAR-RIV"]
    assert is_problem(await anonymous.get("/api/v1/auth/me", headers=token), 401)
    token = bearer(await token_of(anonymous, "lea.martin@example.test"))
    promoted = await client.patch(f"/api/v1/users/{user['id']}", json={"role": "analyst"})
    assert (promoted.json()["role"], promoted.json()["locations"]) == ("analyst", [])
    assert is_problem(await anonymous.get("/api/v1/auth/me", headers=token), 401)
    me = (await anonymous.get("/api/v1/auth/me",
                              headers=bearer(await token_of(anonymous, "lea.martin@example.test")))).json()
    assert me["role"] == "analyst"


async def test_a_new_password_replaces_the_old_one(client, anonymous):
    user = (await client.post("/api/v1/users", json=lea())).json()
    assert is_problem(await client.patch(f"/api/v1/users/{user['id']}", json={"password": "too short"}), 422)
    changed = await client.patch(f"/api/v1/users/{user['id']}", json={"password": "a brand new secret"})
    assert changed.status_code == 200
    assert is_problem(await sign_in(anonymous, "lea.martin@example.test"), 401)
    assert (await sign_in(anonymous, "lea.martin@example.test", "a brand new secret")).status_code == 200


async def test_unknown_users_are_404(client):
    assert is_problem(await client.get("/api/v1/users/usr_nope"), 404)
    assert is_problem(await client.patch("/api/v1/users/usr_nope", json={"name": "x"}), 404)
    assert is_problem(await client.post("/api/v1/users/usr_nope/deactivate"), 404)


# --- API keys with a scope --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "scope"), [
    ({"role": "store_associate", "locations": ["LYO-PDI"]}, (["LYO-PDI"], None)),
    ({"role": "store_manager", "locations": ["PAR-RIV", "LYO-PDI", "PAR-RIV"]}, (["LYO-PDI", "PAR-RIV"], None)),
    ({"role": "integration", "channel": "app"}, ([], "app")),
    ({"role": "analyst"}, ([], None)),
])
async def test_keys_carry_their_scope_into_every_request(client, anonymous, body, scope):
    issued = await client.post("/api/v1/api-keys", json={"name": "till", **body})
    assert issued.status_code == 201, issued.text
    assert (issued.json()["locations"], issued.json()["channel"]) == scope
    me = (await anonymous.get("/api/v1/auth/me", headers=bearer(issued.json()["token"]))).json()
    assert (me["kind"], me["locations"], me["channel"]) == ("api_key", *scope)
    listed = (await client.get("/api/v1/api-keys")).json()["items"]
    assert [(k["locations"], k["channel"]) for k in listed] == [scope]


@pytest.mark.parametrize("body", [
    {"role": "store_associate"}, {"role": "store_associate", "locations": ["NOPE-01"]},
    {"role": "integration"}, {"role": "integration", "channel": "nope"}, {"role": "admin", "channel": "web"},
    {"role": "head_office", "locations": ["LYO-PDI"]}, {"role": "integration", "channel": "web", "extra": 1},
])
async def test_a_key_whose_scope_does_not_fit_is_refused(client, db, body):
    before = await rows(db, OutboxEvent), (await client.get("/api/v1/api-keys")).json()
    assert is_problem(await client.post("/api/v1/api-keys", json={"name": "till", **body}), 422)
    assert (await rows(db, OutboxEvent), (await client.get("/api/v1/api-keys")).json()) == before
