"""Stitching: when a device id becomes linked to a customer, the device's earlier anonymous activity becomes
theirs. In-store visits are never kept anonymous with a device id (see :mod:`omnicanal.customers.activity`), so
stitching never links a visit made without consent to track in store."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.customers.crypto import device_digest
from omnicanal.customers.models import CustomerActivity
from omnicanal.events.service import record_event


async def stitch_device(session: AsyncSession, *, customer_id: str, device_id: str) -> int:
    """Link the anonymous activity of ``device_id`` to ``customer_id``; how many activities were stitched.
    Records ``customer.activity_stitched`` when there were any."""
    result = await session.execute(
        update(CustomerActivity)
        .where(CustomerActivity.device_digest == device_digest(device_id), CustomerActivity.customer_id.is_(None))
        .values(customer_id=customer_id))
    stitched = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if stitched:
        await record_event(session, "customer.activity_stitched", customer_id,
                           {"customer_id": customer_id, "activities": stitched})
    return stitched
