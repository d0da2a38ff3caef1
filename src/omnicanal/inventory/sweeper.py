"""The server's periodic housekeeping: release expired reservations, forget old idempotency records."""

from __future__ import annotations

import asyncio
import logging

from omnicanal.config import Settings
from omnicanal.db import Database
from omnicanal.kit.clock import utcnow
from omnicanal.kit.idempotency import forget_idempotency_records

log = logging.getLogger("omnicanal.sweeper")


async def sweep_once(db: Database, settings: Settings) -> int:
    """One pass; returns how many reservations expired."""
    from omnicanal.access.signin import forget_old_sign_in_records
    from omnicanal.fulfillment.pickups import expire_uncollected_pickups
    from omnicanal.fulfillment.refusals import cancel_unanswered_refusals
    from omnicanal.inventory.holds import expire_reservations
    from omnicanal.tryon.service import expire_try_ons

    async with db.writer() as session:
        await expire_try_ons(session, now=utcnow())  # first, so that lapsed try-ons record their no-shows
        expired = await expire_reservations(session, now=utcnow())
        await expire_uncollected_pickups(session, now=utcnow())
        await cancel_unanswered_refusals(session, now=utcnow())
        await forget_idempotency_records(session, now=utcnow(), retention_hours=settings.idempotency_retention_hours)
        await forget_old_sign_in_records(session, now=utcnow(), settings=settings)
        await session.commit()
    return expired


async def sweep_forever(db: Database, settings: Settings) -> None:
    while True:
        try:
            expired = await sweep_once(db, settings)
            if expired:
                log.info("released %d expired reservations", expired)
        except Exception:  # keep sweeping after a transient database error
            log.exception("reservation sweep failed")
        await asyncio.sleep(settings.reservation_sweep_seconds)
