"""Two versions of the hub measured side by side: ``omnicanal bench duel``.

Runs one after the other on a shared machine differ by some ±10 % — more than most single changes. Here both
versions are served at once (one worker each) on the same freshly seeded database and loaded at once, so that
they meet the same noise; what is compared is the hub CPU each spends per successful request, and their ratio.

Side A serves the code in ``against`` — another checkout's ``src`` folder (``git worktree add /tmp/base REV``,
then ``--against /tmp/base/src``), put first on ``PYTHONPATH`` of the same interpreter — and side B this code.
Without ``against`` both sides run this code: a calibration, whose ratio is the method's own bias (the two sides
share the database: orders, which take the same rows, are not quite symmetric).
"""

from __future__ import annotations

import asyncio
import secrets
import statistics
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from omnicanal.benchmarks import databases, load, scenarios
from omnicanal.benchmarks.server import HubServer, start_hub
from omnicanal.benchmarks.traffic import LoadResult, Traffic

DUEL_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/omnicanal_bench_duel"


@dataclass
class DuelOptions:
    scenario: str = "orders"  # or "availability"
    against: Path | None = None
    rounds: int = 3
    seconds: float = 10.0
    warmup: float = 3.0
    clients: int = 16  # per side
    database: str = "postgresql"
    postgres_url: str = DUEL_POSTGRES_URL
    size: str = "medium"
    generator: str = "auto"


def run_duel(options: DuelOptions, console: Console) -> dict[str, Any]:
    """Seed, serve both sides, load them together ``rounds`` times; every round's figures and the median ratio."""
    if options.against is not None and not (options.against / "omnicanal").is_dir():
        raise ValueError(f"{options.against} holds no omnicanal package (give a checkout's src folder)")
    generator = load.pick_generator(options.generator)
    with tempfile.TemporaryDirectory(prefix="omnicanal-duel-") as folder:
        workdir = Path(folder)
        if options.database == "postgresql":
            url = options.postgres_url
            databases.recreate_postgres(url)
        else:
            url = databases.sqlite_url(workdir)
        with Progress(console=console, transient=True) as progress:
            databases.migrate_and_seed(url, databases.demo_size(options.size), progress)
        token = secrets.token_urlsafe(24)
        sides: list[HubServer] = []
        try:
            for env in ({"PYTHONPATH": str(options.against)} if options.against else {}, {}):
                sides.append(start_hub(database_url=url, admin_token=token, workers=1, workdir=workdir, env=env))
            rounds = _rounds(sides[0], sides[1], url, token, options, generator, console)
        finally:
            for side in sides:
                side.stop()
    ratios = [r["ratio_b_to_a"] for r in rounds if r["ratio_b_to_a"] is not None]
    return {"scenario": options.scenario, "against": str(options.against) if options.against else None,
            "calibration": options.against is None, "generator": generator, "clients_per_side": options.clients,
            "seconds": options.seconds, "database": options.database, "rounds": rounds,
            "median_ratio_b_to_a": round(statistics.median(ratios), 3) if ratios else None}


def _rounds(a: HubServer, b: HubServer, url: str, token: str, options: DuelOptions, generator: str,
            console: Console) -> list[dict[str, Any]]:
    data = asyncio.run(databases.read_bench_data(url))
    if failed := asyncio.run(scenarios.top_up(b.base_url, token, location=data.warehouse, skus=data.skus)):
        raise RuntimeError(f"{failed} stock top-ups failed:\n{b.log_tail()}")
    traffic = (scenarios.order_traffic(data.skus, token) if options.scenario == "orders"
               else scenarios.availability_traffic(data.skus, token))
    found = []
    for number in range(1, options.rounds + 1):
        if options.warmup > 0:
            _together(a, b, traffic, options.clients, options.warmup, generator)
        before = a.cpu_seconds(), b.cpu_seconds()
        result_a, result_b = _together(a, b, traffic, options.clients, options.seconds, generator)
        spent = a.cpu_seconds() - before[0], b.cpu_seconds() - before[1]
        per_a, per_b = (_ms_per_success(seconds, result) for seconds, result in zip(spent, (result_a, result_b),
                                                                                      strict=True))
        ratio = round(per_b / per_a, 3) if per_a and per_b else None
        found.append({"round": number, "a": _side(result_a, per_a), "b": _side(result_b, per_b), "ratio_b_to_a": ratio})
        console.print(f"round {number}: A {per_a or 0:.3f} ms, B {per_b or 0:.3f} ms of hub CPU a success — "
                      f"B/A {ratio}")
    return found


def _together(a: HubServer, b: HubServer, traffic: Traffic, clients: int, seconds: float,
              generator: str) -> tuple[LoadResult, LoadResult]:
    """Load both sides at the same time, each with its own idempotency keys."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = [pool.submit(load.run_load, generator, side.base_url, traffic, clients=clients, seconds=seconds,
                            run_id=secrets.token_hex(4)) for side in (a, b)]
        return runs[0].result(), runs[1].result()


def _ms_per_success(cpu_seconds: float, result: LoadResult) -> float | None:
    return round(cpu_seconds * 1000 / result.succeeded, 3) if result.succeeded else None


def _side(result: LoadResult, per_success: float | None) -> dict[str, Any]:
    return {"succeeded": result.succeeded, "throughput_per_s": round(result.throughput, 1),
            "statuses": {str(k): v for k, v in result.statuses.items()}, "cpu_ms_per_success": per_success}


def print_duel(found: dict[str, Any], console: Console) -> None:
    table = Table(title=f"Side by side — {found['scenario']}, {found['clients_per_side']} clients a side, "
                        f"{'calibration (same code both sides)' if found['calibration'] else 'A: ' + found['against']}")
    for column in ("round", "A successes", "A ms CPU", "B successes", "B ms CPU", "B/A"):
        table.add_column(column, justify="right")
    for r in found["rounds"]:
        table.add_row(str(r["round"]), f"{r['a']['succeeded']:,}", str(r["a"]["cpu_ms_per_success"]),
                      f"{r['b']['succeeded']:,}", str(r["b"]["cpu_ms_per_success"]), str(r["ratio_b_to_a"]))
    console.print(table)
    console.print(f"median B/A: {found['median_ratio_b_to_a']}")
