from datetime import UTC, datetime, timedelta

import pytest

from omnicanal.access.rules import Role
from omnicanal.kit.clock import utcnow
from tests.catalog.factories import make_channels

PROBLEM = "application/problem+json"
NOW = utcnow().replace(microsecond=0)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def product_body(sku: str = "LAMP-1", amount: int = 1999, **fields) -> dict:
    return {"sku": sku, "name": f"Article {sku}", "price": {"amount": amount, "currency": "EUR"}, **fields}


async def created(client, path: str, body: dict) -> dict:
    response = await client.post(path, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def all_items(client, path: str, **params) -> list[dict]:
    response = await client.get(path, params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def event_types(client, *types: str) -> list[str]:
    response = await client.get("/api/v1/events", params={"type": list(types), "limit": 500})
    assert response.status_code == 200, response.text
    return [(e["type"], e["subject"]) for e in response.json()["items"]]


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    return response.json()


@pytest.fixture
async def shop(client, db):
    """Channels web, app, pos (and an inactive 'social'); categories home > home.lighting; two products."""
    await make_channels(db, "web", "app", "pos", inactive=("social",))
    await created(client, "/api/v1/categories", {"code": "home", "name": "Home"})
    await created(client, "/api/v1/categories", {"code": "home.lighting", "name": "Lighting", "parent": "home"})
    await created(client, "/api/v1/products", product_body("LAMP-1", 10_000, category="home.lighting"))
    await created(client, "/api/v1/products", product_body("VASE-1", 2_000, category="home"))


# ---------------------------------------------------------------- products


async def test_a_product_is_created_read_and_announced(client, db):
    body = product_body("LAMP-ARC-01", 24_900, description="Brass arc lamp", attributes={"colour": "brass"},
                        image_urls=["https://cdn.example.com/lamp.jpg"])
    product = await created(client, "/api/v1/products", body)
    assert product["price"] == {"amount": 24_900, "currency": "EUR"}
    assert (product["active"], product["category"], product["attributes"]) == (True, None, {"colour": "brass"})
    assert product["image_urls"] == ["https://cdn.example.com/lamp.jpg"]
    read = await client.get("/api/v1/products/LAMP-ARC-01")
    assert read.status_code == 200 and read.json() == product
    assert await event_types(client, "product.created") == [("product.created", "LAMP-ARC-01")]


async def test_an_unknown_product_is_a_404_problem(client):
    problem = assert_problem(await client.get("/api/v1/products/NOPE"), 404)
    assert "NOPE" in problem["detail"]


@pytest.mark.parametrize(("body", "status"), [
    (product_body("bad sku"), 422),
    (product_body("-LEADING-DASH"), 422),
    (product_body("X" * 65), 422),
    (product_body("LAMP-9", -1), 422),
    (product_body("LAMP-9", price={"amount": 100, "currency": "USD"}), 422),
    (product_body("LAMP-9", price={"amount": 100, "currency": "eur"}), 422),
    (product_body("LAMP-9", category="nowhere"), 422),
    (product_body("LAMP-9", image_urls=["not a url"]), 422),
    (product_body("LAMP-9", colour="red"), 422),
    (product_body("LAMP-9", name=""), 422),
    ({"sku": "LAMP-9", "name": "No price"}, 422),
    (product_body("LAMP-1", 5), 409),
])
async def test_a_bad_product_is_refused_and_nothing_changes(client, shop, body, status):
    before = await all_items(client, "/api/v1/products")
    assert_problem(await client.post("/api/v1/products", json=body), status)
    assert await all_items(client, "/api/v1/products") == before
    assert len(await event_types(client, "product.created")) == 2


async def test_a_product_is_changed_partially(client, shop):
    response = await client.patch("/api/v1/products/LAMP-1", json={
        "name": "Arc lamp", "price": {"amount": 9_500, "currency": "EUR"}, "category": None, "active": False})
    assert response.status_code == 200, response.text
    lamp = response.json()
    assert (lamp["name"], lamp["price"]["amount"], lamp["category"], lamp["active"]) == ("Arc lamp", 9_500, None,
                                                                                          False)
    assert lamp["description"] == "" and lamp["updated_at"] > lamp["created_at"]
    assert (await client.get("/api/v1/products/LAMP-1")).json() == lamp
    assert await event_types(client, "product.updated", "price.changed") == [
        ("product.updated", "LAMP-1"), ("price.changed", "LAMP-1")]


@pytest.mark.parametrize(("body", "status"), [
    ({"name": None}, 422), ({"price": {"amount": 100, "currency": "USD"}}, 422), ({"category": "nowhere"}, 422),
    ({"active": "maybe"}, 422), ({"sku": "OTHER"}, 422), ({"image_urls": ["ftp://old"]}, 422),
])
async def test_a_bad_change_is_refused_and_the_product_unchanged(client, shop, body, status):
    before = (await client.get("/api/v1/products/LAMP-1")).json()
    assert_problem(await client.patch("/api/v1/products/LAMP-1", json=body), status)
    assert (await client.get("/api/v1/products/LAMP-1")).json() == before
    assert await event_types(client, "product.updated") == []


async def test_changing_an_unknown_product_is_a_404(client, shop):
    assert_problem(await client.patch("/api/v1/products/NOPE", json={"name": "x"}), 404)


async def test_products_are_filtered_by_category_with_its_descendants_state_and_text(client, shop):
    await created(client, "/api/v1/categories", {"code": "garden", "name": "Garden"})
    await created(client, "/api/v1/products", product_body("SPADE-1", category="garden", name="Steel spade"))
    await created(client, "/api/v1/products", product_body("LAMP-2", category="home.lighting", active=False))

    async def skus(**params) -> list[str]:
        return [p["sku"] for p in await all_items(client, "/api/v1/products", **params)]

    assert await skus(category="home") == ["LAMP-1", "LAMP-2", "VASE-1"]
    assert await skus(category="home.lighting") == ["LAMP-1", "LAMP-2"]
    assert await skus(category="home", active="false") == ["LAMP-2"]
    assert await skus(active="true") == ["LAMP-1", "SPADE-1", "VASE-1"]
    assert await skus(q="lamp") == ["LAMP-1", "LAMP-2"]
    assert await skus(q="STEEL") == ["SPADE-1"]
    assert await skus(q="%") == []
    assert_problem(await client.get("/api/v1/products", params={"category": "nowhere"}), 422)


async def test_products_are_paginated_by_sku(client, shop):
    for n in range(5):
        await created(client, "/api/v1/products", product_body(f"MUG-{n}"))
    seen, cursor = [], None
    while True:
        response = await client.get("/api/v1/products", params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        page = response.json()
        assert len(page["items"]) <= 2
        seen += [p["sku"] for p in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == sorted(seen) == ["LAMP-1", "MUG-0", "MUG-1", "MUG-2", "MUG-3", "MUG-4", "VASE-1"]
    assert_problem(await client.get("/api/v1/products", params={"cursor": "garbage!"}), 422)
    assert_problem(await client.get("/api/v1/products", params={"limit": 0}), 422)


async def test_a_replayed_post_creates_one_product_and_a_reused_key_is_refused(client):
    headers = {"Idempotency-Key": "till-7-sale-42"}
    first = await client.post("/api/v1/products", json=product_body("MUG-1"), headers=headers)
    again = await client.post("/api/v1/products", json=product_body("MUG-1"), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    other = await client.post("/api/v1/products", json=product_body("MUG-2"), headers=headers)
    assert_problem(other, 422)
    assert [p["sku"] for p in await all_items(client, "/api/v1/products")] == ["MUG-1"]
    assert len(await event_types(client, "product.created")) == 1


# ---------------------------------------------------------------- categories


async def test_categories_are_created_listed_read_and_changed(client, shop):
    await created(client, "/api/v1/categories", {"code": "home.lighting.lamps", "name": "Lamps",
                                                 "parent": "home.lighting"})
    page = (await client.get("/api/v1/categories", params={"limit": 2})).json()
    assert [c["code"] for c in page["items"]] == ["home", "home.lighting"]
    rest = (await client.get("/api/v1/categories", params={"cursor": page["next"]})).json()
    assert [c["code"] for c in rest["items"]] == ["home.lighting.lamps"] and rest["next"] is None
    renamed = await client.patch("/api/v1/categories/home.lighting", json={"name": "Lights"})
    assert renamed.json() == {"code": "home.lighting", "name": "Lights", "parent": "home"}
    moved = await client.patch("/api/v1/categories/home.lighting.lamps", json={"parent": "home"})
    assert moved.json()["parent"] == "home"
    assert (await client.get("/api/v1/categories/home.lighting.lamps")).json()["parent"] == "home"
    assert await event_types(client, "category.updated") == [("category.updated", "home.lighting"),
                                                            ("category.updated", "home.lighting.lamps")]


@pytest.mark.parametrize(("body", "status"), [
    ({"code": "home", "name": "Again"}, 409), ({"code": "toys", "name": "Toys", "parent": "nowhere"}, 422),
    ({"code": "bad code", "name": "x"}, 422), ({"code": "toys"}, 422), ({"code": "toys", "name": "T", "x": 1}, 422),
])
async def test_a_bad_category_is_refused(client, shop, body, status):
    before = await all_items(client, "/api/v1/categories")
    assert_problem(await client.post("/api/v1/categories", json=body), status)
    assert await all_items(client, "/api/v1/categories") == before


@pytest.mark.parametrize(("code", "body", "status"), [
    ("home", {"parent": "home.lighting"}, 422), ("home", {"parent": "home"}, 422),
    ("home", {"parent": "nowhere"}, 422), ("home", {"name": None}, 422), ("nowhere", {"name": "x"}, 404),
])
async def test_a_bad_category_change_is_refused(client, shop, code, body, status):
    before = await all_items(client, "/api/v1/categories")
    assert_problem(await client.patch(f"/api/v1/categories/{code}", json=body), status)
    assert await all_items(client, "/api/v1/categories") == before
    assert_problem(await client.get("/api/v1/categories/nowhere"), 404)


# ---------------------------------------------------------------- channel prices and quotes


async def test_a_channel_price_is_set_replaced_quoted_and_removed(client, shop):
    put = await client.put("/api/v1/products/LAMP-1/prices/web", json={"amount": 9_000})
    assert put.status_code == 200, put.text
    assert (put.json()["amount"], put.json()["reason"], put.json()["currency"]) == (9_000, None, "EUR")
    replaced = await client.put("/api/v1/products/LAMP-1/prices/web", json={"amount": 9_500, "reason": "web launch"})
    assert (replaced.json()["amount"], replaced.json()["reason"]) == (9_500, "web launch")
    quote = (await client.get("/api/v1/prices/LAMP-1", params={"channel": "web"})).json()
    assert (quote["list_price"], quote["price"], quote["source"], quote["override_reason"]) == (
        9_500, 9_500, "channel", "web launch")
    assert (await client.delete("/api/v1/products/LAMP-1/prices/web")).status_code == 204
    back = (await client.get("/api/v1/prices/LAMP-1", params={"channel": "web"})).json()
    assert (back["price"], back["source"]) == (10_000, "base")
    assert_problem(await client.delete("/api/v1/products/LAMP-1/prices/web"), 404)
    changes = await client.get("/api/v1/events", params={"type": "price.changed"})
    assert [(e["data"]["amount"], e["data"]["removed"]) for e in changes.json()["items"]] == [
        (9_000, False), (9_500, False), (None, True)]


async def test_a_channel_price_counts_only_inside_its_window(client, shop):
    window = {"valid_from": iso(NOW + timedelta(days=1)), "valid_until": iso(NOW + timedelta(days=2))}
    assert (await client.put("/api/v1/products/VASE-1/prices/pos", json={"amount": 1_500, **window})).status_code == 200
    now = (await client.get("/api/v1/prices/VASE-1", params={"channel": "pos"})).json()
    inside = (await client.get("/api/v1/prices/VASE-1", params={
        "channel": "pos", "at": iso(NOW + timedelta(days=1, hours=1))})).json()
    assert (now["price"], inside["price"]) == (2_000, 1_500)


@pytest.mark.parametrize(("path", "body", "status"), [
    ("/api/v1/products/LAMP-1/prices/nowhere", {"amount": 100}, 422),
    ("/api/v1/products/NOPE/prices/web", {"amount": 100}, 404),
    ("/api/v1/products/LAMP-1/prices/web", {"amount": -1}, 422),
    ("/api/v1/products/LAMP-1/prices/web", {"amount": 100, "reason": ""}, 422),
    ("/api/v1/products/LAMP-1/prices/web", {"amount": 100, "currency": "EUR"}, 422),
    ("/api/v1/products/LAMP-1/prices/web", {"amount": 100, "valid_from": iso(NOW),
                                            "valid_until": iso(NOW - timedelta(hours=1))}, 422),
    ("/api/v1/products/LAMP-1/prices/web", {"amount": 100, "valid_from": "2026-01-01T00:00:00"}, 422),
])
async def test_a_bad_channel_price_is_refused_and_prices_unchanged(client, shop, path, body, status):
    assert_problem(await client.put(path, json=body), status)
    quotes = await all_items(client, "/api/v1/products/LAMP-1/prices")
    assert {q["channel"]: q["price"] for q in quotes} == {"app": 10_000, "pos": 10_000, "web": 10_000}
    assert await event_types(client, "price.changed") == []


async def test_the_prices_of_a_product_cover_every_active_channel(client, shop):
    await client.put("/api/v1/products/VASE-1/prices/app", json={"amount": 1_800, "reason": "app launch"})
    first = (await client.get("/api/v1/products/VASE-1/prices", params={"limit": 2})).json()
    rest = (await client.get("/api/v1/products/VASE-1/prices", params={"cursor": first["next"]})).json()
    quotes = first["items"] + rest["items"]
    assert [(q["channel"], q["price"], q["source"]) for q in quotes] == [
        ("app", 1_800, "channel"), ("pos", 2_000, "base"), ("web", 2_000, "base")]
    assert rest["next"] is None
    assert_problem(await client.get("/api/v1/products/NOPE/prices"), 404)
    assert_problem(await client.get("/api/v1/products/VASE-1/prices", params={"at": "2026-01-01T00:00:00"}), 422)


async def test_a_quote_needs_a_known_channel_and_a_sellable_product(client, shop):
    await client.patch("/api/v1/products/VASE-1", json={"active": False})
    assert_problem(await client.get("/api/v1/prices/LAMP-1", params={"channel": "nowhere"}), 422)
    assert_problem(await client.get("/api/v1/prices/LAMP-1"), 422)
    assert_problem(await client.get("/api/v1/prices/NOPE", params={"channel": "web"}), 404)
    assert assert_problem(await client.get("/api/v1/prices/VASE-1", params={"channel": "web"}), 422)["skus"] == [
        "VASE-1"]


# ---------------------------------------------------------------- promotions


def promotion_body(**fields) -> dict:
    return {"name": "Summer online", "kind": "percent", "value": 20, "starts_at": iso(NOW - timedelta(hours=1)),
            "ends_at": iso(NOW + timedelta(days=7)), "channels": ["web"], "skus": [], "categories": ["home"],
            **fields}


async def test_a_promotion_lowers_the_price_in_its_scope_window_and_channels(client, shop):
    promotion = await created(client, "/api/v1/promotions", promotion_body())
    assert (promotion["kind"], promotion["value"], promotion["active"]) == ("percent", 20, True)
    assert (await client.get(f"/api/v1/promotions/{promotion['id']}")).json() == promotion
    web = (await client.get("/api/v1/prices/LAMP-1", params={"channel": "web"})).json()
    pos = (await client.get("/api/v1/prices/LAMP-1", params={"channel": "pos"})).json()
    after = (await client.get("/api/v1/prices/LAMP-1", params={"channel": "web",
                                                               "at": iso(NOW + timedelta(days=8))})).json()
    assert (web["price"], web["discount"], web["promotion_id"]) == (8_000, 2_000, promotion["id"])
    assert (pos["price"], pos["promotion_id"]) == (10_000, None)
    assert (after["price"], after["promotion_id"]) == (10_000, None)
    assert await event_types(client, "promotion.created") == [("promotion.created", promotion["id"])]


async def test_promotions_are_listed_by_moment_and_channel(client, shop):
    web = await created(client, "/api/v1/promotions", promotion_body())
    later = await created(client, "/api/v1/promotions", promotion_body(
        name="Winter", channels=[], starts_at=iso(NOW + timedelta(days=30)), ends_at=iso(NOW + timedelta(days=40))))
    till = await created(client, "/api/v1/promotions", promotion_body(name="Till", channels=["pos"]))

    async def ids(**params) -> list[str]:
        return [p["id"] for p in await all_items(client, "/api/v1/promotions", **params)]

    assert await ids() == sorted([web["id"], later["id"], till["id"]])
    assert await ids(active_at=iso(NOW)) == sorted([web["id"], till["id"]])
    assert await ids(active_at=iso(NOW + timedelta(days=31))) == [later["id"]]
    assert await ids(channel="pos") == sorted([later["id"], till["id"]])
    assert await ids(channel="pos", active_at=iso(NOW)) == [till["id"]]
    page = (await client.get("/api/v1/promotions", params={"limit": 2})).json()
    assert len(page["items"]) == 2 and page["next"]
    assert_problem(await client.get("/api/v1/promotions", params={"channel": "nowhere"}), 422)
    assert_problem(await client.get("/api/v1/promotions", params={"active_at": "yesterday"}), 422)


async def test_a_promotion_is_ended_or_withdrawn(client, shop):
    promotion = await created(client, "/api/v1/promotions", promotion_body())
    path = f"/api/v1/promotions/{promotion['id']}"
    ended = await client.patch(path, json={"ends_at": iso(NOW)})
    assert ended.status_code == 200, ended.text
    assert (await client.get("/api/v1/prices/LAMP-1", params={"channel": "web"})).json()["promotion_id"] is None
    await client.patch(path, json={"ends_at": iso(NOW + timedelta(days=1))})
    withdrawn = (await client.patch(path, json={"active": False})).json()
    assert withdrawn["active"] is False
    assert (await client.get("/api/v1/prices/LAMP-1", params={"channel": "web"})).json()["price"] == 10_000
    assert len(await event_types(client, "promotion.updated")) == 3


@pytest.mark.parametrize("fields", [
    {"value": 150}, {"value": 0}, {"kind": "bogof"}, {"ends_at": iso(NOW - timedelta(days=1))},
    {"channels": ["nowhere"]}, {"skus": ["NOPE-1"]}, {"categories": ["nowhere"]},
    {"starts_at": "2026-01-01T00:00:00"}, {"name": ""}, {"colour": "red"},
])
async def test_a_bad_promotion_is_refused_and_none_is_created(client, shop, fields):
    assert_problem(await client.post("/api/v1/promotions", json=promotion_body(**fields)), 422)
    assert await all_items(client, "/api/v1/promotions") == []
    assert await event_types(client, "promotion.created") == []


@pytest.mark.parametrize("changes", [
    {"kind": "percent"}, {"ends_at": iso(NOW - timedelta(days=2))}, {"channels": ["nowhere"]}, {"active": None},
    {"kind": "percent", "value": 101}, {"skus": ["NOPE"]},
])
async def test_a_bad_promotion_change_is_refused_and_the_promotion_unchanged(client, shop, changes):
    promotion = await created(client, "/api/v1/promotions", promotion_body(kind="amount", value=500))
    path = f"/api/v1/promotions/{promotion['id']}"
    assert_problem(await client.patch(path, json=changes), 422)
    assert (await client.get(path)).json() == promotion
    assert_problem(await client.patch("/api/v1/promotions/promo_nope", json={"active": False}), 404)
    assert_problem(await client.get("/api/v1/promotions/promo_nope"), 404)


# ---------------------------------------------------------------- the price audit


async def test_the_audit_reports_only_unexplained_differences(client, shop):
    for n in range(3):
        await created(client, "/api/v1/products", product_body(f"MUG-{n}", 1_000))
    await client.put("/api/v1/products/MUG-0/prices/pos", json={"amount": 900})  # nobody said why
    await client.put("/api/v1/products/MUG-1/prices/pos", json={"amount": 900, "reason": "store clearance"})
    await client.put("/api/v1/products/MUG-2/prices/app", json={"amount": 1_100})
    await client.put("/api/v1/products/VASE-1/prices/social", json={"amount": 1})  # inactive channel
    await created(client, "/api/v1/promotions", promotion_body())  # explains LAMP-1 and VASE-1 on the web
    first = (await client.get("/api/v1/prices/audit", params={"limit": 1})).json()
    assert first["items"] == [{"sku": "MUG-0", "base_price": 1_000, "prices": {"app": 1_000, "pos": 900, "web": 1_000},
                               "unexplained_channels": ["pos"]}]
    rest = (await client.get("/api/v1/prices/audit", params={"cursor": first["next"]})).json()
    assert [(d["sku"], d["unexplained_channels"]) for d in rest["items"]] == [("MUG-2", ["app"])]
    assert rest["next"] is None
    before = (await client.get("/api/v1/prices/audit", params={"at": iso(NOW - timedelta(days=30))})).json()
    assert [d["sku"] for d in before["items"]] == ["MUG-0", "MUG-2"]


# ---------------------------------------------------------------- permissions


async def test_reading_needs_catalog_read_and_writing_catalog_write(client, anonymous, key_for, shop):
    analyst = await key_for(Role.ANALYST)
    assert (await client.get("/api/v1/products", headers=analyst)).status_code == 200
    assert (await client.get("/api/v1/prices/audit", headers=analyst)).status_code == 200
    writes = [("post", "/api/v1/products", product_body("MUG-1")), ("patch", "/api/v1/products/LAMP-1", {"name": "x"}),
              ("put", "/api/v1/products/LAMP-1/prices/web", {"amount": 1}),
              ("post", "/api/v1/categories", {"code": "toys", "name": "Toys"}),
              ("post", "/api/v1/promotions", promotion_body())]
    for method, path, body in writes:
        assert_problem(await client.request(method, path, json=body, headers=analyst), 403)
        assert_problem(await anonymous.request(method, path, json=body), 401)
    head_office = await key_for(Role.HEAD_OFFICE)
    renamed = await client.patch("/api/v1/products/LAMP-1", json={"name": "Lamp"}, headers=head_office)
    assert renamed.status_code == 200
    assert [p["sku"] for p in await all_items(client, "/api/v1/products")] == ["LAMP-1", "VASE-1"]
    assert await all_items(client, "/api/v1/promotions") == []
