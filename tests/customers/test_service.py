"""The customer services other domains call, and identifier uniqueness under concurrent writers."""

import asyncio

import pytest
from sqlalchemy import func, select

from omnicanal.customers import service
from omnicanal.customers.errors import CustomerNotFound, IdentifierInvalid, IdentifierTaken
from omnicanal.customers.models import Customer, CustomerIdentifier
from omnicanal.customers.schemas import CustomerIn
from omnicanal.kit.errors import NotFound
from tests.factories import wait_until_blocked


async def make_customer(db, **fields) -> str:
    async with db.writer() as session:
        customer = await service.create_customer(session, customer=CustomerIn(first_name="Anne", last_name="Dupont",
                                                                              **fields))
        await session.commit()
        return customer.id


async def test_get_customer_finds_by_id_or_says_not_found(db):
    customer_id = await make_customer(db, email="anne@example.fr")
    async with db.reader() as session:
        assert (await service.get_customer(session, customer_id)).email == "anne@example.fr"
        with pytest.raises(CustomerNotFound) as missing:
            await service.get_customer(session, "cus_nobody")
        assert isinstance(missing.value, NotFound)


async def test_find_customer_reads_the_identifier_as_any_channel_writes_it(db):
    customer_id = await make_customer(db, email="anne@example.fr", phone="0612345678",
                                      identifiers=[{"kind": "loyalty_card", "value": "29 00"}])
    async with db.reader() as session:
        for kind, value in [("email", " ANNE@example.fr "), ("phone", "+33 6 12 34 56 78"), ("loyalty_card", "2900")]:
            found = await service.find_customer(session, kind=kind, value=value)
            assert found is not None and found.id == customer_id
        assert await service.find_customer(session, kind="email", value="bob@example.fr") is None
        assert await service.find_customer(session, kind="app_id", value="anne@example.fr") is None
        with pytest.raises(IdentifierInvalid):
            await service.find_customer(session, kind="email", value="not an email")
        with pytest.raises(IdentifierInvalid):
            await service.find_customer(session, kind="passport", value="X")


async def test_two_customers_racing_for_one_email_get_one_clear_refusal(db):
    first = db.writer()
    try:
        await service.create_customer(first, customer=CustomerIn(first_name="A", last_name="A",
                                                                 email="same@example.fr"))

        async def second_writer() -> Exception | None:
            async with db.writer() as session:
                try:
                    await service.create_customer(session, customer=CustomerIn(first_name="B", last_name="B",
                                                                               email="SAME@example.fr"))
                except IdentifierTaken as refused:
                    await session.rollback()
                    return refused
                await session.commit()
                return None

        racer = asyncio.create_task(second_writer())
        if db.dialect == "postgresql":  # make sure the second one got past its check and waits on the insert
            await wait_until_blocked(db, racer)
        await first.commit()
    finally:
        await first.close()  # never leave the first transaction open: it would block the next test's clean-up
    refused = await racer
    assert isinstance(refused, IdentifierTaken)
    assert refused.extra["identifier"] == {"kind": "email", "value": "same@example.fr"}
    async with db.reader() as session:
        assert await session.scalar(select(func.count()).select_from(Customer)) == 1
        assert await session.scalar(select(func.count()).select_from(CustomerIdentifier)) == 1
