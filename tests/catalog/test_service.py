from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from omnicanal.catalog import pricing, promotions, service
from omnicanal.catalog.errors import CategoryCycle, ProductNotFound, ProductNotSellable
from omnicanal.catalog.models import ChannelPrice, Product, Promotion
from omnicanal.events.models import OutboxEvent
from omnicanal.kit.clock import utcnow
from omnicanal.kit.errors import InvalidRequest, NotFound
from omnicanal.kit.money import Money
from tests.catalog.factories import make_channels

NOW = utcnow()
EUR = "EUR"


@contextmanager
def counting_queries(db) -> Iterator[list[str]]:
    """The SELECT statements run on the database while the block runs."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append(statement)

    # On PostgreSQL the read engine is the writer with autocommit: it shares its events, listen once.
    engines = {db.engine.sync_engine}
    if db.read_engine.sync_engine.pool is not db.engine.sync_engine.pool:
        engines.add(db.read_engine.sync_engine)
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)


async def add_product(session, sku, amount=1999, **fields):
    return await service.create_product(session, sku=sku, name=f"Article {sku}", price=Money(amount=amount,
                                        currency=EUR), currency=EUR, **fields)


@pytest.fixture
async def catalog(db):
    """Lighting under home; a lamp with a web price of its own; a home-wide promotion on the app."""
    await make_channels(db, "web", "app", "pos")
    async with db.writer() as session:
        await service.create_category(session, code="home", name="Home")
        await service.create_category(session, code="home.lighting", name="Lighting", parent="home")
        await add_product(session, "LAMP-1", 10_000, category="home.lighting")
        await add_product(session, "VASE-1", 2_000)
        await add_product(session, "OLD-1", 500, active=False)
        await pricing.set_channel_price(session, sku="LAMP-1", channel="web", amount=9_000, reason="web launch")
        await promotions.create_promotion(session, name="Home week", kind="percent", value=10,
                                          starts_at=NOW - timedelta(days=1), ends_at=NOW + timedelta(days=1),
                                          channels=["app"], categories=["home"])
        await session.commit()


async def test_quote_prices_prices_every_sku_in_at_most_three_queries(db, catalog):
    async with db.reader() as session:
        with counting_queries(db) as queries:
            web = await service.quote_prices(session, skus=["LAMP-1", "VASE-1", "LAMP-1"], channel="web", at=NOW)
        assert len(queries) <= 3
        app = await service.quote_prices(session, skus=["LAMP-1", "VASE-1"], channel="app", at=NOW)
    assert (web["LAMP-1"].price, web["LAMP-1"].source, web["LAMP-1"].override_reason) == (9_000, "channel",
                                                                                         "web launch")
    assert (web["VASE-1"].price, web["VASE-1"].promotion_id) == (2_000, None)
    assert (app["LAMP-1"].list_price, app["LAMP-1"].price, app["LAMP-1"].source) == (10_000, 9_000, "base")
    assert app["LAMP-1"].promotion_id is not None and app["VASE-1"].promotion_id is None


async def test_quote_prices_outside_the_promotion_window_pays_the_list_price(db, catalog):
    async with db.reader() as session:
        later = await service.quote_prices(session, skus=["LAMP-1"], channel="app", at=NOW + timedelta(days=2))
    assert (later["LAMP-1"].price, later["LAMP-1"].promotion_id) == (10_000, None)


async def test_quote_prices_names_every_unknown_then_every_inactive_sku(db, catalog):
    async with db.reader() as session:
        with pytest.raises(ProductNotFound) as unknown:
            await service.quote_prices(session, skus=["NOPE-2", "LAMP-1", "NOPE-1", "OLD-1"], channel="web", at=NOW)
        assert isinstance(unknown.value, NotFound) and unknown.value.extra["skus"] == ["NOPE-1", "NOPE-2"]
        with pytest.raises(ProductNotSellable) as inactive:
            await service.quote_prices(session, skus=["OLD-1", "LAMP-1"], channel="web", at=NOW)
        assert isinstance(inactive.value, InvalidRequest) and inactive.value.extra["skus"] == ["OLD-1"]
        with counting_queries(db) as queries:
            assert await service.quote_prices(session, skus=[], channel="web", at=NOW) == {}
        assert queries == []


async def test_get_product_and_its_absence(db, catalog):
    async with db.reader() as session:
        assert (await service.get_product(session, "VASE-1")).base_price == 2_000
        with pytest.raises(ProductNotFound):
            await service.get_product(session, "NOPE")


async def test_a_category_never_moves_under_its_own_descendant(db, catalog):
    async with db.writer() as session:
        await service.create_category(session, code="home.lighting.lamps", name="Lamps", parent="home.lighting")
        with pytest.raises(CategoryCycle):
            await service.update_category(session, code="home", changes={"parent": "home.lighting.lamps"})
        moved = await service.update_category(session, code="home.lighting", changes={"parent": None})
        assert moved.parent_code is None


async def test_promotions_are_listed_by_channel_including_every_channel_ones(db, catalog):
    async with db.writer() as session:
        everywhere = await promotions.create_promotion(session, name="Everywhere", kind="amount", value=100,
                                                       starts_at=NOW, ends_at=NOW + timedelta(days=3))
        await promotions.create_promotion(session, name="Till only", kind="amount", value=100, starts_at=NOW,
                                          ends_at=NOW + timedelta(days=3), channels=["pos"])
        await session.commit()
    async with db.reader() as session:
        on_web = await promotions.list_promotions(session, after_id=None, limit=10, channel="web")
        on_app = await promotions.list_promotions(session, after_id=None, limit=10, channel="app")
    assert [p.id for p in on_web] == [everywhere.id]
    assert sorted(p.name for p in on_app) == ["Everywhere", "Home week"]


async def test_the_audit_of_a_thousand_skus_on_six_channels_batches_its_queries(db):
    channels = await make_channels(db)
    async with db.writer() as session:
        session.add_all(Product(sku=f"SKU-{n:04d}", name=f"Article {n}", description="", attributes={}, image_urls=[],
                                base_price=1_000 + n, currency=EUR, active=True, created_at=NOW, updated_at=NOW)
                        for n in range(1_000))
        await session.flush()
        for n in range(0, 1_000, 50):  # every 50th SKU: a cheaper marketplace price, reasoned half the time
            session.add(ChannelPrice(sku=f"SKU-{n:04d}", channel_code="marketplace", amount=900,
                                     reason="fees" if n % 100 else None, updated_at=NOW))
        session.add(Promotion(id="promo-app", name="App days", kind="percent", value=5, starts_at=NOW - timedelta(1),
                              ends_at=NOW + timedelta(1), channels=["app"], skus=["SKU-0007"], categories=[],
                              active=True, created_at=NOW))
        await session.commit()
    async with db.reader() as session:
        with counting_queries(db) as queries:
            found = await pricing.audit_prices(session, at=NOW, after_sku=None, limit=500)
    assert [d.sku for d in found] == [f"SKU-{n:04d}" for n in range(0, 1_000, 100)]
    assert all(d.unexplained_channels == ["marketplace"] and len(d.prices) == len(channels) for d in found)
    assert len(queries) <= 6


async def test_every_change_records_its_event(db, catalog):
    async with db.reader() as session:
        types = (await session.scalars(select(OutboxEvent.type).order_by(OutboxEvent.id))).all()
    assert types == ["category.created", "category.created", "product.created", "product.created",
                     "product.created", "price.changed", "promotion.created"]
