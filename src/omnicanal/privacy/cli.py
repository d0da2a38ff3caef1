"""``omnicanal gdpr …``: the data subject's rights and the keys sealing personal data, for an operator.

Each command runs in one transaction on the database of ``OMNICANAL_DATABASE_URL``, is recorded in the
register of requests and the audit log as the operating-system user at the command line, and prints what it
did.
"""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(name="gdpr", no_args_is_help=True, rich_markup_mode="rich",
                  help="Privacy (GDPR): export or erase a customer, apply the retention period, rotate keys.")
console = Console(stderr=True)
T = TypeVar("T")
Customer = Annotated[str, typer.Argument(help="The customer's id (cus_…).")]


def _principal() -> Any:
    from omnicanal.access.rules import Principal, Role

    user = getpass.getuser()
    return Principal(key_id=f"cli:{user}"[:40], name=f"{user} (command line)", role=Role.ADMIN, kind="cli")


def _run(work: Callable[[Any, Any], Awaitable[T]]) -> T:
    """Run ``work(session, settings)`` in one committed transaction; a domain error is printed, exit code 1."""
    from omnicanal.config import Settings
    from omnicanal.db import connect
    from omnicanal.kit import crypto
    from omnicanal.kit.errors import DomainError

    settings = Settings()
    crypto.configure(settings)

    async def main() -> T:
        db = connect(settings)
        try:
            async with db.writer() as session:
                result = await work(session, settings)
                await session.commit()
                return result
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        console.print(f"[red]✗[/] {exc.detail}")
        raise typer.Exit(1) from exc


async def _audit(session: Any, action: str, subject: str, command: str) -> None:
    from omnicanal.audit.service import record_access

    await record_access(session, principal=_principal(), action=action, subject_type="customer", subject_id=subject,
                        route=f"cli gdpr {command}")


@app.command()
def export(customer: Customer, output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the JSON to this file (default: standard output).")] = None) -> None:
    """Export everything held on a customer (the right of access) as JSON."""
    from omnicanal.privacy.export import export_customer

    async def work(session: Any, settings: Any) -> dict[str, Any]:
        await _audit(session, "export", customer, "export")
        return await export_customer(session, customer_id=customer, principal=_principal(),
                                     policy_version=settings.privacy_policy_version)

    document = json.dumps(_run(work), indent=2, ensure_ascii=False)
    if output is None:
        typer.echo(document)
    else:
        output.write_text(document, encoding="utf-8")
        console.print(f"[green]✓[/] Export of {customer} written to {output}.")


@app.command()
def erase(customer: Customer, yes: Annotated[bool, typer.Option(
        "--yes", help="Do not ask for confirmation.")] = False) -> None:
    """Erase a customer (the right to erasure): irreversible."""
    from omnicanal.privacy.erasure import erase_customer

    if not yes:
        typer.confirm(f"Erase {customer} for good? Their personal data cannot be recovered", abort=True)

    async def work(session: Any, settings: Any) -> Any:
        erased = await erase_customer(session, customer_id=customer, principal=_principal())
        await _audit(session, "erase", erased.token, "erase")
        return erased

    erased = _run(work)
    console.print(f"[green]✓[/] Erased. Their orders now name [bold]{erased.token}[/]; request {erased.request_id}.")
    _print_counts(erased.rows, "rows")


@app.command()
def retention(
    apply: Annotated[bool, typer.Option("--apply", help="Erase them (without it: only list them).")] = False,
    days: Annotated[int | None, typer.Option(min=30, help="Override OMNICANAL_RETENTION_DAYS.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many customers in this run.")] = None,
) -> None:
    """Anonymise the customers inactive for longer than the retention period (a dry run without --apply)."""
    from omnicanal.kit.clock import utcnow
    from omnicanal.privacy.erasure import apply_retention

    async def work(session: Any, settings: Any) -> Any:
        return await apply_retention(session, now=utcnow(), days=days or settings.retention_days, apply=apply,
                                     limit=limit)

    run = _run(work)
    console.print(f"{len(run.inactive)} customer(s) inactive since {run.cutoff:%Y-%m-%d}.")
    if not apply:
        for customer_id in run.inactive[:20]:
            typer.echo(customer_id)
        console.print("Dry run: nothing erased. Run again with [bold]--apply[/] to anonymise them.")
        return
    console.print(f"[green]✓[/] {len(run.erased)} anonymised; {len(run.skipped)} skipped (orders in progress).")


@app.command("rotate-key")
def rotate_key() -> None:
    """Re-seal personal data under the first key of OMNICANAL_ENCRYPTION_KEYS and recompute the look-up
    indexes under OMNICANAL_BLIND_INDEX_KEY (run after changing either; safe to run again)."""
    from omnicanal.kit.crypto import keyring
    from omnicanal.privacy.rotation import rotate_keys

    async def work(session: Any, settings: Any) -> dict[str, int]:
        return await rotate_keys(session)

    changed = _run(work)
    console.print(f"[green]✓[/] Personal data sealed under key {keyring().current_id}.")
    _print_counts(changed, "rows rewritten")


@app.command("new-key")
def new_key() -> None:
    """Print a fresh random key for OMNICANAL_ENCRYPTION_KEYS or OMNICANAL_BLIND_INDEX_KEY."""
    from omnicanal.kit.crypto import new_key as make

    typer.echo(make())


def _print_counts(counts: dict[str, int], what: str) -> None:
    table = Table(show_edge=False)
    table.add_column("table")
    table.add_column(what, justify="right")
    for name, count in counts.items():
        table.add_row(name, str(count))
    console.print(table)
