"""Order use cases: place (priced, reserved all-or-nothing), cancel, ship, deliver, record payment, read.

Every transition is a compare-and-set on the order's status, so two concurrent cancels cannot both
release the stock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.catalog.service import price_reads, quote_prices
from omnicanal.customers.service import customer_hold_read, hold_customer
from omnicanal.db import table_of
from omnicanal.events.service import Event
from omnicanal.inventory import ledger
from omnicanal.inventory.errors import StockInsufficient
from omnicanal.inventory.rules import MovementKind
from omnicanal.kit.clock import utcnow
from omnicanal.kit.ids import new_id
from omnicanal.kit.prebuilt import Prebuilt, Read, read_ahead
from omnicanal.network.models import Location
from omnicanal.network.service import ChannelTerms, channel_terms, channel_terms_read, get_location
from omnicanal.orders import rules
from omnicanal.orders.errors import (
    FulfillmentInvalid,
    OrderAlreadyPlaced,
    OrderNotCancellable,
    OrderNotFound,
    OrderTransitionRefused,
    PaymentTransitionRefused,
)
from omnicanal.orders.models import Order, OrderLine
from omnicanal.orders.rules import PricedLine
from omnicanal.routing.service import network_reads, route_new_order


@dataclass(frozen=True)
class OrderRequest:
    channel: str
    fulfillment: str
    lines: Sequence[tuple[str, int]]
    location: str | None = None
    customer: str | None = None
    external_reference: str | None = None
    payment_status: str = "pending"
    payment_reference: str | None = None
    origin_location: str | None = None  # endless aisle: the store whose till or kiosk took the order
    ship_to: dict[str, Any] | None = None  # ship: the delivery address (coordinates price the carrier)
    # carry_out only: the units are already reserved for this customer at the till's store (a try-on hold
    # that was consumed), so the sale takes them out of reserved as well as on hand.
    stock_held: bool = False


@dataclass(frozen=True)
class PlacedOrder:
    order: Order
    lines: list[OrderLine]


async def place_order(session: AsyncSession, request: OrderRequest, *, currency: str) -> PlacedOrder:
    """Price the lines on the channel, take the stock, write the order — all or nothing.

    ``ship``: units are reserved at the chosen location(s); if any line lacks stock nothing is written and
    :class:`StockInsufficient` names the lines. ``carry_out``: goods are in the customer's hands at a
    till, so the sale is accepted even where the system counted none (the level goes negative and a
    ``stock.discrepancy`` event asks for a count).
    """
    if request.fulfillment == "pickup":
        raise FulfillmentInvalid("Pickup orders are placed by omnicanal.fulfillment (place_pickup_order).")
    now = utcnow()
    skus = sorted({sku for sku, _ in request.lines})
    # The channel, the prices, (to route a shipment) the network's stock, the channel's order number, the customer:
    # one round trip.
    await read_ahead(session, [channel_terms_read(request.channel), *price_reads(skus, channel=request.channel, at=now),
                               *(network_reads(skus) if request.fulfillment == "ship" else []),
                               *external_reference_reads(request.channel, request.external_reference),
                               *([customer_hold_read(request.customer)] if request.customer is not None else [])])
    channel = await usable_channel(session, request.channel)
    await check_external_reference(session, channel.code, request.external_reference)
    location = await _check_fulfillment(session, request, channel)
    await check_origin(session, request.origin_location)
    if request.customer is not None:
        await hold_customer(session, request.customer)
    quotes = await quote_prices(session, skus=skus, channel=channel.code, at=now)
    priced = rules.price_lines(request.lines, quotes)
    order_id = new_id("ord")
    if request.fulfillment == "carry_out" and location is not None:  # the till's store is checked above
        changes, sites = await _sell_at_till(session, order_id, location.code, request.lines,
                                             held=request.stock_held)
        status = "completed"
    else:
        changes, sites = await _reserve_for_shipping(session, order_id, request, channel, location)
        status = "confirmed"
    return await _write_order(session, order_id, request, priced, sites, changes, status=status,
                              currency=currency, location=location.code if location else None, now=now)


async def _check_fulfillment(session: AsyncSession, request: OrderRequest, channel: ChannelTerms,
                             ) -> Location | None:
    if request.location is None:
        if request.fulfillment == "carry_out":
            raise FulfillmentInvalid("A carry_out sale needs the location of the till.")
        return None
    location = await get_location(session, request.location)
    if not location.active:
        raise FulfillmentInvalid(f"Location {location.code} is not active.")
    if request.fulfillment == "carry_out":
        if channel.online:
            raise FulfillmentInvalid(f"A carry_out sale happens at a till; {channel.code} is an online channel.")
        if not location.sells:
            raise FulfillmentInvalid(f"{location.code} does not sell to customers.")
    elif not location.ships:
        raise FulfillmentInvalid(f"{location.code} does not ship orders.")
    return location


async def _sell_at_till(
    session: AsyncSession, order_id: str, location: str, lines: Sequence[tuple[str, int]], *, held: bool = False,
) -> tuple[list[ledger.StockChange], dict[str, str]]:
    changes = [
        await (_sell_held_units(session, order_id, location, sku, quantity) if held else ledger.add_to_level(
            session, sku=sku, location=location, kind=MovementKind.SALE, on_hand_delta=-quantity,
            reference=order_id))
        for sku, quantity in sorted(rules.demand_by_sku(lines).items())
    ]
    return changes, {change.sku: location for change in changes}


async def _sell_held_units(
    session: AsyncSession, order_id: str, location: str, sku: str, quantity: int,
) -> ledger.StockChange:
    """A till sale of units held for the customer: on hand and reserved go down together, in one movement."""
    change = await ledger.change_level(
        session, sku=sku, location=location, kind=MovementKind.SALE, on_hand_delta=-quantity,
        reserved_delta=-quantity, reference=order_id, condition=ledger.LEVEL.reserved >= quantity)
    if change is None:
        raise StockInsufficient(f"{quantity} × {sku} are not held at {location}.",
                                shortages=[{"sku": sku, "location": location, "requested": quantity}])
    return change


async def _reserve_for_shipping(
    session: AsyncSession, order_id: str, request: OrderRequest, channel: ChannelTerms, forced: Location | None,
) -> tuple[list[ledger.StockChange], dict[str, str]]:
    """Route the order with the routing engine (cost model, daily capacity, the customer's chosen store) and
    reserve its plan all or nothing; :class:`StockInsufficient` or ``CapacityExhausted`` when it cannot."""
    routed = await route_new_order(session, order_id=order_id, demand=rules.demand_by_sku(request.lines),
                                   channel=channel, ship_to=request.ship_to, forced=forced.code if forced else None)
    return routed.changes, routed.sites


async def _write_order(
    session: AsyncSession, order_id: str, request: OrderRequest, priced: list[PricedLine],
    sites: dict[str, str], changes: list[ledger.StockChange], *, status: str, currency: str,
    location: str | None, now: datetime,
) -> PlacedOrder:
    return await write_order(session, order_id=order_id, request=request, priced=priced,
                             line_sites=[sites[p.sku] for p in priced], changes=changes, status=status,
                             currency=currency, location=location, now=now)


async def write_order(
    session: AsyncSession, *, order_id: str, request: OrderRequest, priced: Sequence[PricedLine],
    line_sites: Sequence[str | None], changes: Sequence[ledger.StockChange], status: str, currency: str,
    location: str | None, now: datetime,
) -> PlacedOrder:
    """Write an order whose stock was already taken: ``line_sites[i]`` is where line ``i``'s units are reserved
    (``None``: nowhere yet); records the movements and ``order.created``."""
    totals = rules.order_totals(priced)
    order = Order(
        id=order_id, channel_code=request.channel, location_code=location, customer_id=request.customer,
        origin_location=request.origin_location, ship_to=request.ship_to,
        external_reference=request.external_reference, fulfillment=request.fulfillment, status=status,
        currency=currency, subtotal=totals.subtotal, discount_total=totals.discount_total, total=totals.total,
        payment_status=request.payment_status, payment_reference=request.payment_reference,
        created_at=now, updated_at=now)
    lines = [
        OrderLine(order_id=order_id, line_no=p.line_no, sku=p.sku, quantity=p.quantity, location_code=site,
                  unit_list_price=p.unit_list_price, unit_price=p.unit_price, promotion_id=p.promotion_id,
                  line_total=p.line_total)
        for p, site in zip(priced, line_sites, strict=True)
    ]
    await _INSERT_ORDER.run_later(session, _columns(order))
    await _INSERT_LINES.run_many_later(session, [_columns(line) for line in lines])
    await ledger.record_changes(session, changes, also=[Event("order.created", order_id, order_data(order, lines))])
    return PlacedOrder(order, lines)


_INSERT_ORDER = Prebuilt(insert(table_of(Order)))
_INSERT_LINES = Prebuilt(insert(table_of(OrderLine)))


def _columns(row: Order | OrderLine) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key != "id" or isinstance(row, Order)}


def order_data(order: Order, lines: Sequence[OrderLine]) -> dict[str, Any]:
    """The order as carried in events (ids and figures, no personal data)."""
    return {
        "id": order.id, "channel": order.channel_code, "status": order.status, "fulfillment": order.fulfillment,
        "location": order.location_code, "origin_location": order.origin_location,
        "customer": order.customer_id, "currency": order.currency,
        "total": order.total, "payment_status": order.payment_status,
        "lines": [{"sku": line.sku, "quantity": line.quantity, "location": line.location_code,
                   "unit_price": line.unit_price} for line in lines],
    }


async def get_order(session: AsyncSession, order_id: str) -> PlacedOrder:
    order = await session.get(Order, order_id)
    if order is None:
        raise OrderNotFound(f"No order {order_id}.")
    return PlacedOrder(order, await _lines_of(session, [order_id]))


async def lock_order(session: AsyncSession, order_id: str) -> PlacedOrder:
    """Read an order with its row locked until the transaction ends (``FOR UPDATE`` on PostgreSQL; SQLite's
    writers are serialised already), so that two requests deciding on one order — two returns — take turns."""
    order = await session.scalar(select(Order).where(Order.id == order_id).with_for_update()
                                 .execution_options(populate_existing=True))
    if order is None:
        raise OrderNotFound(f"No order {order_id}.")
    return PlacedOrder(order, await _lines_of(session, [order_id]))


async def _lines_of(session: AsyncSession, order_ids: Sequence[str]) -> list[OrderLine]:
    return list((await session.scalars(
        select(OrderLine).where(OrderLine.order_id.in_(order_ids)).order_by(OrderLine.order_id, OrderLine.line_no)
    )).all())


@dataclass(frozen=True)
class OrderFilter:
    channel: str | None = None
    status: str | None = None
    customer: str | None = None
    location: str | None = None
    fulfillment: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    scope: Any = None  # an extra WHERE on Order limiting a caller to its stores or channel (access.scope)


async def list_orders(
    session: AsyncSession, *, filters: OrderFilter, before_id: str | None, limit: int,
) -> list[PlacedOrder]:
    """Orders newest first (ids sort by creation time)."""
    query = select(Order)
    for column, value in ((Order.channel_code, filters.channel), (Order.status, filters.status),
                          (Order.customer_id, filters.customer), (Order.location_code, filters.location),
                          (Order.fulfillment, filters.fulfillment)):
        if value is not None:
            query = query.where(column == value)
    if filters.created_from is not None:
        query = query.where(Order.created_at >= filters.created_from)
    if filters.created_to is not None:
        query = query.where(Order.created_at < filters.created_to)
    if filters.scope is not None:
        query = query.where(filters.scope)
    if before_id is not None:
        query = query.where(Order.id < before_id)
    orders = list((await session.scalars(query.order_by(Order.id.desc()).limit(limit))).all())
    lines: dict[str, list[OrderLine]] = {}
    for line in await _lines_of(session, [o.id for o in orders]):
        lines.setdefault(line.order_id, []).append(line)
    return [PlacedOrder(o, lines.get(o.id, [])) for o in orders]


async def _claim_transition(session: AsyncSession, order: Order, action: str) -> None:
    source, target = rules.ACTIONS[action]
    refused = OrderNotCancellable if action == "cancel" else OrderTransitionRefused
    if order.status not in rules.action_sources(action):
        raise refused(f"Order {order.id} is {order.status}; only a {source} order can be {target}.")
    if not rules.may_become(order.fulfillment, order.status, target):
        raise refused(f"Order {order.id} is a {order.fulfillment} order; it cannot be {target}.")
    claimed = await session.execute(
        update(Order).where(Order.id == order.id, Order.status == order.status)
        .values(status=target, updated_at=utcnow()))
    if not claimed.rowcount:  # type: ignore[attr-defined]  # another request moved it first
        raise refused(f"Order {order.id} changed meanwhile; it can no longer be {target}.")
    await session.refresh(order)


async def cancel_order(session: AsyncSession, *, order_id: str, reason: str | None = None) -> PlacedOrder:
    """Cancel a confirmed order and give its reserved units back."""
    placed = await lock_order(session, order_id)  # the lines as they are once no one else is changing them
    await _claim_transition(session, placed.order, "cancel")
    changes = []
    for sku, location, quantity in _reserved_units(placed.lines):
        change = await ledger.release(session, sku=sku, location=location, quantity=quantity, reference=order_id,
                                      reason=reason or "order cancelled")
        if change is not None:
            changes.append(change)
    await _finish(session, placed, changes, "order.cancelled",
                  refund_due=placed.order.payment_status in ("authorized", "paid"), reason=reason)
    return placed


async def ship_order(session: AsyncSession, *, order_id: str) -> PlacedOrder:
    """The parcel left: reserved units leave the shelf (on hand and reserved both go down)."""
    placed = await get_order(session, order_id)
    await _claim_transition(session, placed.order, "ship")
    changes = [
        await ledger.change_level(session, sku=sku, location=location, kind=MovementKind.SALE,
                                  on_hand_delta=-quantity, reserved_delta=-quantity, reference=order_id)
        for sku, location, quantity in _reserved_units(placed.lines)
    ]
    await _finish(session, placed, [c for c in changes if c is not None], "order.shipped")
    return placed


async def deliver_order(session: AsyncSession, *, order_id: str) -> PlacedOrder:
    placed = await get_order(session, order_id)
    await _claim_transition(session, placed.order, "deliver")
    await _finish(session, placed, [], "order.delivered")
    return placed


async def record_payment(session: AsyncSession, *, order_id: str, status: str, reference: str | None) -> PlacedOrder:
    """Record what the payment provider said (the hub does not take payments itself)."""
    placed = await get_order(session, order_id)
    current = placed.order.payment_status
    if not rules.can_move(rules.PAYMENT_TRANSITIONS, current, status):
        raise PaymentTransitionRefused(f"Payment of order {order_id} is {current}; it cannot become {status}.")
    claimed = await session.execute(
        update(Order).where(Order.id == order_id, Order.payment_status == current)
        .values(payment_status=status, payment_reference=reference or placed.order.payment_reference,
                updated_at=utcnow()))
    if not claimed.rowcount:  # type: ignore[attr-defined]
        raise PaymentTransitionRefused(f"Payment of order {order_id} changed meanwhile.")
    await session.refresh(placed.order)
    await _finish(session, placed, [], f"order.payment_{status}")
    return placed


def _reserved_units(lines: Sequence[OrderLine]) -> list[tuple[str, str, int]]:
    units: dict[tuple[str, str], int] = {}
    for line in lines:
        if line.location_code is not None:
            key = (line.sku, line.location_code)
            units[key] = units.get(key, 0) + line.quantity
    return [(sku, location, quantity) for (sku, location), quantity in sorted(units.items())]


async def _finish(session: AsyncSession, placed: PlacedOrder, changes: list[ledger.StockChange], event_type: str,
                  **extra: Any) -> None:
    event = Event(event_type, placed.order.id, {**order_data(placed.order, placed.lines), **extra})
    await ledger.record_changes(session, changes, also=[event])


async def reassign_customer(session: AsyncSession, *, from_customer: str, to_customer: str) -> int:
    """Give ``from_customer``'s orders to ``to_customer`` — a merge of two records of one person, or an erasure
    (``to_customer`` is then an anonymous token: the orders keep their figures, not the person). Returns how
    many orders moved. Records no event: the caller's ``customer.merged`` / ``customer.erased`` says it."""
    result = await session.execute(
        update(Order).where(Order.customer_id == from_customer).values(customer_id=to_customer))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- used by fulfilment (pickup orders, parcels, endless aisle) ------------------------------------------------
async def usable_channel(session: AsyncSession, code: str) -> ChannelTerms:
    """The channel ``code`` if it is active (:class:`FulfillmentInvalid` otherwise)."""
    channel = await channel_terms(session, code)
    if not channel.active:
        raise FulfillmentInvalid(f"Channel {code} is not active.")
    return channel


ORDER = table_of(Order).c
_PLACED_AS = Prebuilt(select(ORDER.id).where(ORDER.channel_code == bindparam("channel"),
                                             ORDER.external_reference == bindparam("reference")))


def _placed_as_params(channel: str, reference: str) -> dict[str, Any]:
    return {"channel": channel, "reference": reference}


def external_reference_reads(channel: str, reference: str | None) -> list[Read]:
    """What :func:`check_external_reference` reads (to send it ahead with others)."""
    return [] if reference is None else [(_PLACED_AS, _placed_as_params(channel, reference))]


async def check_external_reference(session: AsyncSession, channel: str, reference: str | None) -> None:
    """A channel's own order number names one order: a second is refused with the first one's id, so that an
    integration retrying after a lost answer finds what it already placed (:class:`OrderAlreadyPlaced`)."""
    if reference is None:
        return
    if found := await _PLACED_AS.rows(session, _placed_as_params(channel, reference)):
        placed = found[0].id
        raise OrderAlreadyPlaced(f"Channel {channel} already placed order {placed} as {reference!r}.", order=placed)


async def check_origin(session: AsyncSession, code: str | None) -> Location | None:
    """The endless-aisle origin of an order: an active store that sells (``None`` when not given)."""
    if code is None:
        return None
    location = await get_location(session, code)
    if not (location.active and location.sells and location.kind == "store"):
        raise FulfillmentInvalid(f"{code} is not an active store: an endless-aisle order starts at a store.")
    return location


async def move_order(
    session: AsyncSession, placed: PlacedOrder, target: str, *, changes: Sequence[ledger.StockChange] = (),
    also: Sequence[Event] = (), **extra: Any,
) -> PlacedOrder:
    """Move an order to ``target`` when its fulfilment and status allow it — a compare-and-set, so of two
    concurrent moves one wins — recording ``changes``, an ``order.<target>`` event and ``also``."""
    order, current = placed.order, placed.order.status
    if not rules.may_become(order.fulfillment, current, target):
        raise OrderTransitionRefused(f"Order {order.id} is {current}; it cannot become {target}.")
    claimed = await session.execute(
        update(Order).where(Order.id == order.id, Order.status == current).values(status=target, updated_at=utcnow()))
    if not claimed.rowcount:  # type: ignore[attr-defined]  # another request moved it first
        raise OrderTransitionRefused(f"Order {order.id} changed meanwhile; it can no longer become {target}.")
    await session.refresh(order)
    event = Event(f"order.{target}", order.id, {**order_data(order, placed.lines), **extra})
    await ledger.record_changes(session, list(changes), also=[event, *also])
    return placed


def _line(placed: PlacedOrder, line_no: int) -> OrderLine:
    for line in placed.lines:
        if line.line_no == line_no:
            return line
    raise OrderNotFound(f"Order {placed.order.id} has no line {line_no}.")


async def set_line_location(session: AsyncSession, placed: PlacedOrder, *, line_no: int,
                            location: str | None) -> OrderLine:
    """Record where a line's units are now reserved (``None``: in transit, reserved nowhere)."""
    line = _line(placed, line_no)
    line.location_code = location
    await session.flush()
    return line


async def split_line(session: AsyncSession, placed: PlacedOrder, *, line_no: int, quantity: int,
                     location: str | None) -> OrderLine:
    """Serve ``quantity`` units of a line from ``location``: the whole line moves there, or those units become
    a new line at the same prices. Returns the line that now holds them."""
    line = _line(placed, line_no)
    if not 0 < quantity <= line.quantity:
        raise FulfillmentInvalid(f"Line {line_no} of order {placed.order.id} has {line.quantity} units.")
    if quantity == line.quantity:
        return await set_line_location(session, placed, line_no=line_no, location=location)
    line.quantity, line.line_total = line.quantity - quantity, line.unit_price * (line.quantity - quantity)
    new = OrderLine(order_id=line.order_id, line_no=max(li.line_no for li in placed.lines) + 1, sku=line.sku,
                    quantity=quantity, location_code=location, unit_list_price=line.unit_list_price,
                    unit_price=line.unit_price, promotion_id=line.promotion_id, line_total=line.unit_price * quantity)
    session.add(new)
    await session.flush()
    placed.lines.append(new)
    return new


async def drop_units(session: AsyncSession, placed: PlacedOrder, *, line_no: int, quantity: int) -> int:
    """Take ``quantity`` units off a line (the line goes when none remain) and lower the order's totals.
    Returns what the customer no longer owes for them (minor units). Stock is the caller's business."""
    line = _line(placed, line_no)
    if not 0 < quantity <= line.quantity:
        raise FulfillmentInvalid(f"Line {line_no} of order {placed.order.id} has {line.quantity} units.")
    if quantity == line.quantity:
        await session.delete(line)
        placed.lines.remove(line)
    else:
        line.quantity, line.line_total = line.quantity - quantity, line.unit_price * (line.quantity - quantity)
    totals = rules.order_totals([PricedLine(li.line_no, li.sku, li.quantity, li.unit_list_price, li.unit_price,
                                            li.promotion_id) for li in placed.lines])
    order = placed.order
    order.subtotal, order.discount_total, order.total = totals.subtotal, totals.discount_total, totals.total
    order.updated_at = utcnow()
    await session.flush()
    return line.unit_price * quantity
