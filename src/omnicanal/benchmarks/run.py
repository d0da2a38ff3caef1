"""One benchmark run: the ceiling, then per database a fresh seeded hub served for real, the timed scenarios,
the race, the memory — and the figures, as one JSON-able dictionary.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psutil
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.engine import make_url

from omnicanal.benchmarks import ceiling as ceilings
from omnicanal.benchmarks import databases, goals, load, scenarios
from omnicanal.benchmarks.databases import DEFAULT_POSTGRES_URL
from omnicanal.benchmarks.monitor import CpuSnapshot, MemoryWatch
from omnicanal.benchmarks.race import run_race
from omnicanal.benchmarks.server import HUB_FACTORY, HubServer, start_hub
from omnicanal.benchmarks.traffic import LoadResult, Traffic

T = TypeVar("T")
MB = 1024 * 1024
RACE_CHANNELS = ("web", "app", "marketplace")
QUIET_BELOW = 25.0  # % CPU busy: a machine calm enough to start
# Server processes, on SQLite as on PostgreSQL (SQLite's writers take turns across processes: kit.writer_turn).
DEFAULT_WORKERS = 2
NOISY_CORES = 0.25  # cores used by other processes during a scenario above which its figures are flagged


@dataclass
class BenchOptions:
    databases: list[str] = field(default_factory=lambda: ["sqlite", "postgresql"])
    seconds: float = 10.0
    clients: int = 32
    workers: int | None = None  # default: DEFAULT_WORKERS
    size: str = "medium"
    generator: str = "auto"
    warmup: float = 2.0
    ceiling: bool = True
    ceiling_script: Path | None = None
    postgres_url: str = DEFAULT_POSTGRES_URL
    race_units: int = 50
    race_attempts: int = 8
    quiet_wait: float = 0.0
    app_factory: str = HUB_FACTORY


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description:<32}"), BarColumn(), TimeElapsedColumn(), console=console,
                    transient=True)


def _timed(progress: Progress, label: str, seconds: float, work: Callable[[], T]) -> T:
    """Run ``work`` in a thread while a bar shows its progress; bounded by ``seconds`` plus a margin."""
    task = progress.add_task(label, total=max(seconds, 0.1))
    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(work)
        while not future.done() and time.monotonic() - began < seconds + 180:
            progress.update(task, completed=min(seconds, time.monotonic() - began))
            time.sleep(0.2)
        result = future.result(timeout=max(1.0, seconds + 180 - (time.monotonic() - began)))
    progress.remove_task(task)
    return result


def run_benchmark(options: BenchOptions, console: Console) -> dict[str, Any]:
    """Every figure of one run (see ``bench/README.md`` for their meaning)."""
    generator = load.pick_generator(options.generator)
    noise = _wait_for_quiet(options.quiet_wait, console)
    postgres_problem = (databases.postgres_unavailable(options.postgres_url)
                        if "postgresql" in options.databases or options.ceiling else None)
    ceiling = ceilings.Ceiling(note="not measured: --no-ceiling")
    if options.ceiling:
        with _progress(console) as progress:
            script = ceilings.find_script(options.ceiling_script)
            ceiling = _timed(progress, "raw PostgreSQL ceiling (pgbench)", 2 * options.seconds,
                             lambda: ceilings.measure(script, max(1, round(options.seconds)), postgres_problem))
        console.print(f"[green]✓[/] ceiling: {_ceiling_text(ceiling)}")
    results: dict[str, Any] = {}
    for database in options.databases:
        if database == "postgresql" and postgres_problem:
            results[database] = {"skipped": postgres_problem}
            console.print(f"[yellow]•[/] PostgreSQL skipped: {postgres_problem}")
            continue
        results[database] = bench_database(database, options, ceiling, generator, console)
    return {"generator": generator, "machine_busy_before_run": noise, "ceiling": ceiling.as_dict(),
            "databases": results}


def _wait_for_quiet(limit: float, console: Console) -> dict[str, Any]:
    """How busy the machine is before the run; with ``limit`` > 0, first wait up to that long for it to calm
    down (other work on a shared machine skews every figure)."""
    began = time.monotonic()
    busy = psutil.cpu_percent(interval=1.0)
    while busy >= QUIET_BELOW and time.monotonic() - began < limit:
        busy = psutil.cpu_percent(interval=1.0)
    if busy >= QUIET_BELOW:
        console.print(f"[yellow]•[/] the machine is {busy:.0f}% busy before the run: figures will understate the hub")
    return {"cpu_busy_percent": busy, "load_average": [round(value, 2) for value in os.getloadavg()],
            "waited_s": round(time.monotonic() - began - 1.0, 1)}


def _ceiling_text(ceiling: ceilings.Ceiling) -> str:
    if not ceiling.measured:
        return ceiling.note or "not measured"
    return f"{ceiling.orders_per_s:,.0f} orders/s, {ceiling.reads_per_s:,.0f} reads/s"


def bench_database(database: str, options: BenchOptions, ceiling: ceilings.Ceiling, generator: str,
                   console: Console) -> dict[str, Any]:
    """Seed a fresh database, serve it, run every scenario against it."""
    with tempfile.TemporaryDirectory(prefix=f"omnicanal-bench-{database}-") as folder:
        workdir = Path(folder)
        url = databases.sqlite_url(workdir) if database == "sqlite" else options.postgres_url
        if database == "postgresql":
            databases.recreate_postgres(url)
        size = databases.demo_size(options.size)
        began = time.monotonic()
        with Progress(console=console, transient=True) as progress:
            rows = databases.migrate_and_seed(url, size, progress)
        console.print(f"[green]✓[/] {database}: seeded {size.name} demo data in {time.monotonic() - began:.1f} s")
        token = secrets.token_urlsafe(24)
        server = start_hub(database_url=url, admin_token=token, workers=options.workers or DEFAULT_WORKERS,
                           workdir=workdir, factory=options.app_factory)
        try:
            figures = _scenarios(server, url, token, options, ceiling, generator, console, database)
        finally:
            server.stop()
        figures.update(workers=server.workers, size=size.name, seed_rows=rows,
                       database_url=make_url(url).render_as_string(hide_password=True)
                       if database == "postgresql" else "sqlite (temporary file)")
        return figures


def _scenarios(server: HubServer, url: str, token: str, options: BenchOptions, ceiling: ceilings.Ceiling,
               generator: str, console: Console, database: str) -> dict[str, Any]:
    data = asyncio.run(databases.read_bench_data(url))
    run_id = secrets.token_hex(4)
    failed = asyncio.run(scenarios.top_up(server.base_url, token, location=data.warehouse, skus=data.skus))
    if failed:
        raise RuntimeError(f"{failed} stock top-ups failed:\n{server.log_tail()}")
    orders = scenarios.order_traffic(data.skus, token)
    reads = scenarios.availability_traffic(data.skus, token)
    found: dict[str, Any] = {}
    with MemoryWatch(server) as memory, _progress(console) as progress:
        for name, traffic in (("orders", orders), ("availability", reads)):
            if options.warmup > 0:
                _load(progress, f"{database} {name} warm-up", server, generator, traffic, options, options.warmup,
                      f"{run_id}w{name}")
            result, cpu = _load(progress, f"{database} {name}", server, generator, traffic, options,
                                options.seconds, f"{run_id}{name}")
            found[name] = _load_figures(name, result, cpu, ceiling)
        race_channels = [code for code in RACE_CHANNELS if code in data.online_channels] or data.online_channels
        race = _timed(progress, f"{database} hot-SKU race", 5, lambda: asyncio.run(run_race(
            server.base_url, token, sku=data.skus[0], location=data.warehouse, channels=race_channels,
            units=options.race_units, clients=options.clients, attempts=options.race_attempts, run_id=run_id)))
    found["race"] = {**race.as_dict(), "goals": [goals.race_goal(race.oversold, race.exact).as_dict()]}
    rss = server.rss_bytes()
    pss = server.pss_bytes()
    found["memory"] = {"rss_mb": round(rss / MB, 1), "peak_rss_mb": round(max(memory.peak, rss) / MB, 1),
                       "pss_mb": round(pss / MB, 1) if pss else None,
                       "processes_mb": [round(size / MB, 1) for size in server.rss_by_process()],
                       "goals": [goals.memory_goal(rss / MB, options.size).as_dict()]}
    _note_server_errors(found, server, console, database)
    console.print(f"[green]✓[/] {database}: " + ", ".join(
        f"{name} {found[name]['throughput_per_s']:,.0f}/s p99 {found[name]['latency_ms']['p99']:.0f} ms"
        for name in ("orders", "availability")) + f", race {race.sold} sold / {race.refused} refused, "
        f"{found['memory']['rss_mb']:.0f} MB")
    return {"scenarios": found}


def _note_server_errors(found: dict[str, Any], server: HubServer, console: Console, database: str) -> None:
    """5xx answers mean the hub failed, not that it was slow: keep the end of its log with the figures."""
    failures = sum(count for name in ("orders", "availability", "race")
                   for status, count in found[name]["statuses"].items() if int(status) >= 500)
    if not failures:
        return
    tail = server.log_tail(6000)
    found["server_errors"] = {"count": failures, "log_tail": tail}
    last = next((line for line in reversed(tail.splitlines()) if "Error" in line), "see server_errors.log_tail")
    console.print(f"[red]✗[/] {database}: the hub answered {failures} requests with 5xx — {last.strip()[:300]}")


def _load(progress: Progress, label: str, server: HubServer, generator: str, traffic: Traffic,
          options: BenchOptions, seconds: float, run_id: str) -> tuple[LoadResult, dict[str, Any]]:
    database = make_url(server.database_url).database if server.database_url.startswith("postgresql") else None
    before = CpuSnapshot.take(server, database)
    result = _timed(progress, label, seconds, lambda: load.run_load(
        generator, server.base_url, traffic, clients=options.clients, seconds=seconds, run_id=run_id))
    return result, before.cores_until(CpuSnapshot.take(server, database))


def _load_figures(name: str, result: LoadResult, cpu: dict[str, Any], ceiling: ceilings.Ceiling) -> dict[str, Any]:
    raw = ceiling.orders_per_s if name == "orders" else ceiling.reads_per_s
    ratio = round(result.throughput / raw, 3) if raw else None
    per_request = {name: round(cores / result.throughput * 1000, 2) if result.throughput else None
                   for name, cores in cpu.items() if name in ("hub", "postgres")}
    cpu["other_processes"] = round(max(0.0, cpu["machine"] - cpu["hub"] - cpu["postgres"] - cpu["load_generator"]), 2)
    return {**result.as_dict(), "ceiling_per_s": raw, "ratio_to_ceiling": ratio, "cpu_cores": cpu,
            "cpu_ms_per_success": per_request, "noisy": cpu["other_processes"] > NOISY_CORES,
            "goals": [goal.as_dict() for goal in goals.load_goals(name, result.throughput, result.p99_ms, raw)]}
