"""Merging two records of one person: everything that follows a person (orders, returns, identifiers, activity,
consents, bookings, requests — the tables the privacy registry marks ``move``) goes to the surviving record,
the survivor's missing details are filled from the duplicate, the duplicate is deleted, and the merge is
recorded (who, when, why, what moved) so that it can be explained later.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.access.rules import Principal
from omnicanal.customers.errors import CustomerInvalid
from omnicanal.customers.models import PERSONAL_FIELDS, Customer, CustomerMerge
from omnicanal.customers.service import get_customer, refresh_match_keys
from omnicanal.events.service import record_event
from omnicanal.kit.clock import utcnow
from omnicanal.kit.ids import new_id
from omnicanal.orders.service import reassign_customer
from omnicanal.privacy.holdings import table_of
from omnicanal.privacy.registry import HOLDINGS, Merge

FILLABLE = (*PERSONAL_FIELDS, "home_location_code")


async def merge_customers(session: AsyncSession, *, survivor_id: str, duplicate_id: str, reason: str | None,
                          principal: Principal | None) -> CustomerMerge:
    """Merge ``duplicate_id`` into ``survivor_id`` (see the module). Records ``customer.merged``.
    :class:`CustomerInvalid` when both are the same record; :class:`CustomerNotFound` when either is unknown."""
    if survivor_id == duplicate_id:
        raise CustomerInvalid("duplicate: a customer cannot be merged into itself.")
    await session.execute(select(Customer.id).where(Customer.id.in_([survivor_id, duplicate_id]))
                          .order_by(Customer.id).with_for_update())  # fixed lock order: no deadlock
    survivor = await get_customer(session, survivor_id)
    duplicate = await get_customer(session, duplicate_id)
    moved: dict[str, Any] = {"order": await reassign_customer(session, from_customer=duplicate_id,
                                                              to_customer=survivor_id)}
    for holding in HOLDINGS:
        table = table_of(holding.table)
        if holding.merge is Merge.MOVE and holding.table != "order" and table is not None:
            for column in holding.columns:
                result = await session.execute(update(table).where(table.c[column] == duplicate_id)
                                               .values({column: survivor_id}))
                moved[holding.table] = moved.get(holding.table, 0) + int(result.rowcount or 0)  # type: ignore[attr-defined]
    moved["filled"] = _fill(survivor, duplicate)
    await session.delete(duplicate)
    survivor.updated_at = utcnow()
    await session.flush()
    await refresh_match_keys(session, survivor)
    merge = CustomerMerge(id=new_id("mrg"), survivor_id=survivor_id, merged_id=duplicate_id,
                          merged_by=_who(principal), reason=reason, moved=moved, merged_at=utcnow())
    session.add(merge)
    await session.flush()
    await record_event(session, "customer.merged", survivor_id, {
        "customer_id": survivor_id, "merged": duplicate_id, "merge_id": merge.id,
        "moved": {name: count for name, count in moved.items() if name != "filled"}, "filled": moved["filled"]})
    return merge


def _fill(survivor: Customer, duplicate: Customer) -> list[str]:
    """Copy to the survivor the details it lacks and the duplicate has; the names of the fields filled."""
    filled = []
    for name in FILLABLE:
        if not getattr(survivor, name) and getattr(duplicate, name):
            setattr(survivor, name, getattr(duplicate, name))
            filled.append("home_location" if name == "home_location_code" else name)
    return filled


def _who(principal: Principal | None) -> str:
    return f"{principal.name} ({principal.key_id})" if principal else "system"


async def merged_ids(session: AsyncSession, customer_id: str) -> list[str]:
    """The ids of every record merged into ``customer_id``, directly or through earlier merges."""
    found: list[str] = []
    frontier = [customer_id]
    while frontier:
        merged = list((await session.scalars(select(CustomerMerge.merged_id)
                                             .where(CustomerMerge.survivor_id.in_(frontier)))).all())
        frontier = [m for m in merged if m not in found and m != customer_id]
        found += frontier
    return found


async def merges_into(session: AsyncSession, customer_ids: Sequence[str]) -> list[CustomerMerge]:
    """The merges whose survivor is one of ``customer_ids``, oldest first."""
    return list((await session.scalars(select(CustomerMerge).where(CustomerMerge.survivor_id.in_(customer_ids))
                                       .order_by(CustomerMerge.merged_at, CustomerMerge.id))).all())


async def merge_history(session: AsyncSession, customer_id: str) -> list[CustomerMerge]:
    """How ``customer_id`` came to be: every merge into it, including those into records merged into it."""
    await get_customer(session, customer_id)
    return await merges_into(session, [customer_id, *await merged_ids(session, customer_id)])
