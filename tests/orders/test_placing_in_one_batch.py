"""On SQLite an order counts on its reservations leaving the levels it was planned on, and sends every write with
its COMMIT (``kit.prebuilt.counting_on_answers``): it holds the write lock only for that batch. When another
writer changed a level meanwhile, nothing of the order is written, and the request runs once more on the new one."""

import pytest
from sqlalchemy import func, select

from omnicanal.customers.schemas import CustomerIn
from omnicanal.customers.service import create_customer
from omnicanal.events.models import OutboxEvent
from omnicanal.inventory.models import StockMovement
from omnicanal.inventory.service import receive_stock
from omnicanal.kit.prebuilt import COUNTING_ON_ANSWERS, Unexpected, commit
from omnicanal.orders import service
from omnicanal.orders.models import Order
from omnicanal.privacy.erasure import erase_customer
from omnicanal.routing import service as routing
from tests.conftest import PG_URL
from tests.orders.test_api import ship, stock

ORDER = service.OrderRequest(channel="web", fulfillment="ship", lines=[("LAMP-1", 2)])
sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="SQLite's writer takes its connection late")


async def receive(db, quantity: int) -> None:
    """Another writer receives LAMP-1 at the warehouse, and commits."""
    async with db.writer() as other:
        await receive_stock(other, sku="LAMP-1", location="WH-ORL", quantity=quantity, reference="delivery")
        await other.commit()


async def written_for(db, order_id: str) -> tuple[int, int, int]:
    async with db.reader() as session:
        return (await session.scalar(select(func.count()).select_from(Order).where(Order.id == order_id)),
                await session.scalar(select(func.count()).select_from(StockMovement)
                                     .where(StockMovement.reference == order_id)),
                await session.scalar(select(func.count()).select_from(OutboxEvent)
                                     .where(OutboxEvent.subject == order_id)))


@sqlite_only
async def test_an_order_counting_on_its_answers_writes_everything_with_its_commit(client, shop, db):
    async with db.writer() as session:
        session.info[COUNTING_ON_ANSWERS] = True
        placed = await service.place_order(session, ORDER, currency="EUR")
        assert await written_for(db, placed.order.id) == (0, 0, 0)  # nothing sent yet
        await receive(db, 0)  # and the write lock is free meanwhile: another writer commits at once
        await commit(session)
    assert await written_for(db, placed.order.id) == (1, 1, 1)
    assert (await stock(client, "WH-ORL", "LAMP-1"))["reserved"] == 2


@sqlite_only
async def test_a_level_changed_meanwhile_rolls_the_whole_order_back(client, shop, db):
    async with db.writer() as session:
        session.info[COUNTING_ON_ANSWERS] = True
        placed = await service.place_order(session, ORDER, currency="EUR")
        await receive(db, 3)
        with pytest.raises(Unexpected):
            await commit(session)
        await session.rollback()
    assert await written_for(db, placed.order.id) == (0, 0, 0)
    level = await stock(client, "WH-ORL", "LAMP-1")
    assert (level["on_hand"], level["reserved"]) == (8, 0)
    await receive(db, 1)  # the write lock went back with the rollback
    assert (await stock(client, "WH-ORL", "LAMP-1"))["on_hand"] == 9


async def test_an_order_whose_level_changed_while_it_was_planned_reserves_on_the_new_level(
        client, shop, db, monkeypatch):
    reserve_plan, received = routing.reserve_plan, []

    async def delivery_meanwhile(session, plan, **options):
        if not received:  # between the plan and its reservation, once
            received.append(await receive(db, 3))
        return await reserve_plan(session, plan, **options)

    monkeypatch.setattr(routing, "reserve_plan", delivery_meanwhile)
    answer = await client.post("/api/v1/orders", json=ship(("LAMP-1", 2)), headers={"Idempotency-Key": "cart-1"})
    assert answer.status_code == 201, answer.text
    order_id = answer.json()["id"]
    level = await stock(client, "WH-ORL", "LAMP-1")
    assert (level["on_hand"], level["reserved"]) == (8, 2)
    assert await written_for(db, order_id) == (1, 1, 1)
    changed = (await client.get("/api/v1/events", params={"type": "stock.changed"})).json()["items"]
    reservation = [event["data"] for event in changed if event["data"]["reference"] == order_id]
    assert [(data["on_hand"], data["reserved"], data["available"]) for data in reservation] == [(8, 2, 6)]
    replay = await client.post("/api/v1/orders", json=ship(("LAMP-1", 2)), headers={"Idempotency-Key": "cart-1"})
    assert replay.json() == answer.json() and replay.headers["idempotent-replayed"] == "true"


@sqlite_only  # on PostgreSQL the order holds the customer's row from its first round trip: the erasure would wait
async def test_an_order_naming_a_customer_erased_while_it_was_planned_is_refused(client, shop, db, monkeypatch):
    async with db.writer() as session:
        customer = (await create_customer(session, customer=CustomerIn(first_name="Gwen", last_name="Kerbrat"))).id
        await session.commit()
    reserve_plan, erased = routing.reserve_plan, []

    async def erasure_meanwhile(session, plan, **options):
        if not erased:  # the write lock is free: the order counts on the customer being there at its COMMIT
            async with db.writer() as other:
                erased.append(await erase_customer(other, customer_id=customer, principal=None))
                await other.commit()
        return await reserve_plan(session, plan, **options)

    monkeypatch.setattr(routing, "reserve_plan", erasure_meanwhile)
    answer = await client.post("/api/v1/orders", json=ship(("LAMP-1", 1), customer=customer))
    assert answer.status_code == 404 and answer.json()["detail"] == f"No customer {customer}.", answer.text
    async with db.reader() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 0
    assert (await stock(client, "WH-ORL", "LAMP-1"))["reserved"] == 0
