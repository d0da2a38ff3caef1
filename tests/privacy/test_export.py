"""The right of access: one JSON document with everything held on a person, from every table."""

import json

from omnicanal.access.rules import Role
from omnicanal.privacy.models import PrivacyRequest
from omnicanal.privacy.registry import HOLDINGS
from tests.customers.support import is_problem, table_rows


async def test_the_export_holds_every_table_about_the_person_and_nothing_about_others(client, db, everywhere):
    gwen, older, older_order, order, returned, bob, bob_order = everywhere
    answer = await client.get(f"/api/v1/customers/{gwen['id']}/export")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"] == f'attachment; filename="{gwen["id"]}.json"'
    export = answer.json()
    assert export["customer_id"] == gwen["id"] and export["also_known_as"] == [older["id"]]
    tables = {h["table"]: h["rows"] for h in export["holdings"]}
    assert set(tables) == {h.table for h in HOLDINGS if h.exported}
    assert all(h["holds"] for h in export["holdings"])
    for name in ("customer", "customer_identifier", "customer_activity", "customer_merge", "consent", "order",
                 "order_line", "order_return", "order_return_line", "privacy_request", "audit_entry", "outbox_event"):
        assert tables[name], f"nothing exported from {name}"
    [profile] = tables["customer"]
    assert (profile["email"], profile["last_name"], profile["phone"]) == ("gwen.kerbrat@example.fr", "Kerbrat",
                                                                          "+33698765432")
    assert profile["address"]["postal_code"] == "69001" and profile["birth_date"] == "1986-02-17"
    assert {i["value"] for i in tables["customer_identifier"]} == {
        "gwen.kerbrat@example.fr", "+33698765432", "ios-77", "gwen.k@free.fr"}
    assert {o["id"] for o in tables["order"]} == {order["id"], older_order["id"]}
    assert {line["order_id"] for line in tables["order_line"]} == {order["id"], older_order["id"]}
    assert [r["id"] for r in tables["order_return"]] == [returned["id"]]
    assert [a["search"] for a in tables["customer_activity"]] == ["suspension laiton"]
    assert [r["kind"] for r in tables["privacy_request"]] == ["rectification"]
    assert {e["type"] for e in tables["outbox_event"]} >= {"customer.created", "customer.merged", "order.created",
                                                          "consent.granted", "customer.updated"}
    text = json.dumps(export)
    assert bob["id"] not in text and bob_order["id"] not in text and "bob@example.fr" not in text


async def test_an_export_is_recorded_as_an_access_request(client, db, everywhere):
    gwen = everywhere[0]
    export = (await client.get(f"/api/v1/customers/{gwen['id']}/export")).json()
    requests = (await client.get("/api/v1/privacy-requests", params={"customer": gwen["id"]})).json()["items"]
    assert [(r["kind"], r["id"]) for r in requests] == [("access", export["request_id"]),
                                                       ("rectification", requests[1]["id"])]
    assert requests[0]["requested_by"] == "admin-token" and requests[0]["details"]["tables"]["order"] == 2
    assert requests[1]["details"] == {"changed": ["last_name"]}
    only = (await client.get("/api/v1/privacy-requests", params={"kind": "access"})).json()["items"]
    assert [r["id"] for r in only] == [export["request_id"]]
    assert is_problem(await client.get("/api/v1/privacy-requests", params={"kind": "gossip"}), 422)


async def test_only_the_privacy_officer_exports_and_an_unknown_customer_is_404(client, db, everywhere, key_for):
    gwen = everywhere[0]
    url = f"/api/v1/customers/{gwen['id']}/export"
    for role in (Role.STORE_MANAGER, Role.STORE_ASSOCIATE, Role.ANALYST, Role.HEAD_OFFICE, Role.INTEGRATION):
        assert is_problem(await client.get(url, headers=await key_for(role)), 403)
        assert is_problem(await client.get("/api/v1/privacy-requests", headers=await key_for(role)), 403)
    assert is_problem(await client.get("/api/v1/customers/cus_nobody/export"), 404)
    assert [r.kind for r in await table_rows(db, PrivacyRequest)] == ["rectification"]


async def test_an_id_no_customer_could_have_is_404_not_a_crash(client):
    response = await client.get("/api/v1/customers/%C2%A3%F1%9D%B7%B1yo/export")  # not latin-1: no header fits it
    assert response.status_code == 404 and response.json()["status"] == 404
