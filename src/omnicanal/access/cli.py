"""``omnicanal users …``: create, list and deactivate the people who sign in to the console."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from omnicanal.access.rules import Role
from omnicanal.config import Settings

app = typer.Typer(name="users", no_args_is_help=True, help="The people who sign in to the console, and their roles.")
console = Console()
T = TypeVar("T")


def _run(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Migrate, then run ``work`` in one committed transaction; a refused request prints its reason."""
    from omnicanal.kit.errors import DomainError
    from omnicanal.migrations import upgrade_to_head

    settings = Settings()
    upgrade_to_head(settings.database_url)
    try:
        return asyncio.run(_in_transaction(settings, work))
    except DomainError as exc:
        console.print(f"[red]✗[/] {exc.detail}")
        raise typer.Exit(2) from exc


async def _in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    from omnicanal.db import connect

    db = connect(settings)
    try:
        async with db.writer() as session:
            result = await work(session)
            await session.commit()
            return result
    finally:
        await db.dispose()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password (12 characters or more)", hide_input=True, confirmation_prompt=True))


@app.command("create")
def create_user(
    email: Annotated[str, typer.Option(help="The address they sign in with.")],
    name: Annotated[str, typer.Option(help="Their name, as colleagues know it.")],
    role: Annotated[Role, typer.Option(help="What they may do.")],
    location: Annotated[list[str] | None, typer.Option(
        "--location", help="Store roles: a store they work in (repeat for several).")] = None,
    channel: Annotated[str | None, typer.Option(help="Integration role only: its channel.")] = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input (for scripts).")] = False,
) -> None:
    """Create a console user (the password is asked for, or read with --password-stdin)."""
    from omnicanal.access.users import create_user as create

    password = _read_password(password_stdin)
    user = _run(lambda session: create(session, email=email, name=name, role=role, password=password,
                                       locations=location or [], channel=channel))
    scope = f" at {', '.join(user.locations)}" if user.locations else (f" on {user.channel}" if user.channel else "")
    console.print(f"[green]✓[/] {user.name} <{user.email}> can sign in as {user.role}{scope} ({user.id}).")


@app.command("list")
def list_users(
    all_users: Annotated[bool, typer.Option("--all", help="Also list deactivated users.")] = False,
) -> None:
    """List the console users."""
    from omnicanal.access.users import list_users as listed

    rows = _run(lambda session: listed(session, after_id=None, limit=10_000, active=None if all_users else True))
    table = Table(show_edge=False)
    for column in ("id", "email", "name", "role", "scope", "active", "last sign-in"):
        table.add_column(column)
    for u in rows:
        last = u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "—"
        table.add_row(u.id, u.email, u.name, u.role, ", ".join(u.locations or []) or (u.channel or "—"),
                      "yes" if u.active else "no", last)
    console.print(table if rows else "No users yet: [bold]omnicanal users create --help[/]")


@app.command("deactivate")
def deactivate_user(
    user: Annotated[str, typer.Argument(help="The user's id or e-mail.")],
) -> None:
    """Stop a user signing in; their open sessions end at once."""
    from omnicanal.access.errors import UserNotFound
    from omnicanal.access.users import deactivate_user as deactivate
    from omnicanal.access.users import find_user_by_email

    async def work(session: AsyncSession) -> str:
        found = await find_user_by_email(session, user) if "@" in user else None
        if "@" in user and found is None:
            raise UserNotFound(f"No user signs in as {user}.")
        return (await deactivate(session, user_id=found.id if found else user)).email

    console.print(f"[green]✓[/] {_run(work)} can no longer sign in.")
