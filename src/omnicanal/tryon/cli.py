"""``omnicanal try-ons …``: what an operator runs by hand (the server's sweeper does it every few seconds)."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console

from omnicanal.config import Settings
from omnicanal.kit.jobs import run_until_done

app = typer.Typer(name="try-ons", no_args_is_help=True, help="Reserve online, try in store: holds and no-shows.")
console = Console()


async def _expire(settings: Settings) -> int:
    from omnicanal.tryon.service import expire_try_ons

    return await run_until_done(settings, expire_try_ons)


@app.command("expire")
def expire() -> None:
    """Lapse every try-on whose hold ran out: articles back on sale, no-shows recorded."""
    lapsed = asyncio.run(_expire(Settings()))
    console.print(f"[green]✓[/] {lapsed} try-on(s) lapsed: their articles are back on sale.")
