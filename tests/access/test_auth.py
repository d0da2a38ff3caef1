"""Signing in and out, session tokens, and the tokens that must be refused: missing, wrong, expired, revoked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from omnicanal.access.models import LoginFailure, User, UserSession
from omnicanal.access.rules import Role
from omnicanal.kit.clock import utcnow
from tests.access.factories import PASSWORD, bearer, is_problem, make_user, rows, sign_in, token_of
from tests.factories import make_network


@pytest.fixture
async def lea(db):
    await make_network(db)
    return await make_user(db)


async def test_a_user_signs_in_and_the_token_speaks_for_them(anonymous, lea, db, settings):
    before = utcnow()
    response = await sign_in(anonymous, "  Lea.Martin@Example.TEST ", PASSWORD)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token"].startswith("oms_") and body["token_type"] == "bearer"
    assert body["user"]["email"] == "lea.martin@example.test" and "password" not in str(body["user"])
    expires = body["expires_at"]
    me = (await anonymous.get("/api/v1/auth/me", headers=bearer(body["token"]))).json()
    assert me == {"id": lea, "kind": "user", "name": "lea.martin", "role": "store_associate",
                  "locations": ["LYO-PDI"], "channel": None, "permissions": me["permissions"], "expires_at": expires}
    assert "customers:read" in me["permissions"] and "admin" not in me["permissions"]
    [stored] = await rows(db, UserSession)
    assert stored.expires_at - stored.created_at == timedelta(hours=settings.session_hours)
    assert body["token"].split(".", 1)[1] not in stored.secret_hash  # only a hash is kept
    [user] = await rows(db, User)
    assert user.last_login_at is not None and user.last_login_at >= before
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash


async def test_a_wrong_password_or_an_unknown_email_is_refused_alike_and_counted(anonymous, lea, db):
    wrong = await sign_in(anonymous, password="not the password")
    unknown = await sign_in(anonymous, email="nobody@example.test")
    assert is_problem(wrong, 401) and is_problem(unknown, 401)
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert await rows(db, UserSession) == []
    assert len(await rows(db, LoginFailure)) == 2


async def test_five_failures_for_an_email_hold_even_the_right_password_back(anonymous, lea, db, settings):
    for _ in range(settings.login_failures_per_email):
        assert is_problem(await sign_in(anonymous, password="guess guess guess"), 401)
    throttled = await sign_in(anonymous, password=PASSWORD)
    assert is_problem(throttled, 429)
    retry_after = int(throttled.headers["retry-after"])
    assert 0 < retry_after <= settings.login_failure_window_minutes * 60 + 1
    assert throttled.json()["retry_after"] == retry_after
    assert await rows(db, UserSession) == []
    assert len(await rows(db, LoginFailure)) == settings.login_failures_per_email  # a throttled try is not a guess
    await make_user(db, "hugo@example.test")
    assert (await sign_in(anonymous, "hugo@example.test")).status_code == 200  # other people are not locked out


async def test_failures_from_one_address_are_throttled_whatever_the_emails(anonymous, lea, db, settings):
    for n in range(settings.login_failures_per_client):
        assert (await sign_in(anonymous, email=f"guess{n}@example.test")).status_code == 401
    assert is_problem(await sign_in(anonymous), 429)  # even a real user's right password, from this address
    assert await rows(db, UserSession) == []


async def test_failures_older_than_the_window_are_forgotten(anonymous, lea, db, settings):
    for _ in range(settings.login_failures_per_email):
        await sign_in(anonymous, password="guess guess guess")
    async with db.writer() as session:
        await session.execute(update(LoginFailure).values(
            at=utcnow() - timedelta(minutes=settings.login_failure_window_minutes, seconds=1)))
        await session.commit()
    assert (await sign_in(anonymous)).status_code == 200
    assert await rows(db, LoginFailure) == []  # a success clears the e-mail's failures


async def test_a_session_past_its_expiry_is_refused(anonymous, lea, db):
    token = await token_of(anonymous)
    assert (await anonymous.get("/api/v1/auth/me", headers=bearer(token))).status_code == 200
    async with db.writer() as session:
        await session.execute(update(UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    assert is_problem(await anonymous.get("/api/v1/auth/me", headers=bearer(token)), 401)
    assert is_problem(await anonymous.get("/api/v1/orders", headers=bearer(token)), 401)


async def test_signing_out_ends_the_session_but_not_the_others(anonymous, lea):
    first, second = await token_of(anonymous), await token_of(anonymous)
    assert (await anonymous.post("/api/v1/auth/logout", headers=bearer(first))).status_code == 204
    assert is_problem(await anonymous.get("/api/v1/auth/me", headers=bearer(first)), 401)
    assert is_problem(await anonymous.post("/api/v1/auth/logout", headers=bearer(first)), 401)
    assert (await anonymous.get("/api/v1/auth/me", headers=bearer(second))).status_code == 200


async def test_an_api_key_cannot_sign_out(client, key_for, lea):
    analyst = await key_for(Role.ANALYST)
    assert is_problem(await client.post("/api/v1/auth/logout", headers=analyst), 422)
    assert (await client.get("/api/v1/auth/me", headers=analyst)).json()["kind"] == "api_key"


@pytest.mark.parametrize("header", [
    None, "Bearer", "Bearer nonsense", "Bearer omk_key_x.nope", "Bearer oms_ses_x.nope", "Basic dXNlcjpwYXNz",
    "Bearer test-admin-tokenX",
])
async def test_missing_or_wrong_tokens_are_401(anonymous, lea, header):
    headers = {"Authorization": header} if header else {}
    for path in ("/api/v1/auth/me", "/api/v1/orders", "/api/v1/products"):
        response = await anonymous.get(path, headers=headers)
        assert is_problem(response, 401) and response.headers["www-authenticate"] == "Bearer"


async def test_a_session_token_with_a_tampered_secret_is_401(anonymous, lea):
    token = await token_of(anonymous)
    session_id, secret = token.split(".", 1)
    assert is_problem(await anonymous.get("/api/v1/auth/me", headers=bearer(f"{session_id}.{secret[:-1]}x")), 401)
    assert is_problem(await anonymous.get("/api/v1/auth/me", headers=bearer(session_id)), 401)


async def test_a_revoked_api_key_is_401(client, anonymous, key_for):
    headers = await key_for(Role.ANALYST)
    key_id = (await client.get("/api/v1/auth/me", headers=headers)).json()["id"]
    assert (await client.delete(f"/api/v1/api-keys/{key_id}")).status_code == 204
    assert is_problem(await anonymous.get("/api/v1/products", headers=headers), 401)


async def test_a_deactivated_user_is_signed_out_and_cannot_sign_in(client, anonymous, lea):
    token = await token_of(anonymous)
    assert (await client.post(f"/api/v1/users/{lea}/deactivate")).json()["active"] is False
    assert is_problem(await anonymous.get("/api/v1/auth/me", headers=bearer(token)), 401)
    assert is_problem(await sign_in(anonymous), 401)


async def test_the_admin_token_still_works_for_automation(client):
    me = (await client.get("/api/v1/auth/me")).json()
    assert (me["kind"], me["role"], me["expires_at"]) == ("admin_token", "admin", None)
    assert set(me["permissions"]) >= {"admin", "privacy", "customers:read"}


@pytest.mark.parametrize("body", [{"email": "lea.martin@example.test"}, {"password": PASSWORD},
                                  {"email": "lea.martin@example.test", "password": PASSWORD, "remember": True},
                                  {"email": "", "password": PASSWORD}])
async def test_a_malformed_sign_in_is_422_and_opens_nothing(anonymous, lea, db, body):
    assert is_problem(await anonymous.post("/api/v1/auth/login", json=body), 422)
    assert await rows(db, UserSession) == [] and await rows(db, LoginFailure) == []


async def test_housekeeping_forgets_old_failures_and_long_ended_sessions(anonymous, lea, db, settings):
    from omnicanal.access.signin import forget_old_sign_in_records

    live, ended = await token_of(anonymous), await token_of(anonymous)
    await anonymous.post("/api/v1/auth/logout", headers=bearer(ended))
    await sign_in(anonymous, password="guess guess guess")
    async with db.writer() as session:
        await session.execute(update(UserSession).where(UserSession.revoked_at.is_not(None))
                              .values(revoked_at=utcnow() - timedelta(days=2)))
        await session.execute(update(LoginFailure).values(at=utcnow() - timedelta(days=1)))
        assert await forget_old_sign_in_records(session, now=utcnow(), settings=settings) == 2
        await session.commit()
    assert await rows(db, LoginFailure) == []
    assert [s.id for s in await rows(db, UserSession)] == [live.split(".")[0].removeprefix("oms_")]
    assert (await anonymous.get("/api/v1/auth/me", headers=bearer(live))).status_code == 200
