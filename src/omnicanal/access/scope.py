"""What a scoped caller may see, as database checks and query filters.

Store roles (manager, associate) are confined to their stores, integration keys to their channel; every
other role passes through unchanged (the filters answer ``None``). Domains call these from their routers:

* customers — :func:`require_customer_access` before returning or changing one customer, and
  :func:`customer_filter_for` as an extra ``WHERE`` on customer lists;
* orders — :func:`require_order_access` and :func:`order_filter_for`; :func:`require_order_channel` where
  store staff may reach any order (taking a return back at their counter) but a channel only its own;
* stock — :func:`omnicanal.access.rules.require_location`;
* events — :func:`event_filter_for`: a channel's key reads its own orders' stories and the shared, person-free
  facts (catalog, prices, network, stock), not another channel's orders or customers.

Refusals raise :class:`~omnicanal.kit.errors.Forbidden` (403 problem+json, code ``outside-scope``), so a
scoped caller learns that the object exists but not what it holds; ids are random, so nothing is guessable.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.access.rules import Principal, may_access_customer, may_access_order
from omnicanal.customers.models import Customer
from omnicanal.events.models import OutboxEvent
from omnicanal.events.service import SHARED_TYPES
from omnicanal.fulfillment.models import Shipment
from omnicanal.kit.errors import Forbidden
from omnicanal.orders.models import Order, OrderLine

__all__ = ["customer_filter_for", "event_filter_for", "order_filter_for", "require_customer_access",
           "require_order_access", "require_order_channel"]


def _order_at(locations: Iterable[str]) -> ColumnElement[bool]:
    """``Order`` rows placed at, taken at (endless aisle), or holding a line served by, one of ``locations``."""
    codes = list(locations)
    line_there = exists().where(OrderLine.order_id == Order.id, OrderLine.location_code.in_(codes))
    return or_(Order.location_code.in_(codes), Order.origin_location.in_(codes), line_there)


def order_filter_for(principal: Principal) -> ColumnElement[bool] | None:
    """A ``WHERE`` clause on :class:`Order` limiting a list to what ``principal`` may see (``None``: all)."""
    if principal.store_scoped:
        return _order_at(principal.locations)
    if principal.channel_scoped:
        return Order.channel_code == principal.channel
    return None


def customer_filter_for(principal: Principal) -> ColumnElement[bool] | None:
    """A ``WHERE`` clause on :class:`Customer` for lists (``None``: no restriction).

    A store-scoped caller browses the customers whose home store is one of theirs or who have an order at
    one of their stores. An integration key browses only the customers who ordered on its channel — it still
    reaches any customer it already knows by id or identifier (checkout recognises a store customer online).
    """
    if principal.store_scoped:
        ordered_here = exists().where(Order.customer_id == Customer.id, _order_at(principal.locations))
        return or_(Customer.home_location_code.in_(principal.locations), ordered_here)
    if principal.channel_scoped:
        return exists().where(Order.customer_id == Customer.id, Order.channel_code == principal.channel)
    return None


async def require_customer_access(session: AsyncSession, principal: Principal, customer_id: str) -> None:
    """Raise :class:`Forbidden` unless ``principal`` may see or change customer ``customer_id``.

    Store roles: the customer's home store is one of theirs, or the customer has an order at one of their
    stores (the order's location, its origin, or a line's location). Other roles: always allowed (their role permission
    was checked by ``Allow``). An unknown customer passes, so that the caller's own ``NotFound`` answers 404.
    """
    if not principal.store_scoped:
        return
    home = (await session.execute(select(Customer.home_location_code).where(Customer.id == customer_id))).first()
    if home is None:
        return
    if may_access_customer(principal, home_location=home[0], order_locations=()):
        return
    ordered_here = await session.scalar(
        select(exists().where(Order.customer_id == customer_id, _order_at(principal.locations))))
    if not ordered_here:
        raise Forbidden(f"Customer {customer_id} is neither a customer of {', '.join(principal.locations)} "
                        "nor has ordered there.", code="outside-scope")


async def require_order_access(session: AsyncSession, principal: Principal, order_id: str) -> None:
    """Raise :class:`Forbidden` unless ``principal`` may see or act on order ``order_id`` (unknown ids pass,
    so that the orders service answers 404)."""
    if not (principal.store_scoped or principal.channel_scoped):
        return
    order = (await session.execute(select(Order.channel_code, Order.location_code, Order.origin_location)
                                   .where(Order.id == order_id))).first()
    if order is None:
        return
    line_sites = (await session.scalars(select(OrderLine.location_code).where(OrderLine.order_id == order_id))).all()
    if not may_access_order(principal, channel=order[0], locations=[order[1], order[2], *line_sites]):
        raise Forbidden(f"Order {order_id} belongs to another {'store' if principal.store_scoped else 'channel'}.",
                        code="outside-scope")


async def require_order_channel(session: AsyncSession, principal: Principal, order_id: str) -> None:
    """Raise :class:`Forbidden` when an integration key names an order of another channel. Store staff pass:
    they take back any channel's order at their own counter (the return's location confines them)."""
    if principal.channel_scoped:
        await require_order_access(session, principal, order_id)


def event_filter_for(principal: Principal) -> ColumnElement[bool] | None:
    """A ``WHERE`` clause on :class:`OutboxEvent` (``None``: no restriction). A channel's key reads the events
    about its channel (its orders, their pickups, parcels, returns and try-ons) and the shared types; store
    roles and analysts have no access to the raw feed at all (its payloads span every store and customer)."""
    if not principal.channel_scoped:
        return None
    ours = select(Order.id).where(Order.channel_code == principal.channel)
    return or_(OutboxEvent.channel == principal.channel, OutboxEvent.subject.in_(ours),
               OutboxEvent.subject.in_(select(Shipment.id).where(Shipment.order_id.in_(ours))),
               *(OutboxEvent.type.startswith(prefix) for prefix in SHARED_TYPES))
