"""``omnicanal pickups …``: what an operator runs by hand (the server's sweeper expires pickups on its own)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from omnicanal.config import Settings
from omnicanal.fulfillment.rules import PickupState
from omnicanal.kit.jobs import run_until_done

app = typer.Typer(name="pickups", no_args_is_help=True,
                  help="Click & collect: the stores' preparation queues and the expiry of uncollected orders.")
console = Console()


async def _expire(settings: Settings) -> tuple[int, int]:
    from omnicanal.fulfillment.pickups import expire_uncollected_pickups
    from omnicanal.fulfillment.refusals import cancel_unanswered_refusals

    return (await run_until_done(settings, expire_uncollected_pickups),
            await run_until_done(settings, cancel_unanswered_refusals))


@app.command("expire")
def expire() -> None:
    """Expire every ready order not collected within its store's holding period, and cancel every refused order
    whose customer did not choose an alternative in time: stock back on sale, refund due."""
    expired, unanswered = asyncio.run(_expire(Settings()))
    console.print(f"[green]✓[/] {expired} uncollected pickup(s) expired: their articles are back on sale.")
    console.print(f"[green]✓[/] {unanswered} refused pickup(s) cancelled: their customers did not answer in time.")


async def _tasks(settings: Settings, location: str, state: PickupState | None, limit: int) -> list[tuple[str, ...]]:
    from omnicanal.db import connect
    from omnicanal.fulfillment.pickups import list_pickup_tasks
    from omnicanal.network.service import get_location

    db = connect(settings)
    try:
        async with db.reader() as session:
            await get_location(session, location)
            found = await list_pickup_tasks(session, location=location, state=state, after_order=None, limit=limit)
            return [(p.placed.order.id, p.state, p.task.promised_at.isoformat(timespec="minutes")
                     if p.task.promised_at else "", ", ".join(f"{li.quantity} × {li.sku}" for li in p.placed.lines))
                    for p in found]
    finally:
        await db.dispose()


@app.command("tasks")
def tasks(
    location: Annotated[str, typer.Argument(help="The store's code.")],
    state: Annotated[PickupState | None, typer.Option(help="Only this state.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    """A store's click & collect queue, oldest first."""
    from omnicanal.kit.errors import DomainError

    try:
        rows = asyncio.run(_tasks(Settings(), location, state, limit))
    except DomainError as exc:
        console.print(f"[red]✗[/] {exc.detail}")
        raise typer.Exit(1) from exc
    table = Table("order", "state", "promised", "lines", title=f"Click & collect at {location}")
    for row in rows:
        table.add_row(*row)
    console.print(table)
