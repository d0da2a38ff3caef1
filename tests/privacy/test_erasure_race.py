"""An erasure and an order naming the same customer, at the same moment (truly concurrent on PostgreSQL; SQLite
serialises its writers, so there is no race to lose): never an order left naming an erased person."""

import asyncio

import pytest
from sqlalchemy import func, select

from omnicanal.customers.errors import CustomerNotFound
from omnicanal.customers.models import Customer
from omnicanal.customers.schemas import CustomerIn
from omnicanal.customers.service import create_customer
from omnicanal.orders.models import Order
from omnicanal.orders.service import OrderRequest, place_order
from omnicanal.privacy.erasure import erase_customer
from omnicanal.privacy.errors import ErasureRefused
from tests.factories import make_network, make_product, put_stock, wait_until_blocked


@pytest.fixture
async def customer(db):
    if db.dialect != "postgresql":
        pytest.skip("SQLite runs one writer at a time: the two cannot overlap")
    await make_network(db)
    await make_product(db, "LAMP-1")
    await put_stock(db, "LAMP-1", "WH-ORL", 5)
    async with db.writer() as session:
        created = await create_customer(session, customer=CustomerIn(first_name="Gwen", last_name="Kerbrat"))
        await session.commit()
    return created.id


def _order(customer_id):
    return OrderRequest(channel="web", fulfillment="ship", lines=[("LAMP-1", 1)], customer=customer_id)


async def _erase(db, customer_id):
    async with db.writer() as session:
        try:
            erased = await erase_customer(session, customer_id=customer_id, principal=None)
        except ErasureRefused as refused:
            await session.rollback()
            return refused
        await session.commit()
        return erased


async def _place(db, customer_id):
    async with db.writer() as session:
        try:
            placed = await place_order(session, _order(customer_id), currency="EUR")
        except CustomerNotFound as missing:
            await session.rollback()
            return missing
        await session.commit()
        return placed


async def test_an_erasure_started_during_an_order_waits_and_then_refuses(db, customer):
    ordering = db.writer()
    try:
        placed = await place_order(ordering, _order(customer), currency="EUR")
        erasing = asyncio.create_task(_erase(db, customer))
        await wait_until_blocked(db, erasing)
        await ordering.commit()
    finally:
        await ordering.close()
    assert isinstance(await erasing, ErasureRefused)  # the order it waited for is still to be shipped
    async with db.reader() as session:
        assert await session.scalar(select(Order.customer_id).where(Order.id == placed.order.id)) == customer
        assert await session.get(Customer, customer) is not None


async def test_an_order_started_during_an_erasure_waits_and_then_finds_no_customer(db, customer):
    erasing = db.writer()
    try:
        await erase_customer(erasing, customer_id=customer, principal=None)
        ordering = asyncio.create_task(_place(db, customer))
        await wait_until_blocked(db, ordering)
        await erasing.commit()
    finally:
        await erasing.close()
    assert isinstance(await ordering, CustomerNotFound)
    async with db.reader() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 0
        assert await session.get(Customer, customer) is None
