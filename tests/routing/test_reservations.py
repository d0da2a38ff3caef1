"""A routed plan is reserved whole or not at all — every line sent in one round trip on PostgreSQL — so an
order whose stock went meanwhile (another order took it between routing and reserving) leaves nothing held."""

from sqlalchemy import select

from omnicanal.inventory.models import StockLevel, StockMovement
from omnicanal.routing.rules import Parcel, Plan
from omnicanal.routing.service import reserve_plan
from tests.factories import make_product, put_stock
from tests.routing.factories import make_routing_network


def plan_of(*parcels: tuple[str, tuple[tuple[str, int], ...]]) -> Plan:
    return Plan(tuple(Parcel(location, units, None, 0, 0, 0) for location, units in parcels), split_penalty=0)


async def reserved(db) -> dict[tuple[str, str], int]:
    async with db.reader() as session:
        return {(row.sku, row.location_code): row.reserved for row in await session.scalars(select(StockLevel))}


async def test_a_plan_is_reserved_whole_or_not_at_all(db):
    await make_routing_network(db)
    for sku in ("A-1", "B-1", "C-1"):
        await make_product(db, sku)
    await put_stock(db, "A-1", "WH-ORL", 5)
    await put_stock(db, "B-1", "WH-ORL", 1)
    await put_stock(db, "C-1", "PAR-RIV", 5)
    before = await reserved(db)

    # B-1 has 1 unit, not 2: the units of A-1 and C-1, taken before and after it, are given back
    too_much = plan_of(("PAR-RIV", (("C-1", 2),)), ("WH-ORL", (("A-1", 2), ("B-1", 2))))
    async with db.writer() as session:
        assert await reserve_plan(session, too_much, buffer=0, reference="ord-x") is None
        await session.commit()
    assert await reserved(db) == before

    # the stock a channel keeps back counts too
    async with db.writer() as session:
        assert await reserve_plan(session, plan_of(("WH-ORL", (("A-1", 5),))), buffer=1, reference="ord-y") is None
        await session.commit()
    assert await reserved(db) == before

    fits = plan_of(("PAR-RIV", (("C-1", 2),)), ("WH-ORL", (("A-1", 2), ("B-1", 1))))
    async with db.writer() as session:
        changes = await reserve_plan(session, fits, buffer=0, reference="ord-z")
        await session.commit()
    assert changes is not None
    assert [(c.sku, c.location, c.reserved_delta, c.on_hand, c.reserved) for c in changes] == [
        ("A-1", "WH-ORL", 2, 5, 2), ("B-1", "WH-ORL", 1, 1, 1), ("C-1", "PAR-RIV", 2, 5, 2)]
    assert await reserved(db) == {**before, ("A-1", "WH-ORL"): 2, ("B-1", "WH-ORL"): 1, ("C-1", "PAR-RIV"): 2}
    async with db.reader() as session:  # reserving records nothing by itself: the order records its movements
        assert not (await session.scalars(select(StockMovement).where(
            StockMovement.reference.in_(["ord-x", "ord-y", "ord-z"])))).all()
