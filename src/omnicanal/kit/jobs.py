"""Running a housekeeping job from the command line, batch after batch, each in its own transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.config import Settings


async def run_until_done(settings: Settings, job: Callable[[AsyncSession], Awaitable[int]]) -> int:
    """Call ``job`` (which handles one batch and says how many it handled) until a batch is empty."""
    from omnicanal.db import connect

    db = connect(settings)
    try:
        total = 0
        while True:
            async with db.writer() as session:
                handled = await job(session)
                await session.commit()
            total += handled
            if not handled:
                return total
    finally:
        await db.dispose()
