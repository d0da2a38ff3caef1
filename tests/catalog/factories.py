"""Builders for catalog tests: channels are written straight into the ``channel`` table so that these tests
do not depend on the network API."""

from __future__ import annotations

from omnicanal.db import Database
from omnicanal.kit.clock import utcnow
from omnicanal.network.models import Channel

CHANNELS = ("web", "app", "pos", "kiosk", "marketplace", "social")


async def make_channels(db: Database, *codes: str, inactive: tuple[str, ...] = ()) -> list[str]:
    """Create the channels ``codes`` (default: the six usual ones); those in ``inactive`` are switched off."""
    now = utcnow()
    codes = codes or CHANNELS
    async with db.writer() as session:
        session.add_all(Channel(code=code, name=code.title(), kind=code if code in CHANNELS else "web",
                                online=code not in ("pos", "kiosk"), safety_buffer=0, active=code not in inactive,
                                created_at=now, updated_at=now) for code in (*codes, *inactive))
        await session.commit()
    return list(codes)
