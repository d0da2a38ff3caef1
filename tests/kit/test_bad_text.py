"""Text PostgreSQL cannot hold (NUL) is refused at the door on every database alike, and a value the database
refuses anyway is the caller's 422, never a 500 or a 503."""

from sqlalchemy import func, select
from sqlalchemy.exc import DataError

from omnicanal.catalog.models import Product
from omnicanal.kit.transaction import NUL_REFUSED
from tests.factories import make_network, make_product


async def _products(db) -> int:
    async with db.reader() as session:
        return int(await session.scalar(select(func.count()).select_from(Product)) or 0)


async def test_nul_in_a_path_a_query_or_a_body_is_refused_and_writes_nothing(client, db):
    await make_network(db)
    await make_product(db, "LAMP-1")
    before = await _products(db)
    answers = [
        await client.get("/api/v1/products/LAMP%001"),
        await client.get("/api/v1/products", params={"q": "la\x00mp"}),
        await client.post("/api/v1/products", json={"sku": "NUL-1", "name": "Lamp\x00", "category": None,
                                                    "price": {"amount": 1999, "currency": "EUR"}}),
        await client.patch("/api/v1/products/LAMP-1", json={"description": "\x00"},
                           headers={"Idempotency-Key": "nul-1"}),
    ]
    for answer in answers:
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"] == NUL_REFUSED
    assert await _products(db) == before
    assert (await client.get("/api/v1/products/LAMP-1")).json()["description"] != "\x00"


async def test_an_escaped_backslash_before_u0000_is_ordinary_text(client, db):
    await make_network(db)
    body = {"sku": "SLASH-1", "name": "C:\\u0000 lamp", "price": {"amount": 1999, "currency": "EUR"}}
    created = await client.post("/api/v1/products", json=body)
    assert created.status_code == 201, created.text
    assert (await client.get("/api/v1/products/SLASH-1")).json()["name"] == "C:\\u0000 lamp"


async def test_a_value_the_database_refuses_is_a_422_problem(app, client):
    @app.get("/test/refused-value")
    async def refused() -> None:
        raise DataError("INSERT …", {}, Exception("value too long for type character varying(20)"))

    answer = await client.get("/test/refused-value")
    assert answer.status_code == 422
    assert answer.json()["detail"] == "The database refused a value: value too long for type character varying(20)."
