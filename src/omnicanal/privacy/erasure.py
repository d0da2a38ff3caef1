"""The right to erasure, and the retention job that applies it to customers inactive for too long.

Walking the registry, erasure deletes the profile, identifiers, consents and merge records; pseudonymises
what the retailer's figures need (orders, returns, bookings, requests, audit entries) by replacing the
customer id with a fresh anonymous token that nothing links back to the person; anonymises activity; and
scrubs the outbox (events naming the person get the token instead, personal values are blanked) and the
stored answers of retried writes. Records merged into the person are erased with them.

Events already delivered to webhooks or a broker are beyond the hub's reach: channels receive
``customer.erased`` and must erase their own copies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.access.rules import Principal
from omnicanal.customers.merging import merged_ids
from omnicanal.customers.models import Customer
from omnicanal.customers.service import get_customer, identifiers_of
from omnicanal.events.service import record_event
from omnicanal.kit.ids import new_id
from omnicanal.orders.rules import ORDER_TRANSITIONS
from omnicanal.orders.service import reassign_customer
from omnicanal.privacy.errors import ErasureRefused
from omnicanal.privacy.holdings import about, mentions, table_of
from omnicanal.privacy.registry import ACTIVITY_DATES, HOLDINGS, Erase, Holding
from omnicanal.privacy.requests import record_request
from omnicanal.privacy.rules import RequestKind

ERASED = "[erased]"
IN_PROGRESS = tuple(sorted(status for status, after in ORDER_TRANSITIONS.items() if after))  # not yet final
MIN_NEEDLE = 4  # shorter personal values are not searched for inside event payloads
RETENTION_BATCH = 100


@dataclass
class Subject:
    """One person being erased: their ids (with merged records), their token, and what to look for."""

    customer_id: str
    ids: list[str]
    token: str
    needles: dict[str, str] = field(default_factory=dict)  # text to replace → replacement
    created_at: datetime | None = None


@dataclass(frozen=True)
class Erasure:
    token: str
    request_id: str
    rows: dict[str, int]


async def erase_customer(session: AsyncSession, *, customer_id: str, principal: Principal | None,
                         kind: RequestKind = RequestKind.ERASURE) -> Erasure:
    """Erase customer ``customer_id`` (see the module), record the request and ``customer.erased`` — which
    names only the anonymous token. :class:`ErasureRefused` while an order of theirs is being fulfilled."""
    subject = await _subject(session, customer_id)
    busy = await _in_progress(session, subject)
    if busy is not None:
        raise ErasureRefused(f"Order {busy} is still being fulfilled: erase the customer once it is delivered, "
                             "collected or cancelled.", order=busy)
    rows = await _erase(session, [subject])
    return await _record(session, subject, rows[subject.token], kind=kind, principal=principal)


async def _record(session: AsyncSession, subject: Subject, rows: dict[str, int], *, kind: RequestKind,
                  principal: Principal | None) -> Erasure:
    request = await record_request(session, kind=kind, customer_id=subject.token, principal=principal,
                                   details={"rows": rows})
    await record_event(session, "customer.erased", subject.token, {
        "customer": subject.token, "kind": kind.value, "rows": rows})
    return Erasure(token=subject.token, request_id=request.id, rows=rows)


async def _subject(session: AsyncSession, customer_id: str) -> Subject:
    customer = await get_customer(session, customer_id, lock=True)  # orders naming them wait, or wait for us
    ids = [customer_id, *await merged_ids(session, customer_id)]
    token = new_id("anon")
    values = [customer.email, customer.phone, customer.first_name, customer.last_name,
              *(i.value for i in (await identifiers_of(session, [customer_id]))[customer_id])]
    needles = {value: ERASED for value in values if value and len(value) >= MIN_NEEDLE}
    return Subject(customer_id, ids, token, {**needles, **{i: token for i in ids}}, customer.created_at)


async def _in_progress(session: AsyncSession, subject: Subject) -> str | None:
    """An order of the person still being fulfilled, if any."""
    order = table_of("order")
    assert order is not None
    return await session.scalar(select(order.c.id).where(order.c.customer_id.in_(subject.ids),
                                                         order.c.status.in_(IN_PROGRESS)).limit(1))


async def _erase(session: AsyncSession, subjects: Sequence[Subject]) -> dict[str, dict[str, int]]:
    """Erase the subjects; the rows touched per table, by subject token. The customer rows go last."""
    rows: dict[str, dict[str, int]] = {s.token: {} for s in subjects}
    for holding in sorted(HOLDINGS, key=lambda h: h.table == "customer"):
        table = table_of(holding.table)
        if table is None or holding.erase is Erase.WITH_PARENT:
            continue
        counts = {s.token: await _erase_holding(session, holding, table, s) for s in subjects}
        if holding.table in SCRUBBERS:
            for token, count in (await SCRUBBERS[holding.table](session, table, subjects)).items():
                counts[token] += count
        for token, count in counts.items():
            if count:
                rows[token][holding.table] = count
    return rows


async def _erase_holding(session: AsyncSession, holding: Holding, table: Table, subject: Subject) -> int:
    if holding.erase is Erase.DELETE:
        return _count(await session.execute(delete(table).where(about(table, holding, subject.ids))))
    if holding.erase is Erase.PSEUDONYMISE and holding.table == "order":
        return sum([await reassign_customer(session, from_customer=i, to_customer=subject.token)
                    for i in subject.ids])
    if holding.erase is Erase.PSEUDONYMISE:
        return sum([_count(await session.execute(update(table).where(about(table, holding, [i]))
                                                 .values({column: subject.token})))
                    for i in subject.ids for column in holding.columns])
    if holding.erase is Erase.ANONYMISE and holding.table == "customer_activity":
        return _count(await session.execute(update(table).where(table.c.customer_id.in_(subject.ids)).values(
            customer_id=None, device_digest=subject.token, search=None)))
    return 0


def _count(result: Any) -> int:
    return int(result.rowcount or 0)


def scrub(value: Any, needles: dict[str, str]) -> Any:
    """``value`` (a JSON document) with every needle replaced inside its strings."""
    if isinstance(value, str):
        for needle, replacement in needles.items():
            value = value.replace(needle, replacement)
        return value
    if isinstance(value, dict):
        return {scrub(k, needles): scrub(v, needles) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, needles) for v in value]
    return value


def _owner(text: str, subjects: Sequence[Subject]) -> str | None:
    return next((s.token for s in subjects if any(i in text for i in s.ids)), None)


async def _scrub_events(session: AsyncSession, table: Table, subjects: Sequence[Subject]) -> dict[str, int]:
    """Events naming a subject get their token instead of their ids, and lose any personal value."""
    needles = {k: v for s in subjects for k, v in s.needles.items()}
    ids = [i for s in subjects for i in s.ids]
    counts = {s.token: 0 for s in subjects}
    found = (await session.execute(select(table.c.id, table.c.subject, table.c.data).where(
        table.c.subject.in_(ids) | mentions(table, ids)))).all()
    for row in found:
        owner = _owner(f"{row.subject} {row.data}", subjects)
        if owner is not None:
            counts[owner] += 1
        await session.execute(update(table).where(table.c.id == row.id).values(
            subject=scrub(row.subject, needles), data=scrub(row.data, needles)))
    return counts


async def _scrub_answers(session: AsyncSession, table: Table, subjects: Sequence[Subject]) -> dict[str, int]:
    """Stored answers naming a subject are deleted. They are sealed, so they are opened one by one (there are
    only those of the last 48 hours, and only those written since the oldest subject was created)."""
    since = min((s.created_at for s in subjects if s.created_at), default=None)
    query = select(table.c.scope, table.c.body)
    if since is not None:
        query = query.where(table.c.created_at >= since - timedelta(minutes=5))
    counts = {s.token: 0 for s in subjects}
    scopes = []
    for row in (await session.execute(query)).all():
        body = bytes(row.body or b"").decode(errors="replace")
        owner = next((s.token for s in subjects if any(n in body for n in s.needles if n != ERASED)), None)
        if owner is not None:
            counts[owner] += 1
            scopes.append(row.scope)
    for start in range(0, len(scopes), 500):
        await session.execute(delete(table).where(table.c.scope.in_(scopes[start:start + 500])))
    return counts


SCRUBBERS = {"outbox_event": _scrub_events, "idempotency_record": _scrub_answers}


# --- retention ------------------------------------------------------------------------------------------------
async def inactive_customers(session: AsyncSession, *, now: datetime, days: int, limit: int | None = None
                             ) -> list[str]:
    """Customers with no order, return, booking, activity, consent or change of profile in the last ``days``."""
    cutoff = now - timedelta(days=days)
    query = select(Customer.id).where(Customer.updated_at < cutoff, Customer.created_at < cutoff)
    for name, column, when in ACTIVITY_DATES:
        table = table_of(name)
        if table is not None:
            query = query.where(~exists().where(table.c[column] == Customer.id, table.c[when] >= cutoff))
    return list((await session.scalars(query.order_by(Customer.id).limit(limit))).all())


@dataclass(frozen=True)
class RetentionRun:
    cutoff: datetime
    inactive: list[str]
    erased: list[Erasure]
    skipped: list[str]  # orders still in progress


async def apply_retention(session: AsyncSession, *, now: datetime, days: int, apply: bool,
                          limit: int | None = None) -> RetentionRun:
    """Find the customers inactive for ``days``; with ``apply``, erase them (recorded as ``retention``
    requests made by the hub itself), a hundred at a time. Customers with an order still being fulfilled are
    skipped."""
    inactive = await inactive_customers(session, now=now, days=days, limit=limit)
    erased: list[Erasure] = []
    skipped: list[str] = []
    for start in range(0, len(inactive) if apply else 0, RETENTION_BATCH):
        subjects = []
        for customer_id in inactive[start:start + RETENTION_BATCH]:
            subject = await _subject(session, customer_id)
            if await _in_progress(session, subject) is None:
                subjects.append(subject)
            else:
                skipped.append(customer_id)
        rows = await _erase(session, subjects) if subjects else {}
        for subject in subjects:
            erased.append(await _record(session, subject, rows[subject.token], kind=RequestKind.RETENTION,
                                        principal=None))
    return RetentionRun(cutoff=now - timedelta(days=days), inactive=inactive, erased=erased, skipped=skipped)
