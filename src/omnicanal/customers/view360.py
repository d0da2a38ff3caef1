"""The customer 360 view: one read of everything about a customer, in a handful of queries (customer,
identifiers, orders and their lines, order count, returns and their lines, visits, browsing, consents, merges)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.customers.activity import recent_activity
from omnicanal.customers.activity_schemas import ActivityOut
from omnicanal.customers.merging import merged_ids
from omnicanal.customers.models import Customer, CustomerActivity, CustomerIdentifier
from omnicanal.customers.schemas import Address, CustomerOut, IdentifierOut
from omnicanal.customers.service import get_customer, identifiers_of
from omnicanal.customers.view_schemas import (
    ConsentStateOut,
    Customer360Out,
    OrdersSummary,
    ReturnLineSummary,
    ReturnSummary,
    Unavailable,
)
from omnicanal.kit.clock import utcnow
from omnicanal.orders.schemas import OrderLineOut, OrderOut, PaymentOut
from omnicanal.orders.service import OrderFilter, PlacedOrder, list_orders
from omnicanal.privacy.consent import consent_history, consent_state
from omnicanal.privacy.holdings import table_of
from omnicanal.returns.service import ReturnFilter, ReturnRecord, list_returns


def customer_out(c: Customer, identifiers: Sequence[CustomerIdentifier]) -> CustomerOut:
    """A customer and its identifiers as the API shows them."""
    return CustomerOut(
        id=c.id, first_name=c.first_name, last_name=c.last_name, email=c.email, phone=c.phone,
        birth_date=c.birth_date, address=Address.model_validate(c.address) if c.address else None,
        home_location=c.home_location_code, created_at=c.created_at, updated_at=c.updated_at,
        identifiers=[IdentifierOut(kind=i.kind, value=i.value, created_at=i.created_at) for i in identifiers])


def order_out(placed: PlacedOrder) -> OrderOut:
    o = placed.order
    return OrderOut(
        id=o.id, channel=o.channel_code, status=o.status, fulfillment=o.fulfillment, location=o.location_code,
        customer=o.customer_id, external_reference=o.external_reference, currency=o.currency,
        subtotal=o.subtotal, discount_total=o.discount_total, total=o.total,
        payment=PaymentOut(status=o.payment_status, reference=o.payment_reference),
        lines=[OrderLineOut(line_no=line.line_no, sku=line.sku, quantity=line.quantity, location=line.location_code,
                            unit_list_price=line.unit_list_price, unit_price=line.unit_price,
                            promotion_id=line.promotion_id, line_total=line.line_total) for line in placed.lines],
        created_at=o.created_at, updated_at=o.updated_at)


def return_summary(record: ReturnRecord) -> ReturnSummary:
    r = record.ret
    return ReturnSummary(id=r.id, order_id=r.order_id, status=r.status, method=r.method, location=r.location_code,
                         currency=r.currency, refund_amount=r.refund_amount, created_at=r.created_at,
                         lines=[ReturnLineSummary(sku=line.sku, quantity=line.quantity, condition=line.condition)
                                for line in record.lines])


def activity_out(row: CustomerActivity) -> ActivityOut:
    return ActivityOut(kind=row.kind, at=row.at, channel=row.channel_code, sku=row.sku, location=row.location_code,
                       search=row.search)


async def customer_360(session: AsyncSession, customer_id: str, *, orders_limit: int = 50) -> Customer360Out:
    """Profile, identifiers, the latest orders of every channel (with the total count), returns, visits,
    browsing, consents in force and merged records; loyalty and recommendations are not available yet."""
    customer = await get_customer(session, customer_id)
    identifiers = (await identifiers_of(session, [customer_id]))[customer_id]
    placed = await list_orders(session, filters=OrderFilter(customer=customer_id), before_id=None, limit=orders_limit)
    order = table_of("order")
    assert order is not None
    count = await session.scalar(select(func.count()).select_from(order).where(order.c.customer_id == customer_id))
    returns = await list_returns(session, filters=ReturnFilter(customer=customer_id), before_id=None, limit=100)
    consents = consent_state(await consent_history(session, customer_id), utcnow())
    return Customer360Out(
        profile=customer_out(customer, identifiers),
        orders=OrdersSummary(
            count=count or 0, shown=len(placed), by_channel=dict(Counter(p.order.channel_code for p in placed)),
            items=[order_out(p) for p in placed],
            more=f"/api/v1/orders?customer={customer_id}" if (count or 0) > len(placed) else None),
        returns=[return_summary(r) for r in returns],
        store_visits=[activity_out(a) for a in await recent_activity(session, customer_id, visits=True)],
        browsing=[activity_out(a) for a in await recent_activity(session, customer_id, visits=False)],
        consents=[ConsentStateOut(purpose=purpose, granted=bool(c and c.granted), at=c.at if c else None,
                                  channel=c.channel_code if c else None,
                                  policy_version=c.policy_version if c else None) for purpose, c in consents.items()],
        merged_records=await merged_ids(session, customer_id),
        loyalty=Unavailable(), recommendations=Unavailable())
