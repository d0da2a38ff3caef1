"""``omnicanal orders route --batch``: re-optimise the routing of the waiting ship orders (a cron job)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from omnicanal.config import Settings

app = typer.Typer(name="orders", no_args_is_help=True, help="Orders: routing of the ship orders.")
console = Console()


async def _route_batch(settings: Settings, time_limit: float, limit: int) -> object:
    from omnicanal.db import connect
    from omnicanal.routing.batches import route_batch

    db = connect(settings)
    try:
        async with db.writer() as session:
            outcome = await route_batch(session, time_limit=time_limit, limit=limit)
            await session.commit()
            return outcome
    finally:
        await db.dispose()


@app.command("route")
def route(
    batch: Annotated[bool, typer.Option("--batch", help="Route the waiting ship orders jointly (MIP, HiGHS).")]
    = False,
    time_limit: Annotated[float, typer.Option(min=0.1, max=300, help="Seconds the solver may take.")] = 10.0,
    limit: Annotated[int, typer.Option(min=1, max=5_000, help="At most this many waiting orders, oldest first.")]
    = 500,
) -> None:
    """Route the waiting ship orders (confirmed and not shipped, or backordered) jointly and optimally; only
    the plans that get cheaper change. Orders are routed one by one when placed: this is the periodic
    re-optimisation."""
    from omnicanal.kit.errors import DomainError
    from omnicanal.routing.batches import BatchOutcome

    if not batch:
        console.print("[yellow]•[/] Orders are routed as they are placed; [bold]--batch[/] re-optimises the "
                      "waiting ones jointly.")
        raise typer.Exit(2)
    try:
        outcome = asyncio.run(_route_batch(Settings(), time_limit, limit))
    except DomainError as exc:
        console.print(f"[red]✗[/] {exc.detail}")
        raise typer.Exit(1) from exc
    assert isinstance(outcome, BatchOutcome)
    table = Table("orders", "changed", "method", "solver", "seconds", "cost before", "cost after",
                  "parcels before", "parcels after", "still waiting", title="Batch routing")
    table.add_row(str(outcome.considered), str(outcome.changed), outcome.method, outcome.solver_status,
                  f"{outcome.seconds:.2f}", f"{outcome.cost_before / 100:.2f}", f"{outcome.cost_after / 100:.2f}",
                  str(outcome.parcels_before), str(outcome.parcels_after), str(len(outcome.still_waiting)))
    console.print(table)
    for move in outcome.moves:
        console.print(f"  {move.order}: {', '.join(move.before) or '—'} → {', '.join(move.after)} ({move.status})")
    for note in outcome.notes:
        console.print(f"[dim]• {note}[/]")
