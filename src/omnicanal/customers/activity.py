"""Anonymous activity from the channels — product views, cart additions, searches, store visits — and its
linking to customers.

A device is *known* when one of its ids is a customer's ``device`` or ``app_id`` identifier; its activity is
then recorded as theirs. An activity naming its customer links the device (it becomes an identifier) and
stitches the device's earlier anonymous activity. A store visit is personal tracking: it is linked only when
the customer consented to ``in_store_tracking`` at the time of the visit; otherwise it is counted as
anonymous footfall — no device, no customer — so a visit is never kept in a form that could be linked later.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.access.rules import Principal, require_channel, require_location
from omnicanal.customers.activity_schemas import ActivityIn, ActivityKind
from omnicanal.customers.crypto import device_digest, identifier_digest
from omnicanal.customers.errors import CustomerInvalid, IdentifierTaken
from omnicanal.customers.models import Customer, CustomerActivity, CustomerIdentifier
from omnicanal.customers.rules import DEVICE_KINDS, IdentifierKind
from omnicanal.customers.service import add_identifier, get_customer
from omnicanal.customers.stitching import stitch_device
from omnicanal.events.service import Event, record_events
from omnicanal.kit.clock import utcnow
from omnicanal.kit.errors import NotFound
from omnicanal.network.service import get_channel, get_location
from omnicanal.privacy.consent import consent_choices
from omnicanal.privacy.rules import Purpose, may

RECENT = 20


@dataclass(frozen=True)
class Recorded:
    recorded: int
    linked: int
    anonymous_visits: int
    stitched: int


async def device_owners(session: AsyncSession, device_ids: Sequence[str]) -> dict[str, str]:
    """The customer each known device belongs to (unknown devices are absent)."""
    wanted = {(kind, identifier_digest(kind, device)): device for device in set(device_ids) for kind in DEVICE_KINDS}
    if not wanted:
        return {}
    rows = await session.execute(select(CustomerIdentifier.kind, CustomerIdentifier.digest,
                                        CustomerIdentifier.customer_id).where(or_(*(
        and_(CustomerIdentifier.kind == kind, CustomerIdentifier.digest == digest) for kind, digest in wanted))))
    return {wanted[(row.kind, row.digest)]: row.customer_id for row in rows}


async def link_device(session: AsyncSession, *, device_id: str, customer_id: str) -> int:
    """The device signed in as the customer: it becomes their ``device`` identifier (unless it already is one
    of theirs) and its anonymous activity is stitched; how many activities were. :class:`IdentifierTaken`
    when the device belongs to another customer."""
    await get_customer(session, customer_id)
    owner = (await device_owners(session, [device_id])).get(device_id)
    if owner is not None and owner != customer_id:
        raise IdentifierTaken(IdentifierKind.DEVICE.value, device_id)
    stitched = await stitch_device(session, customer_id=customer_id, device_id=device_id)
    if owner is None:
        await add_identifier(session, customer_id=customer_id, kind=IdentifierKind.DEVICE.value, value=device_id)
    return stitched


async def record_activity(session: AsyncSession, *, items: Sequence[ActivityIn], principal: Principal | None
                          ) -> Recorded:
    """Record a batch of activity (all or nothing): link what can be linked, stitch what named its customer,
    keep visits without consent anonymous. Records ``activity.recorded`` and, per linked visit,
    ``customer.store_visited``."""
    await _check(session, items, principal)
    stitched = 0
    for device_id, named in sorted({(i.device_id, i.customer) for i in items if i.customer}):
        stitched += await link_device(session, device_id=device_id, customer_id=named)
    owners = await device_owners(session, [i.device_id for i in items])
    visitors = sorted({owners[i.device_id] for i in items if i.kind is ActivityKind.STORE_VISIT and i.device_id
                       in owners})
    consents = await consent_choices(session, visitors, Purpose.IN_STORE_TRACKING)
    now, rows, events = utcnow(), [], []
    for item in items:
        customer = owners.get(item.device_id)
        device: str | None = device_digest(item.device_id)
        if item.kind is ActivityKind.STORE_VISIT:
            if customer is None or not may(consents.get(customer, []), Purpose.IN_STORE_TRACKING.value, item.at):
                customer = device = None
            else:
                events.append(Event("customer.store_visited", customer, {
                    "customer_id": customer, "location": item.location, "at": item.at.isoformat()}))
        rows.append({"device_digest": device, "customer_id": customer, "kind": item.kind.value,
                     "channel_code": _channel(item, principal), "sku": item.sku, "location_code": item.location,
                     "search": item.search, "at": item.at, "recorded_at": now})
    await session.execute(insert(CustomerActivity), rows)
    kinds = {kind.value: sum(1 for r in rows if r["kind"] == kind.value) for kind in ActivityKind}
    await record_events(session, [Event("activity.recorded", "activity", {
        "count": len(rows), "kinds": {k: n for k, n in kinds.items() if n}}), *events])
    linked = sum(1 for r in rows if r["customer_id"])
    visits = sum(1 for r in rows if r["kind"] == ActivityKind.STORE_VISIT.value and not r["customer_id"])
    return Recorded(recorded=len(rows), linked=linked, anonymous_visits=visits, stitched=stitched)


def _channel(item: ActivityIn, principal: Principal | None) -> str | None:
    return item.channel or (principal.channel if principal else None)


async def _check(session: AsyncSession, items: Sequence[ActivityIn], principal: Principal | None) -> None:
    """Channels, stores and named customers must exist; a scoped caller reports only for its channel or stores."""
    for code in sorted({c for c in (_channel(i, principal) for i in items) if c}):
        if principal is not None:
            require_channel(principal, code)
        await _exists(get_channel(session, code), f"channel: no channel {code}.")
    for code in sorted({i.location for i in items if i.location}):
        if principal is not None and any(i.location == code for i in items if i.kind is ActivityKind.STORE_VISIT):
            require_location(principal, code)
        await _exists(get_location(session, code), f"location: no location {code}.")
    named = sorted({i.customer for i in items if i.customer})
    if named:
        known = set((await session.scalars(select(Customer.id).where(Customer.id.in_(named)))).all())
        missing = [c for c in named if c not in known]
        if missing:
            raise CustomerInvalid(f"customer: no customer {missing[0]}.")


async def _exists(lookup: Awaitable[object], problem: str) -> None:
    try:
        await lookup
    except NotFound as exc:
        raise CustomerInvalid(problem) from exc


async def recent_activity(session: AsyncSession, customer_id: str, *, visits: bool, limit: int = RECENT
                          ) -> list[CustomerActivity]:
    """The customer's latest store visits (``visits=True``) or latest browsing (views, carts, searches)."""
    kind = CustomerActivity.kind == ActivityKind.STORE_VISIT.value
    return list((await session.scalars(
        select(CustomerActivity).where(CustomerActivity.customer_id == customer_id, kind if visits else ~kind)
        .order_by(CustomerActivity.at.desc(), CustomerActivity.id.desc()).limit(limit))).all())
