"""The ``omnicanal`` command: run the hub, migrate its database, seed the demo retailer, issue API keys.

Settings come from ``omnicanal.config.Settings`` (``OMNICANAL_*`` variables or a ``.env`` file), read
afresh by every command.
"""

from __future__ import annotations

import asyncio
import time
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import update
from sqlalchemy.engine import make_url

from omnicanal import __version__
from omnicanal.access.cli import app as users_app
from omnicanal.access.rules import Role
from omnicanal.config import Settings
from omnicanal.fulfillment.cli import app as pickups_app
from omnicanal.privacy.cli import app as gdpr_app
from omnicanal.routing.cli import app as orders_app
from omnicanal.serving import uvicorn_options
from omnicanal.tryon.cli import app as try_ons_app

app = typer.Typer(
    name="omnicanal", no_args_is_help=True, rich_markup_mode="rich", pretty_exceptions_show_locals=False,
    help="Omnicanal — the omnichannel retail hub: one catalog, one stock, one customer, every channel's orders.",
)
app.add_typer(users_app)
app.add_typer(try_ons_app)
app.add_typer(pickups_app)
app.add_typer(orders_app)
app.add_typer(gdpr_app)
console = Console()
DEMO_KEY_NAME = "demo console (omnicanal demo)"
DEVELOPER = "Developers"


class Size(StrEnum):
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


Host = Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0 for every interface).")]
Port = Annotated[int, typer.Option(min=1, max=65_535, help="TCP port.")]
SizeOption = Annotated[Size, typer.Option(help="small: seconds · medium: 60k orders · large: 1M orders.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same data.")]


def _settings() -> Settings:
    from omnicanal.kit.crypto import configure

    settings = Settings()
    configure(settings)  # the keyring that seals personal data, as the server uses it
    return settings


def _where(settings: Settings) -> str:
    return make_url(settings.database_url).render_as_string(hide_password=True)


@app.callback(invoke_without_command=True)
def main(version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False) -> None:
    if version:
        console.print(f"omnicanal {__version__}")
        raise typer.Exit()


# --- database ---------------------------------------------------------------------------------------------
def _migrate(settings: Settings) -> None:
    from alembic.util import CommandError
    from sqlalchemy.exc import DBAPIError

    from omnicanal.migrations import upgrade_to_head

    try:
        result = upgrade_to_head(settings.database_url)
    except CommandError as exc:  # e.g. a revision this version of the hub does not know
        console.print(f"[red]✗[/] Cannot migrate {_where(settings)}: {exc}. Was it created by another version "
                      "of Omnicanal? Use a fresh database (OMNICANAL_DATABASE_URL) or that version.")
        raise typer.Exit(1) from exc
    except DBAPIError as exc:
        console.print(f"[red]✗[/] Cannot migrate {_where(settings)}: {exc.orig}")
        raise typer.Exit(1) from exc
    if result.changed:
        console.print(f"[green]✓[/] Database {_where(settings)} migrated "
                      f"from {result.before or 'empty'} to [bold]{result.after}[/].")
    else:
        console.print(f"[green]✓[/] Database {_where(settings)} is up to date ([bold]{result.after}[/]).")


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (safe to run again: it only applies what is missing)."""
    _migrate(_settings())


def _progress() -> Progress:
    return Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=False)


async def _seed_if_empty(settings: Settings, size: Size, seed: int) -> bool:
    from omnicanal.db import connect
    from omnicanal.demo import hub_has_data, seed_demo

    db = connect(settings)
    try:
        if await hub_has_data(db):
            console.print(f"[yellow]•[/] {_where(settings)} already holds a retailer's data: nothing seeded "
                          "(seeding only fills an empty hub; point OMNICANAL_DATABASE_URL at a new database).")
            return False
        started = time.perf_counter()
        with _progress() as progress:
            counts = await seed_demo(db, size=size.value, seed=seed, currency=settings.currency, progress=progress)
        _print_counts(counts.rows, size, seed, time.perf_counter() - started)
        return True
    finally:
        await db.dispose()


def _print_counts(rows: dict[str, int], size: Size, seed: int, seconds: float) -> None:
    table = Table(title=f"Maison Lumière — demo {size.value}, seed {seed}, {seconds:.1f} s", show_edge=False)
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in rows.items():
        table.add_row(name, f"{count:,}".replace(",", " "))
    console.print(table)


@app.command()
def seed(size: SizeOption = Size.SMALL, seed: SeedOption = 42) -> None:
    """Migrate, then load the demo retailer "Maison Lumière" — only into an empty hub."""
    settings = _settings()
    _migrate(settings)
    asyncio.run(_seed_if_empty(settings, size, seed))


# --- API keys ---------------------------------------------------------------------------------------------
async def _issue_key(settings: Settings, name: str, role: Role, *, locations: list[str] | None = None,
                     channel: str | None = None, replace: bool = False) -> tuple[str, str]:
    from omnicanal.access.models import ApiKey
    from omnicanal.access.service import check_scope, create_api_key
    from omnicanal.db import connect
    from omnicanal.kit.clock import utcnow

    db = connect(settings)
    try:
        async with db.writer() as session:
            await check_scope(session, role, locations or [], channel)
            if replace:  # the demo's previous console keys stop working
                await session.execute(update(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None))
                                      .values(revoked_at=utcnow()))
            issued = await create_api_key(session, name=name, role=role, locations=locations or [], channel=channel)
            await session.commit()
            return issued.key.id, issued.token
    finally:
        await db.dispose()


@app.command("create-api-key")
def create_api_key_command(
    name: Annotated[str, typer.Option(help="Who or what uses the key, e.g. 'web shop' or 'Lyon till fleet'.")],
    role: Annotated[Role, typer.Option(help="What the key may do.")],
    location: Annotated[list[str] | None, typer.Option(
        "--location", help="Store roles: a store the key works in (repeat for several).")] = None,
    channel: Annotated[str | None, typer.Option(help="Integration keys: the channel the key speaks for.")] = None,
) -> None:
    """Issue an API key and print its token — the only time it is shown."""
    from omnicanal.kit.errors import DomainError

    if not name.strip():
        raise typer.BadParameter("the name may not be empty", param_hint="--name")
    settings = _settings()
    _migrate(settings)
    try:
        key_id, token = asyncio.run(_issue_key(settings, name.strip(), role, locations=location, channel=channel))
    except DomainError as exc:
        console.print(f"[red]✗[/] No key issued: {exc.detail}")
        raise typer.Exit(2) from exc
    console.print(f"[green]✓[/] Key [bold]{key_id}[/] ({role.value}) for {name.strip()!r}. "
                  "Store the token now: it is not shown again.")
    typer.echo(token)


# --- serving ----------------------------------------------------------------------------------------------
def _serve(settings: Settings, host: str, port: int, workers: int) -> None:
    import uvicorn

    options = uvicorn_options(workers)
    console.print(f"[green]▶[/] Omnicanal {__version__} on http://{host}:{port} — {workers} worker(s), "
                  f"{options['http']}, database {_where(settings)}")
    uvicorn.run("omnicanal.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level=settings.log_level, proxy_headers=True, access_log=settings.access_log, **options)


@app.command()
def serve(
    host: Host = "127.0.0.1", port: Port = 8000,
    workers: Annotated[int, typer.Option(min=1, max=256, help="Server processes (all share the database).")] = 1,
) -> None:
    """Run the hub's HTTP API (uvicorn, httptools when installed)."""
    _serve(_settings(), host, port, workers)


@app.command()
def demo(size: SizeOption = Size.SMALL, seed: SeedOption = 42, host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Migrate, seed "Maison Lumière" if the hub is empty, issue an admin key, print how to try it, serve."""
    settings = _settings()
    _migrate(settings)
    asyncio.run(_seed_if_empty(settings, size, seed))
    _, token = asyncio.run(_issue_key(settings, DEMO_KEY_NAME, Role.ADMIN, replace=True))
    users = asyncio.run(_demo_users(settings))
    _print_welcome(f"http://{host}:{port}", token)
    _print_users(users)
    _serve(settings, host, port, workers=1)


async def _demo_users(settings: Settings) -> list[tuple[Role, str, str]]:
    """One console user per role (reset if they exist), when the hub holds the demo's stores and channels."""
    from omnicanal.access.demo_users import create_demo_users
    from omnicanal.db import connect
    from omnicanal.kit.errors import DomainError

    db = connect(settings)
    try:
        async with db.writer() as session:
            users = await create_demo_users(session)
            await session.commit()
            return users
    except DomainError as exc:  # a hub holding another retailer's network
        console.print(f"[yellow]•[/] No demo console users: {exc.detail}")
        return []
    finally:
        await db.dispose()


def _print_users(users: list[tuple[Role, str, str]]) -> None:
    if not users:
        return
    table = Table(title="Console users, one per role (demo passwords)", show_edge=False)
    for column in ("role", "e-mail", "password"):
        table.add_column(column)
    for role, email, password in users:
        table.add_row(role.value, email, password)
    console.print(table, soft_wrap=True)


def _print_welcome(url: str, token: str) -> None:
    from omnicanal.demo.catalog import FLAGSHIP as SAMPLE_SKU  # in every demo size

    console.print(Panel.fit(
        f"[bold]Maison Lumière[/] is open: 12 stores, a warehouse, five channels, a year of orders.\n"
        f"API docs: [link={url}/docs]{url}/docs[/]   (the key below is revoked the next time the demo starts)",
        title="Omnicanal demo", border_style="green"))
    lines = [
        "[dim]# the admin key (a new one at every start)[/]",
        f"export OMNICANAL_KEY={token}",
        "[dim]# the flagship lamp's price on every channel (a marketplace price, with its reason)[/]",
        f'curl -s -H "Authorization: Bearer $OMNICANAL_KEY" {url}/api/v1/products/{SAMPLE_SKU}/prices',
        "[dim]# where it is in stock, store by store[/]",
        f'curl -s -H "Authorization: Bearer $OMNICANAL_KEY" {url}/api/v1/availability/{SAMPLE_SKU}',
        "[dim]# prices that differ between channels with no recorded reason[/]",
        f'curl -s -H "Authorization: Bearer $OMNICANAL_KEY" {url}/api/v1/prices/audit',
    ]
    for line in lines:  # never wrapped, so that each line pastes as one command
        console.print(line, soft_wrap=True, highlight=False)
    console.print()


# --- benchmarks (their own package, imported only when asked for) ----------------------------------------
@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True}, add_help_option=False)
def bench(ctx: typer.Context) -> None:
    """Run the benchmarks and print their figures ([bold]omnicanal bench --help[/] for the options)."""
    try:
        from omnicanal.benchmarks.cli import app as bench_app
    except ImportError as exc:
        console.print(f"[red]✗[/] The benchmarks are not available in this installation ({exc}).")
        raise typer.Exit(1) from exc
    command = typer.main.get_command(bench_app)
    command.main(args=list(ctx.args), prog_name="omnicanal bench", standalone_mode=True)


# --- developers -------------------------------------------------------------------------------------------
@app.command("new-migration", rich_help_panel=DEVELOPER)
def new_migration_command(
    message: Annotated[str, typer.Argument(help="What changed, e.g. 'add loyalty tier'.")],
    replace_initial: Annotated[bool, typer.Option(
        help="Before the first release only: delete every revision and regenerate one initial migration.")] = False,
) -> None:
    """Write an Alembic migration autogenerated from the models (check it before committing)."""
    from omnicanal.migrations import new_migration

    path = new_migration(message, replace_initial=replace_initial)
    if path is None:
        console.print("[green]✓[/] The migrations already match the models: nothing written.")
    else:
        console.print(f"[green]✓[/] Wrote {path}")

