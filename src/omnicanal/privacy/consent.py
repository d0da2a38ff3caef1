"""Consents: recording each grant and withdrawal (append-only) and answering "may we do this for them now?".

Every feature that markets to, profiles or tracks a customer asks :func:`may_we` (one customer) or
:func:`customers_who_may` (a campaign's audience) first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.access.rules import Principal
from omnicanal.customers.service import get_customer
from omnicanal.events.service import record_event
from omnicanal.kit.clock import utcnow
from omnicanal.network.errors import ChannelNotFound
from omnicanal.network.service import get_channel
from omnicanal.privacy.errors import ConsentInvalid
from omnicanal.privacy.models import Consent
from omnicanal.privacy.rules import ConsentChoice, Purpose, latest_choice, may

CLOCK_SKEW = timedelta(minutes=5)  # a till's clock may run a little ahead of the hub's


def choices_of(rows: Iterable[Consent]) -> list[ConsentChoice]:
    return [ConsentChoice(purpose=r.purpose, granted=r.granted, at=r.at, seq=r.id) for r in rows]


async def record_consent(session: AsyncSession, *, customer_id: str, purpose: Purpose, granted: bool, channel: str,
                         policy_version: str, source: str | None, at: datetime | None,
                         principal: Principal | None) -> Consent:
    """Append a grant or withdrawal made on ``channel`` under ``policy_version`` (``at``: when the customer chose,
    default now; a till replaying its queue gives the original time). Records ``consent.granted`` or
    ``consent.withdrawn``."""
    await get_customer(session, customer_id)
    now = utcnow()
    if at is not None and at > now + CLOCK_SKEW:
        raise ConsentInvalid("at: a consent cannot be given in the future.")
    try:
        await get_channel(session, channel)
    except ChannelNotFound as exc:
        raise ConsentInvalid(f"channel: no channel {channel}.") from exc
    row = Consent(customer_id=customer_id, purpose=purpose.value, granted=granted, at=at or now, channel_code=channel,
                  policy_version=policy_version, source=source,
                  recorded_by=principal.key_id if principal else "system", recorded_at=now)
    session.add(row)
    await session.flush()
    await record_event(session, f"consent.{'granted' if granted else 'withdrawn'}", customer_id, {
        "customer_id": customer_id, "purpose": purpose.value, "channel": channel, "policy_version": policy_version,
        "at": row.at.isoformat()})
    return row


async def consent_history(session: AsyncSession, customer_id: str) -> list[Consent]:
    """Every choice the customer made, newest first."""
    return list((await session.scalars(select(Consent).where(Consent.customer_id == customer_id)
                                       .order_by(Consent.at.desc(), Consent.id.desc()))).all())


def consent_state(history: Sequence[Consent], at: datetime) -> dict[str, Consent | None]:
    """For each purpose, the choice in force at ``at`` (``None``: never asked — so not allowed)."""
    by_seq = {row.id: row for row in history}
    choices = choices_of(history)
    state: dict[str, Consent | None] = {}
    for purpose in Purpose:
        choice = latest_choice(choices, purpose.value, at)
        state[purpose.value] = by_seq[choice.seq] if choice else None
    return state


async def may_we(session: AsyncSession, customer_id: str, purpose: Purpose | str, *,
                 at: datetime | None = None) -> bool:
    """May the retailer use ``customer_id``'s data for ``purpose`` now (or at ``at``)? ``False`` unless the
    customer's latest choice for that purpose was a grant — and for an unknown customer."""
    purpose = Purpose(purpose)
    rows = await session.scalars(select(Consent).where(Consent.customer_id == customer_id,
                                                       Consent.purpose == purpose.value))
    return may(choices_of(rows), purpose.value, at or utcnow())


async def customers_who_may(session: AsyncSession, customer_ids: Sequence[str], purpose: Purpose | str, *,
                            at: datetime | None = None) -> set[str]:
    """Those of ``customer_ids`` whose data may be used for ``purpose`` now (or at ``at``) — one query per
    thousand customers."""
    purpose, moment = Purpose(purpose), at or utcnow()
    found = await consent_choices(session, customer_ids, purpose)
    return {customer for customer, choices in found.items() if may(choices, purpose.value, moment)}


async def consent_choices(session: AsyncSession, customer_ids: Sequence[str], purpose: Purpose | str
                          ) -> dict[str, list[ConsentChoice]]:
    """Each customer's choices for ``purpose`` (customers who never chose are absent), for :func:`may`."""
    purpose = Purpose(purpose)
    found: dict[str, list[ConsentChoice]] = {}
    for start in range(0, len(customer_ids), 1000):
        rows = await session.scalars(select(Consent).where(
            Consent.customer_id.in_(customer_ids[start:start + 1000]), Consent.purpose == purpose.value))
        for row in rows:
            found.setdefault(row.customer_id, []).extend(choices_of([row]))
    return found
