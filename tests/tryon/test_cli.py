"""``omnicanal try-ons expire``, run as an operator would, against the test hub's database."""

import asyncio
from datetime import timedelta

from sqlalchemy import update
from typer.testing import CliRunner

from omnicanal.cli import app
from omnicanal.kit.clock import utcnow
from omnicanal.tryon.models import TryOn
from tests.tryon.conftest import booking, level


async def test_the_operator_lapses_try_ons_whose_hold_ran_out(client, store, settings, db):
    held = (await client.post("/api/v1/try-ons", json=booking(("DRESS-1", 1), customer=store))).json()
    runner = CliRunner()
    env = {"OMNICANAL_DATABASE_URL": settings.database_url}
    nothing = await asyncio.to_thread(runner.invoke, app, ["try-ons", "expire"], env=env)
    assert nothing.exit_code == 0, nothing.output
    assert "0 try-on(s) lapsed" in nothing.output
    assert (await client.get(f"/api/v1/try-ons/{held['id']}")).json()["status"] == "booked"
    async with db.writer() as session:  # as if the slot were over: its hold ended a minute ago
        await session.execute(update(TryOn).values(hold_until=utcnow() - timedelta(minutes=1)))
        await session.commit()
    lapsed = await asyncio.to_thread(runner.invoke, app, ["try-ons", "expire"], env=env)
    assert lapsed.exit_code == 0, lapsed.output
    assert "1 try-on(s) lapsed" in lapsed.output
    assert (await client.get(f"/api/v1/try-ons/{held['id']}")).json()["status"] == "no_show"
    assert (await level(client, "PAR-RIV", "DRESS-1"))["reserved"] == 0
