"""The demo retailer, seeded into an empty hub, tells a consistent story: every stock level is its ledger's
sum, reserved stock is exactly what open orders hold, totals add up, and the same seed gives the same data."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from omnicanal.catalog.models import ChannelPrice, Product
from omnicanal.customers.models import Customer, CustomerIdentifier
from omnicanal.customers.rules import normalise_phone
from omnicanal.db import Database
from omnicanal.demo import SIZES, DemoSize, hub_has_data, seed_demo
from omnicanal.inventory.models import StockLevel, StockMovement
from omnicanal.network.models import Channel, Location
from omnicanal.orders.models import Order, OrderLine

from ..conftest import empty_all_tables

NOW = datetime(2026, 3, 14, 15, 0, tzinfo=UTC)


async def rows(db: Database, query: Any) -> list[Any]:
    async with db.reader() as session:
        return list((await session.execute(query)).all())


async def test_seeding_fills_an_empty_hub_with_the_small_retailer(db: Database) -> None:
    assert not await hub_has_data(db)

    counts = await seed_demo(db, size="small", seed=42, now=NOW)

    assert await hub_has_data(db)
    small = SIZES["small"]
    assert counts.rows["product"] == small.products and counts.rows["order"] == small.orders
    for model in (Product, Order, OrderLine, StockLevel, StockMovement):
        (stored,) = (await rows(db, select(func.count()).select_from(model)))[0]
        assert stored == counts.rows[model.__tablename__]


async def _ledger_mismatches(db: Database) -> tuple[int, list[Any]]:
    ledger = (select(StockMovement.sku, StockMovement.location_code,
                     func.sum(StockMovement.on_hand_delta).label("on_hand"),
                     func.sum(StockMovement.reserved_delta).label("reserved"))
              .group_by(StockMovement.sku, StockMovement.location_code).subquery())
    levels = await rows(db, select(StockLevel.on_hand, StockLevel.reserved, ledger.c.on_hand, ledger.c.reserved)
                        .outerjoin(ledger, (ledger.c.sku == StockLevel.sku)
                                   & (ledger.c.location_code == StockLevel.location_code)))
    return len(levels), [r for r in levels if (r[0], r[1]) != (r[2] or 0, r[3] or 0)]


async def test_a_tiny_retailer_is_as_consistent_as_a_big_one(db: Database) -> None:
    counts = await seed_demo(db, size=DemoSize("tiny", products=12, customers=3, orders=40), seed=1, now=NOW)

    assert counts.rows["product"] == 12 and counts.rows["order"] == 40
    levels, mismatches = await _ledger_mismatches(db)
    assert levels > 0 and mismatches == []


async def test_every_stock_level_is_the_sum_of_its_ledger(db: Database) -> None:
    await seed_demo(db, size="small", seed=42, now=NOW)

    count, mismatches = await _ledger_mismatches(db)
    levels = await rows(db, select(StockLevel.on_hand, StockLevel.reserved, StockLevel.safety))

    assert count > 1_000 and mismatches == []
    assert all(on_hand >= reserved >= 0 for on_hand, reserved, _ in levels)
    assert any(on_hand == 0 for on_hand, _, _ in levels)  # some shelves are empty
    assert any(safety > 0 for _, _, safety in levels)


async def test_reserved_stock_is_exactly_what_open_ship_orders_hold(db: Database) -> None:
    await seed_demo(db, size="small", seed=42, now=NOW)
    open_lines = await rows(db, select(OrderLine.sku, OrderLine.location_code, func.sum(OrderLine.quantity))
                            .join(Order, Order.id == OrderLine.order_id)
                            .where(Order.status == "confirmed", Order.fulfillment == "ship")
                            .group_by(OrderLine.sku, OrderLine.location_code))
    reserved = await rows(db, select(StockLevel.sku, StockLevel.location_code, StockLevel.reserved)
                          .where(StockLevel.reserved != 0))

    assert open_lines  # the last day or two of online orders are still waiting to ship
    assert sorted(tuple(r) for r in reserved) == sorted(tuple(r) for r in open_lines)


async def test_order_totals_are_the_sums_of_their_lines(db: Database) -> None:
    await seed_demo(db, size="small", seed=42, now=NOW)
    lines = (select(OrderLine.order_id, func.sum(OrderLine.line_total).label("total"),
                    func.sum(OrderLine.unit_list_price * OrderLine.quantity).label("subtotal"))
             .group_by(OrderLine.order_id).subquery())
    orders = await rows(db, select(Order.subtotal, Order.discount_total, Order.total, lines.c.total,
                                   lines.c.subtotal).outerjoin(lines, lines.c.order_id == Order.id))
    bad_lines = await rows(db, select(func.count()).where(
        (OrderLine.line_total != OrderLine.unit_price * OrderLine.quantity)
        | (OrderLine.unit_price > OrderLine.unit_list_price) | (OrderLine.quantity < 1)))

    assert len(orders) == SIZES["small"].orders
    assert [o for o in orders if not (o[2] == o[3] and o[0] == o[4] and o[2] == o[0] - o[1])] == []
    assert bad_lines[0][0] == 0
    (discounted,) = (await rows(db, select(func.count()).where(Order.discount_total > 0)))[0]
    assert discounted > 0  # promotions were applied to some orders


async def test_the_network_is_twelve_french_stores_and_a_warehouse(db: Database) -> None:
    await seed_demo(db, size="small", seed=42, now=NOW)
    locations = (await rows(db, select(Location)))
    stores = [loc for (loc,) in locations if loc.kind == "store"]
    warehouses = [loc for (loc,) in locations if loc.kind == "warehouse"]

    assert len(stores) >= 12 and len(warehouses) == 1
    for loc in stores + warehouses:  # metropolitan France
        assert 42.0 < loc.latitude < 51.2 and -5.0 < loc.longitude < 8.3, loc.code
        assert loc.address["country"] == "FR" and loc.opening_hours
    assert {loc.address["city"] for loc in stores} >= {"Paris", "Lyon", "Marseille", "Bordeaux", "Lille"}
    paris = next(loc for loc in stores if loc.address["city"] == "Paris")
    assert (paris.latitude, paris.longitude) == (48.8606, 2.344)
    assert all(loc.sells for loc in stores) and any(loc.ships for loc in stores)
    assert sum(loc.pickup for loc in stores) > len(stores) / 2
    assert any("sun" in loc.opening_hours for loc in stores)
    assert warehouses[0].ships and not warehouses[0].sells


async def test_every_channel_is_present_and_trades(db: Database) -> None:
    await seed_demo(db, size="small", seed=42, now=NOW)
    channels = {c.code: c for (c,) in await rows(db, select(Channel))}
    per_channel = dict(await rows(db, select(Order.channel_code, func.count()).group_by(Order.channel_code)))

    assert set(channels) == {"web", "app", "pos", "kiosk", "marketplace"}
    assert not channels["pos"].online
    assert all(1 <= c.safety_buffer <= 2 for c in channels.values() if c.online)
    assert set(per_channel) == set(channels)


async def test_orders_have_statuses_consistent_with_their_age(db: Database) -> None:
    await seed_demo(db, size="small", seed=42, now=NOW)
    orders = [o for (o,) in await rows(db, select(Order))]

    tills = [o for o in orders if o.fulfillment == "carry_out"]
    assert tills and all(o.channel_code == "pos" and o.status == "completed" and o.payment_status == "paid"
                         and o.location_code is not None for o in tills)
    shipped = [o for o in orders if o.fulfillment == "ship"]
    by_status = {status: [o for o in shipped if o.status == status]
                 for status in ("confirmed", "shipped", "delivered", "cancelled")}
    assert sum(map(len, by_status.values())) == len(shipped)
    assert all(NOW - o.created_at < timedelta(days=3) for o in by_status["confirmed"])
    assert all(o.payment_status == "refunded" for o in by_status["cancelled"])
    assert all(o.payment_status == "paid" for o in by_status["delivered"] + by_status["shipped"])
    assert min(o.created_at for o in orders) > NOW - timedelta(days=366)
    assert max(o.created_at for o in orders) <= NOW


async def test_trading_peaks_on_saturdays_and_in_the_sales(db: Database) -> None:
    await seed_demo(db, size="small", seed=42, now=NOW)
    dates = [at for (at,) in await rows(db, select(Order.created_at))]
    saturdays = sum(1 for at in dates if at.weekday() == 5)
    tuesdays = sum(1 for at in dates if at.weekday() == 1)
    january = sum(1 for at in dates if at.month == 1)
    august = sum(1 for at in dates if at.month == 8)

    assert saturdays > 1.3 * tuesdays
    assert january > 1.3 * august


async def test_some_channel_prices_have_no_reason_for_the_audit_to_find(db: Database) -> None:
    await seed_demo(db, size="small", seed=42, now=NOW)
    prices = await rows(db, select(ChannelPrice.reason, ChannelPrice.amount, Product.base_price)
                        .join(Product, Product.sku == ChannelPrice.sku))

    unexplained = [p for p in prices if p.reason is None]
    assert 2 <= len(unexplained) <= 3
    assert all(p.amount != p.base_price for p in unexplained)
    assert any(p.reason and "place de marché" in p.reason for p in prices)


async def test_the_price_audit_finds_exactly_the_unexplained_channel_prices(
    db: Database, client: httpx.AsyncClient,
) -> None:
    await seed_demo(db, size="small", seed=42, now=NOW)
    unexplained = {sku for (sku,) in await rows(db, select(ChannelPrice.sku).where(ChannelPrice.reason.is_(None)))}

    response = await client.get("/api/v1/prices/audit", params={"limit": 500})

    assert response.status_code == 200
    assert {item["sku"] for item in response.json()["items"]} == unexplained


async def test_customers_carry_identifiers_from_several_channels(db: Database) -> None:
    await seed_demo(db, size="small", seed=42, now=NOW)
    identifiers = await rows(db, select(CustomerIdentifier.kind, CustomerIdentifier.value))
    kinds = {kind for kind, _ in identifiers}

    assert kinds == {"email", "phone", "loyalty_card"}
    assert sum(kind == "email" for kind, _ in identifiers) == SIZES["small"].customers
    phones = [value for kind, value in identifiers if kind == "phone"]
    assert all(re.fullmatch(r"\+33[67]\d{8}", value) for value in phones)
    assert [normalise_phone(value) for value in phones] == phones  # every one is a number the look-up accepts


async def _snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """The seeded data as the hub reads it (personal fields unsealed), in a stable order."""
    queries = {
        "product": select(Product.sku, Product.name, Product.base_price, Product.attributes).order_by(Product.sku),
        "customer": select(Customer.id, Customer.first_name, Customer.last_name, Customer.email, Customer.phone,
                           Customer.address).order_by(Customer.id),
        "order": select(Order.id, Order.channel_code, Order.status, Order.total, Order.created_at).order_by(Order.id),
        "order_line": select(OrderLine.order_id, OrderLine.line_no, OrderLine.sku, OrderLine.quantity,
                             OrderLine.unit_price).order_by(OrderLine.order_id, OrderLine.line_no),
        "stock_level": select(StockLevel.sku, StockLevel.location_code, StockLevel.on_hand, StockLevel.reserved,
                              StockLevel.safety).order_by(StockLevel.sku, StockLevel.location_code),
        "stock_movement": select(StockMovement.sku, StockMovement.location_code, StockMovement.kind,
                                 StockMovement.on_hand_delta, StockMovement.reserved_delta, StockMovement.reference)
                          .order_by(StockMovement.sku, StockMovement.location_code, StockMovement.kind,
                                    StockMovement.reference, StockMovement.on_hand_delta),
    }
    return {name: [tuple(r) for r in await rows(db, query)] for name, query in queries.items()}


async def test_the_same_seed_gives_the_same_data_and_another_seed_does_not(db: Database) -> None:
    await seed_demo(db, size="small", seed=7, now=NOW)
    first = await _snapshot(db)
    await empty_all_tables(db)
    await seed_demo(db, size="small", seed=7, now=NOW)
    again = await _snapshot(db)
    await empty_all_tables(db)
    await seed_demo(db, size="small", seed=8, now=NOW)
    other = await _snapshot(db)

    assert first == again
    assert first["order"] != other["order"] and first["customer"] != other["customer"]
