"""Customer look-up by identifier and the customer 360 view: latency with personal data encrypted at rest, and
what encryption costs against the same hub storing it in clear.

Two fresh databases are seeded with the demo retailer (``--size medium``: 5,000 customers, ~12,000
identifiers, 60,000 orders), one with personal data encrypted, one in clear; a hub is created in-process on
each, and requests are sent one at a time through their ASGI interface (httpx, no network), alternating
between the two hubs so that the machine's noise falls on both alike: ``GET /api/v1/customers/lookup`` for
random identifiers of every kind, then ``GET /api/v1/customers/{id}/360`` for random customers who bought.
Latencies are per request, end to end through the hub (routing, auth, transaction, queries, decryption, JSON,
and the audit-log entry each read of personal data writes). A micro-benchmark of the primitives (seal, open,
blind index) says where the difference comes from.

    python bench/customers_bench.py [--size medium] [--lookups 3000] [--views 600] [--database-url URL]
    omnicanal bench customers …   (the same, from the repository root)

Prints a table and writes ``bench/results/customers.json``. Goal: look-up p99 ≤ 20 ms with encryption on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import Text, select, type_coerce

from omnicanal.app import create_app
from omnicanal.benchmarks.report import machine
from omnicanal.config import Settings
from omnicanal.customers.models import CustomerIdentifier
from omnicanal.customers.rules import normalise_identifier
from omnicanal.db import connect
from omnicanal.demo import seed_demo
from omnicanal.kit import crypto
from omnicanal.kit.clock import utcnow
from omnicanal.kit.crypto import Keyring, keyring_from, new_key
from omnicanal.models import Base
from omnicanal.orders.models import Order

GOAL_LOOKUP_P99_MS = 20.0
TOKEN = "bench-customers"
SERIES = ("lookup", "view_360")
console = Console()


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)

    return {"count": len(ordered), "p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99),
            "max_ms": round(ordered[-1] * 1000, 3), "mean_ms": round(statistics.fmean(ordered) * 1000, 3)}


@dataclass
class Mode:
    """One hub: its keyring, its ASGI client, what to ask it, and the latencies measured."""

    encrypted: bool
    ring: Keyring
    client: httpx.AsyncClient
    identifiers: list[tuple[str, str]]
    buyers: list[str]
    info: dict[str, Any]
    samples: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in SERIES})

    def call(self, series: str, rng: random.Random) -> Awaitable[httpx.Response]:
        if series == "lookup":
            kind, value = rng.choice(self.identifiers)
            return self.client.get("/api/v1/customers/lookup", params={"kind": kind, "value": value})
        return self.client.get(f"/api/v1/customers/{rng.choice(self.buyers)}/360")


async def prepare(encrypted: bool, args: argparse.Namespace, workdir: Path, stack: AsyncExitStack) -> Mode:
    """A freshly seeded hub, encryption on or off."""
    given = args.database_url if encrypted else args.database_url_off
    url = given or f"sqlite+aiosqlite:///{workdir / ('on.db' if encrypted else 'off.db')}"
    settings = Settings(database_url=url, admin_token=TOKEN, encryption_keys=new_key(), blind_index_key=new_key(),
                        api_key_cache_seconds=60)
    ring = keyring_from(settings) if encrypted else Keyring.plain()
    crypto.install(ring)
    db = connect(settings)
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    console.print(f"• encryption {'on' if encrypted else 'off'}: seeding the {args.size} demo into {db.dialect}…")
    started = time.perf_counter()
    await seed_demo(db, size=args.size, seed=args.seed)
    seeded_in = time.perf_counter() - started
    async with db.reader() as session:
        stored_identifiers = [(i.kind, i.value) for i in (await session.scalars(select(CustomerIdentifier))).all()]
        buyers = list((await session.scalars(select(Order.customer_id).where(Order.customer_id.is_not(None))
                                             .group_by(Order.customer_id))).all())
        stored = type_coerce(Base.metadata.tables["customer"].c.email, Text)  # as stored, not opened
        sample_email = (await session.execute(select(stored).limit(1))).scalar()
    await db.dispose()
    identifiers = [(kind, value) for kind, value in stored_identifiers if _valid(kind, value)]
    application = create_app(settings, background_jobs=False)
    stack.push_async_callback(application.state.db.dispose)
    client = await stack.enter_async_context(httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://hub",
        headers={"Authorization": f"Bearer {TOKEN}"}))
    info = {"encryption": encrypted, "database": db.dialect, "seeded_seconds": round(seeded_in, 1),
            "identifiers": len(stored_identifiers),
            "identifiers_not_valid": len(stored_identifiers) - len(identifiers), "customers_who_bought": len(buyers),
            "stored_email_sample": (sample_email or "")[:24] + "…"}
    return Mode(encrypted, ring, client, identifiers, buyers, info)


async def measure(modes: list[Mode], series: str, count: int, warmup: int, rng: random.Random) -> None:
    """Requests to the hubs in turn (alternating which goes first), so that the machine's noise falls on both."""
    for n in range(warmup + count):
        for mode in modes if n % 2 else list(reversed(modes)):
            crypto.install(mode.ring)  # one request at a time: each hub runs under its own keyring
            started = time.perf_counter()
            response = await mode.call(series, rng)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"{response.request.url} answered {response.status_code}: {response.text[:200]}")
            if n >= warmup:
                mode.samples[series].append(elapsed)


def _valid(kind: str, value: str) -> bool:
    """Whether a channel could look this identifier up (the demo seeds some phone numbers no plan allows)."""
    try:
        normalise_identifier(kind, value)
    except ValueError:
        return False
    return True


def primitives(rounds: int = 20_000) -> dict[str, float]:
    """Microseconds per operation of the sealing primitives, on this machine."""
    ring = keyring_from(Settings(encryption_keys=new_key(), blind_index_key=new_key()))
    sealed = ring.seal("gwen.kerbrat@example.fr", "customer.email")

    def per_op(work: Callable[[], object]) -> float:
        started = time.perf_counter()
        for _ in range(rounds):
            work()
        return round((time.perf_counter() - started) / rounds * 1e6, 2)

    return {"seal_us": per_op(lambda: ring.seal("gwen.kerbrat@example.fr", "customer.email")),
            "open_us": per_op(lambda: ring.unseal(sealed, "customer.email")),
            "blind_index_us": per_op(lambda: ring.blind_index("customer_identifier", "email:gwen@example.fr"))}


def print_table(doc: dict[str, Any]) -> None:
    table = Table(title="Customers — latency per request, in-process, one at a time (ms)", show_edge=False)
    for column in ("request", "encryption", "p50", "p95", "p99", "max", "mean"):
        table.add_column(column, justify="left" if column in ("request", "encryption") else "right")
    for mode in doc["modes"]:
        for request in ("lookup", "view_360"):
            f = mode[request]
            table.add_row(request, "on" if mode["encryption"] else "off", f"{f['p50_ms']:.2f}", f"{f['p95_ms']:.2f}",
                          f"{f['p99_ms']:.2f}", f"{f['max_ms']:.2f}", f"{f['mean_ms']:.2f}")
    console.print(table)
    cost = doc["encryption_cost"]
    console.print(f"Encryption costs {cost['lookup_p50_ms']:+.2f} ms at the look-up p50 "
                  f"({cost['lookup_p50_percent']:+.0f} %), {cost['view_360_p50_ms']:+.2f} ms at the 360 p50 "
                  f"({cost['view_360_p50_percent']:+.0f} %). Primitives: seal {doc['primitives']['seal_us']} µs, "
                  f"open {doc['primitives']['open_us']} µs, blind index {doc['primitives']['blind_index_us']} µs.")
    for goal in doc["goals"]:
        console.print(f"{'[green]✓' if goal['met'] else '[red]✗'}[/] {goal['goal']}: {goal['value']} ms")


def _delta(on: float, off: float) -> tuple[float, float]:
    return round(on - off, 3), round((on - off) / off * 100, 1) if off else 0.0


async def main(args: argparse.Namespace) -> dict[str, Any]:
    started_at = utcnow().isoformat()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="omnicanal-customers-bench-") as workdir:
        async with AsyncExitStack() as stack:
            modes = [await prepare(True, args, Path(workdir), stack), await prepare(False, args, Path(workdir), stack)]
            load_before = os.getloadavg()
            for series, count in zip(SERIES, (args.lookups, args.views), strict=True):
                await measure(modes, series, count, args.warmup, rng)
            load_after = os.getloadavg()
    on, off = ({**m.info, **{name: percentiles(v) for name, v in m.samples.items()}} for m in modes)
    lookup_ms, lookup_pct = _delta(on["lookup"]["p50_ms"], off["lookup"]["p50_ms"])
    view_ms, view_pct = _delta(on["view_360"]["p50_ms"], off["view_360"]["p50_ms"])
    return {
        "name": "customers", "started_at": started_at, "finished_at": utcnow().isoformat(),
        "command": " ".join(["python", *sys.argv]),
        "machine": {**machine(), "load_average_before": load_before, "load_average_after": load_after},
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "modes": [on, off], "primitives": primitives(),
        "encryption_cost": {"lookup_p50_ms": lookup_ms, "lookup_p50_percent": lookup_pct,
                            "view_360_p50_ms": view_ms, "view_360_p50_percent": view_pct},
        "goals": [{"goal": f"look-up p99 ≤ {GOAL_LOOKUP_P99_MS:g} ms with encryption on",
                   "value": on["lookup"]["p99_ms"], "met": on["lookup"]["p99_ms"] <= GOAL_LOOKUP_P99_MS}],
    }


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", default="medium", choices=["small", "medium", "large"], help="Demo data to seed.")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--lookups", type=int, default=3_000, help="Timed look-ups per mode.")
    p.add_argument("--views", type=int, default=600, help="Timed 360 views per mode.")
    p.add_argument("--warmup", type=int, default=100, help="Untimed requests before each series.")
    p.add_argument("--database-url", default=None,
                   help="Encryption on: this database instead of a temporary SQLite file (its tables are dropped!).")
    p.add_argument("--database-url-off", default=None,
                   help="Encryption off: this database instead of a temporary SQLite file (its tables are dropped!).")
    p.add_argument("--output", type=Path, default=Path("bench/results/customers.json"))
    return p


def run(argv: list[str] | None = None) -> dict[str, Any]:
    args = parser().parse_args(argv)
    doc = asyncio.run(main(args))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    print_table(doc)
    console.print(f"[green]✓[/] Figures written to {args.output}")
    return doc


if __name__ == "__main__":
    run()
