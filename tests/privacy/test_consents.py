"""Consent per purpose: every grant and withdrawal kept, the choice in force answered, the policy served."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from omnicanal.access.rules import Role
from omnicanal.events.models import OutboxEvent
from omnicanal.privacy.consent import customers_who_may, may_we
from omnicanal.privacy.models import Consent
from tests.customers.support import LYON, consent, create, events_of, is_problem, make_shop, table_rows


@pytest.fixture
async def customer(client, db):
    await make_shop(db)
    return await create(client)


async def test_every_grant_and_withdrawal_is_kept_and_the_latest_decides(client, db, customer):
    url = f"/api/v1/customers/{customer['id']}/consents"
    await consent(client, customer["id"], "marketing_email", at="2026-02-01T09:00:00Z", source="checkout checkbox")
    await consent(client, customer["id"], "marketing_sms", at="2026-02-01T09:00:00Z")
    answer = await consent(client, customer["id"], "marketing_email", granted=False, channel="pos",
                           at="2026-03-01T09:00:00+01:00", policy_version="2025-06")
    body = answer.json()
    assert body == (await client.get(url)).json()
    current = {c["purpose"]: (c["granted"], c["since"]) for c in body["current"]}
    assert current == {"marketing_email": (False, "2026-03-01T08:00:00Z"),
                       "marketing_sms": (True, "2026-02-01T09:00:00Z"), "app_push": (False, None),
                       "personalization": (False, None), "in_store_tracking": (False, None), "profiling": (False, None)}
    assert [(h["purpose"], h["granted"], h["channel"], h["policy_version"], h["source"]) for h in body["history"]] == [
        ("marketing_email", False, "pos", "2025-06", None),
        ("marketing_sms", True, "web", "2026-01", None),  # the version in force by default
        ("marketing_email", True, "web", "2026-01", "checkout checkbox")]
    assert all(h["recorded_by"] == "admin-token" for h in body["history"])
    events = await events_of(db, "consent.granted", "consent.withdrawn")
    assert [(t, d["purpose"]) for t, _, d in events] == [("consent.granted", "marketing_email"),
                                                        ("consent.granted", "marketing_sms"),
                                                        ("consent.withdrawn", "marketing_email")]
    async with db.reader() as session:
        assert not await may_we(session, customer["id"], "marketing_email")
        assert await may_we(session, customer["id"], "marketing_email", at=datetime(2026, 2, 15, tzinfo=UTC))
        assert await may_we(session, customer["id"], "marketing_sms")
        assert not await may_we(session, customer["id"], "profiling")
        assert not await may_we(session, "cus_nobody", "marketing_sms")
        other = await create(client, email="other@example.fr", phone=None, identifiers=[])
        assert await customers_who_may(session, [customer["id"], other["id"], "cus_nobody"], "marketing_sms") == {
            customer["id"]}


@pytest.mark.parametrize("body", [
    pytest.param({"purpose": "telepathy", "granted": True, "channel": "web"}, id="unknown purpose"),
    pytest.param({"purpose": "marketing_email", "channel": "web"}, id="granted missing"),
    pytest.param({"purpose": "marketing_email", "granted": "maybe", "channel": "web"}, id="granted not a boolean"),
    pytest.param({"purpose": "marketing_email", "granted": True}, id="channel missing"),
    pytest.param({"purpose": "marketing_email", "granted": True, "channel": "fax"}, id="unknown channel"),
    pytest.param({"purpose": "marketing_email", "granted": True, "channel": "web", "at": "2999-01-01T00:00:00Z"},
                 id="in the future"),
    pytest.param({"purpose": "marketing_email", "granted": True, "channel": "web", "at": "2026-01-01T00:00:00"},
                 id="time without timezone"),
    pytest.param({"purpose": "marketing_email", "granted": True, "channel": "web", "policy_version": ""},
                 id="blank policy version"),
    pytest.param({"purpose": "marketing_email", "granted": True, "channel": "web", "by": "me"}, id="unknown field"),
])
async def test_a_bad_consent_is_refused_and_nothing_is_recorded(client, db, customer, body):
    assert is_problem(await client.post(f"/api/v1/customers/{customer['id']}/consents", json=body), 422)
    assert await table_rows(db, Consent) == []
    async with db.reader() as session:
        assert not (await session.scalars(select(OutboxEvent).where(OutboxEvent.type.like("consent.%")))).all()


async def test_consents_of_an_unknown_customer_are_404(client, customer):
    assert is_problem(await client.get("/api/v1/customers/cus_nobody/consents"), 404)
    assert is_problem(await client.post("/api/v1/customers/cus_nobody/consents",
                                        json={"purpose": "app_push", "granted": True, "channel": "app"}), 404)


async def test_consents_are_read_and_recorded_by_those_who_may_see_the_customer(client, db, customer, key_for):
    url = f"/api/v1/customers/{customer['id']}/consents"
    body = {"purpose": "app_push", "granted": True, "channel": "app"}
    for headers in (await key_for(Role.ANALYST), await key_for(Role.HEAD_OFFICE),
                    await key_for(Role.STORE_ASSOCIATE, locations=["PAR-RIV"])):
        assert is_problem(await client.get(url, headers=headers), 403)
        assert is_problem(await client.post(url, json=body, headers=headers), 403)
    assert await table_rows(db, Consent) == []
    lyon = await key_for(Role.STORE_ASSOCIATE, locations=[LYON])
    assert (await client.post(url, json=body, headers=lyon)).status_code == 201
    [row] = await table_rows(db, Consent)
    assert row.recorded_by != "admin-token" and row.recorded_by.startswith("key_")


async def test_the_privacy_policy_is_public_with_its_version(anonymous, client, settings):
    answer = await anonymous.get("/api/v1/privacy-policy")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["version"] == settings.privacy_policy_version == "2026-01"
    assert body["controller"] == settings.retailer_name and body["format"] == "text/markdown"
    assert body["text"].startswith(f"# Privacy policy — {settings.retailer_name}")
    assert "in_store_tracking" in body["text"] and "3 years" in body["text"] and "{" not in body["text"]
