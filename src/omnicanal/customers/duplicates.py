"""Probable duplicates: records that share a match key (a blind index) and whose names are alike, proposed
for a person to confirm with a merge. Exact identifiers never need this: they already find one customer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

from sqlalchemy import ColumnElement, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.customers.crypto import person_of
from omnicanal.customers.matching import Likeness, likeness
from omnicanal.customers.models import Customer, CustomerMatchKey
from omnicanal.customers.service import get_customer

CHUNK = 500
MAX_BLOCK = 2_000  # a block this large says nothing (a shared placeholder value): it is not searched


@dataclass(frozen=True)
class Duplicate:
    first: Customer
    second: Customer
    likeness: Likeness


async def duplicates_of(session: AsyncSession, customer_id: str, *, scope: ColumnElement[bool] | None = None
                        ) -> list[Duplicate]:
    """The records probably of the same person as ``customer_id``, most likely first (``scope``: an extra
    ``WHERE`` on the candidates, e.g. a store's customers)."""
    customer = await get_customer(session, customer_id)
    keys = (await session.execute(select(CustomerMatchKey.kind, CustomerMatchKey.digest)
                                  .where(CustomerMatchKey.customer_id == customer_id))).all()
    if not keys:
        return []
    others = set((await session.scalars(select(CustomerMatchKey.customer_id).where(
        tuple_(CustomerMatchKey.kind, CustomerMatchKey.digest).in_([tuple(k) for k in keys]),
        CustomerMatchKey.customer_id != customer_id))).all())
    candidates = await _customers(session, others, scope)
    found = [Duplicate(customer, other, alike) for other in candidates
             if (alike := likeness(person_of(customer), person_of(other))) is not None]
    return sorted(found, key=lambda d: (-d.likeness.score, d.second.id))


async def all_duplicates(session: AsyncSession, *, scope: ColumnElement[bool] | None = None) -> list[Duplicate]:
    """Every pair of probable duplicates in the hub (or in ``scope``), most likely first."""
    blocks = (await session.execute(
        select(CustomerMatchKey.kind, CustomerMatchKey.digest).group_by(CustomerMatchKey.kind, CustomerMatchKey.digest)
        .having(func.count() > 1, func.count() <= MAX_BLOCK))).all()
    members: dict[tuple[str, str], list[str]] = {}
    for start in range(0, len(blocks), CHUNK):
        keys = [tuple(block) for block in blocks[start:start + CHUNK]]
        rows = await session.execute(select(CustomerMatchKey.kind, CustomerMatchKey.digest,
                                            CustomerMatchKey.customer_id).where(
            tuple_(CustomerMatchKey.kind, CustomerMatchKey.digest).in_(keys)))
        for row in rows:
            members.setdefault((row.kind, row.digest), []).append(row.customer_id)
    pairs = {tuple(sorted(pair)) for ids in members.values() for pair in combinations(ids, 2)}
    people = {c.id: c for c in await _customers(session, {i for pair in pairs for i in pair}, scope)}
    found = []
    for a, b in sorted(pairs):
        if a in people and b in people and (alike := likeness(person_of(people[a]), person_of(people[b]))):
            found.append(Duplicate(people[a], people[b], alike))
    return sorted(found, key=lambda d: (-d.likeness.score, d.first.id, d.second.id))


async def _customers(session: AsyncSession, ids: Iterable[str], scope: ColumnElement[bool] | None
                     ) -> list[Customer]:
    wanted: Sequence[str] = sorted(ids)
    found: list[Customer] = []
    for start in range(0, len(wanted), CHUNK):
        query = select(Customer).where(Customer.id.in_(wanted[start:start + CHUNK]))
        if scope is not None:
            query = query.where(scope)
        found += (await session.scalars(query)).all()
    return found
