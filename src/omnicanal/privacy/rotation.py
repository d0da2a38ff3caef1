"""Key rotation: re-seal every sealed value under the current encryption key, and recompute every blind index
under the current blind-index key. Run by ``omnicanal gdpr rotate-key`` in one transaction, so a rotation is
all or nothing; running it again finds nothing left to do.

To rotate the encryption key: put the new key first in ``OMNICANAL_ENCRYPTION_KEYS`` keeping the old one
after it, restart the servers (new writes use the new key, old rows still open), run ``gdpr rotate-key``,
then remove the old key. To rotate the blind-index key: stop the servers (look-ups by identifier fail until
the indexes are recomputed), change ``OMNICANAL_BLIND_INDEX_KEY``, run ``gdpr rotate-key``, start them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Table, and_, delete, insert, select, tuple_, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.customers.crypto import identifier_digest, match_key_rows
from omnicanal.customers.models import Customer, CustomerIdentifier, CustomerMatchKey
from omnicanal.kit.crypto import keyring
from omnicanal.models import Base

BATCH = 500


def sealed_columns(table: Table) -> list[Column[Any]]:
    return [c for c in table.columns if getattr(c.type, "seals", False)]


async def rotate_keys(session: AsyncSession) -> dict[str, int]:
    """Re-seal stale values and recompute blind indexes; the rows changed, by table."""
    changed: dict[str, int] = {}
    for table in Base.metadata.sorted_tables:
        if sealed_columns(table):
            count = await _reseal(session, table)
            if count:
                changed[table.name] = count
    changed["customer_identifier (index)"] = await _reindex_identifiers(session)
    changed["customer_match_key (index)"] = await _rebuild_match_keys(session)
    return {name: count for name, count in changed.items() if count}


async def _reseal(session: AsyncSession, table: Table) -> int:
    """Rewrite, batch by batch in key order, the rows holding a value not sealed under the current key."""
    ring, key, columns = keyring(), list(table.primary_key.columns), sealed_columns(table)
    raw = [type_coerce(c, c.type.impl).label(c.name) for c in columns]  # type: ignore[attr-defined]
    changed, after = 0, None
    while True:
        query = select(*key, *raw).order_by(*key).limit(BATCH)
        if after is not None:
            query = query.where(tuple_(*key) > tuple_(*after))
        rows = (await session.execute(query)).all()
        if not rows:
            return changed
        after = tuple(rows[-1][:len(key)])
        for row in rows:
            stale = {c.name: c.type.process_result_value(row._mapping[c.name], None)  # type: ignore[attr-defined]
                     for c in columns if not ring.is_current(row._mapping[c.name])}
            if stale:
                await session.execute(update(table).where(and_(*(k == row._mapping[k.name] for k in key)))
                                      .values(stale))
                changed += 1


async def _reindex_identifiers(session: AsyncSession) -> int:
    rows = (await session.execute(select(CustomerIdentifier.kind, CustomerIdentifier.digest,
                                         CustomerIdentifier.value))).all()
    changed = 0
    for row in rows:
        digest = identifier_digest(row.kind, row.value)
        if digest != row.digest:
            await session.execute(update(CustomerIdentifier).where(
                CustomerIdentifier.kind == row.kind, CustomerIdentifier.digest == row.digest).values(digest=digest))
            changed += 1
    return changed


async def _rebuild_match_keys(session: AsyncSession) -> int:
    changed, after = 0, ""
    while True:
        customers = list((await session.scalars(select(Customer).where(Customer.id > after)
                                                .order_by(Customer.id).limit(BATCH))).all())
        if not customers:
            return changed
        after = customers[-1].id
        wanted = {(r["customer_id"], r["kind"], r["digest"]) for r in match_key_rows(customers)}
        held = {tuple(r) for r in (await session.execute(select(
            CustomerMatchKey.customer_id, CustomerMatchKey.kind, CustomerMatchKey.digest).where(
            CustomerMatchKey.customer_id.in_([c.id for c in customers])))).all()}
        if wanted != held:
            stale = {c for c, _, _ in wanted ^ held}
            await session.execute(delete(CustomerMatchKey).where(CustomerMatchKey.customer_id.in_(stale)))
            fresh = [{"customer_id": c, "kind": k, "digest": d} for c, k, d in wanted if c in stale]
            if fresh:
                await session.execute(insert(CustomerMatchKey), fresh)
            changed += len(stale)
