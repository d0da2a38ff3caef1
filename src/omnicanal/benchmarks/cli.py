"""``omnicanal bench [hub]``: run the hub benchmark, print its table, write ``bench/results/<name>.json``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from omnicanal.benchmarks import report
from omnicanal.benchmarks.databases import DEFAULT_POSTGRES_URL
from omnicanal.benchmarks.duel import DUEL_POSTGRES_URL
from omnicanal.benchmarks.run import BenchOptions, run_benchmark
from omnicanal.benchmarks.server import HUB_FACTORY
from omnicanal.kit.clock import utcnow

app = typer.Typer(name="bench", rich_markup_mode="rich", pretty_exceptions_show_locals=False, add_completion=False,
                  help="Benchmark the hub over HTTP on SQLite and PostgreSQL against the raw-SQL ceiling.")
console = Console()


class DatabaseChoice(StrEnum):
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"
    BOTH = "both"


class Generator(StrEnum):
    AUTO = "auto"
    WRK = "wrk"
    PYTHON = "python"


class Size(StrEnum):
    TINY = "tiny"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


def hub(
    ctx: typer.Context,
    database: Annotated[DatabaseChoice, typer.Option(help="Which database(s) to run on.")] = DatabaseChoice.BOTH,
    seconds: Annotated[float, typer.Option(min=1, max=600, help="Length of each timed scenario.")] = 10,
    clients: Annotated[int, typer.Option(min=1, max=1024, help="Concurrent connections.")] = 32,
    workers: Annotated[int | None, typer.Option(
        min=1, max=64, help="Server processes (default: 2).")] = None,
    size: Annotated[Size, typer.Option(help="Demo data to seed (tiny is for tests).")] = Size.MEDIUM,
    generator: Annotated[Generator, typer.Option(
        help="Load generator: wrk if installed (auto), or the Python aiohttp client.")] = Generator.AUTO,
    warmup: Annotated[float, typer.Option(min=0, max=60, help="Untimed seconds before each scenario.")] = 2,
    ceiling: Annotated[bool, typer.Option(help="Measure the raw PostgreSQL ceiling (pgbench) in the run.")] = True,
    ceiling_script: Annotated[Path | None, typer.Option(help="Path of pg-ceiling/ceiling.sh.")] = None,
    postgres_url: Annotated[str, typer.Option(
        help="Benchmark database (dropped and created; its name must start with omnicanal_bench).")]
    = DEFAULT_POSTGRES_URL,
    race_units: Annotated[int, typer.Option(min=1, max=10_000, help="Units of the hot SKU in the race.")] = 50,
    race_attempts: Annotated[int, typer.Option(min=1, max=1_000, help="Orders per client in the race.")] = 8,
    quiet_wait: Annotated[float, typer.Option(
        min=0, max=3_600, help="Wait up to this many seconds for the machine to be quiet before starting.")] = 0,
    app_factory: Annotated[str, typer.Option(
        "--app", help="ASGI app factory to serve, module:function (to compare an experimental variant).")]
    = HUB_FACTORY,
    name: Annotated[str, typer.Option(help="Results file name: <output-dir>/<name>.json.")] = "hub",
    output_dir: Annotated[Path, typer.Option(help="Where results files go.")] = Path("bench/results"),
) -> None:
    """Order placement, availability reads, a hot-SKU race and server memory — on a fresh seeded hub."""
    if ctx.invoked_subcommand is not None:  # `omnicanal bench hub …`: the command itself runs
        return
    options = BenchOptions(
        databases=["sqlite", "postgresql"] if database is DatabaseChoice.BOTH else [database.value],
        seconds=seconds, clients=clients, workers=workers, size=size.value, generator=generator.value,
        warmup=warmup, ceiling=ceiling, ceiling_script=ceiling_script, postgres_url=postgres_url,
        race_units=race_units, race_attempts=race_attempts, quiet_wait=quiet_wait,
        app_factory=app_factory)
    started_at = utcnow().isoformat()
    try:
        figures = run_benchmark(options, console)
    except RuntimeError as exc:
        console.print(f"[red]✗[/] {exc}")
        raise typer.Exit(1) from exc
    doc = report.document(name, {**vars(options), "ceiling_script": str(ceiling_script or "")}, figures, started_at)
    path = report.write(doc, output_dir)
    report.print_tables(doc, console)
    console.print(f"[green]✓[/] Figures written to {path}"
                  + ("" if doc["all_goals_met"] else " — [yellow]some goals are not met[/]"))


app.callback(invoke_without_command=True)(hub)
app.command("hub")(hub)


class CatalogueSize(StrEnum):
    SMALL = "small"
    MEDIUM = "medium"


@app.command("routing")
def routing(
    orders: Annotated[int, typer.Option(min=10, max=1_000_000, help="Generated ship orders.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Same seed, same network stock and orders.")] = 42,
    size: Annotated[CatalogueSize, typer.Option(help="The demo catalogue and its stock.")] = CatalogueSize.MEDIUM,
    days: Annotated[int, typer.Option(min=1, max=365, help="Days the orders span (capacity is daily).")] = 8,
    batch_size: Annotated[int, typer.Option(
        min=0, max=1_000_000, help="Orders per MIP wave (0: a whole day's orders at once).")] = 0,
    time_limit: Annotated[float, typer.Option(min=0.1, max=600, help="Solver seconds per wave.")] = 10.0,
    hindsight: Annotated[bool, typer.Option(
        help="Also route every day at once knowing all orders: the bound no day-by-day routing beats (slower).")]
    = False,
    name: Annotated[str, typer.Option(help="Results file name: <output-dir>/<name>.json.")] = "routing",
    output_dir: Annotated[Path, typer.Option(help="Where results files go.")] = Path("bench/results"),
) -> None:
    """Routing on the demo network, in memory: nearest store vs the hub's routing vs the batch MIP optimum."""
    import sys

    from omnicanal.benchmarks.routing import RoutingBenchOptions, print_tables, run_routing_benchmark

    started_at = utcnow().isoformat()
    options = RoutingBenchOptions(orders=orders, seed=seed, size=size.value, days=days, batch_size=batch_size,
                                  time_limit=time_limit, hindsight=hindsight)
    figures = run_routing_benchmark(options, console)
    doc = {"name": name, "started_at": started_at, "finished_at": utcnow().isoformat(),
           "command": " ".join(["omnicanal", "bench", *sys.argv[sys.argv.index("bench") + 1:]])
           if "bench" in sys.argv else " ".join(sys.argv), "machine": report.machine(), **figures,
           "all_goals_met": all(goal["met"] for goal in figures["goals"])}
    path = report.write(doc, output_dir)
    print_tables(doc, console)
    console.print(f"[green]✓[/] Figures written to {path}"
                  + ("" if doc["all_goals_met"] else " — [yellow]some goals are not met[/]"))


class DuelScenario(StrEnum):
    ORDERS = "orders"
    AVAILABILITY = "availability"


class DuelDatabase(StrEnum):
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


@app.command("duel")
def duel(
    scenario: Annotated[DuelScenario, typer.Argument(help="What both sides are loaded with.")] = DuelScenario.ORDERS,
    against: Annotated[Path | None, typer.Option(
        help="Side A: another checkout's src folder (git worktree add /tmp/base REV → /tmp/base/src). "
             "Without it both sides run this code: a calibration.")] = None,
    rounds: Annotated[int, typer.Option(min=1, max=50, help="Timed rounds.")] = 3,
    seconds: Annotated[float, typer.Option(min=1, max=600, help="Length of each round.")] = 10,
    warmup: Annotated[float, typer.Option(min=0, max=60, help="Untimed seconds before each round.")] = 3,
    clients: Annotated[int, typer.Option(min=1, max=512, help="Connections per side.")] = 16,
    database: Annotated[DuelDatabase, typer.Option(help="The database both sides share.")] = DuelDatabase.POSTGRESQL,
    postgres_url: Annotated[str, typer.Option(
        help="PostgreSQL database to (re)create; its name must start with omnicanal_bench.")]
    = DUEL_POSTGRES_URL,
    size: Annotated[Size, typer.Option(help="Demo data to seed.")] = Size.MEDIUM,
    generator: Annotated[Generator, typer.Option(help="Load generator.")] = Generator.AUTO,
    name: Annotated[str, typer.Option(help="Results file name: <output-dir>/<name>.json.")] = "duel",
    output_dir: Annotated[Path, typer.Option(help="Where results files go.")] = Path("bench/results"),
) -> None:
    """Two versions of the hub side by side, loaded at the same time: hub CPU per success and its ratio B/A."""
    from omnicanal.benchmarks.duel import DuelOptions, print_duel, run_duel

    started_at = utcnow().isoformat()
    options = DuelOptions(scenario=scenario.value, against=against, rounds=rounds, seconds=seconds, warmup=warmup,
                          clients=clients, database=database.value, postgres_url=postgres_url, size=size.value,
                          generator=generator.value)
    try:
        found = run_duel(options, console)
    except ValueError as exc:
        console.print(f"[red]✗[/] {exc}")
        raise typer.Exit(2) from exc
    doc = {"name": name, "started_at": started_at, "finished_at": utcnow().isoformat(),
           "machine": report.machine(), **found}
    path = report.write(doc, output_dir)
    print_duel(found, console)
    console.print(f"[green]✓[/] Figures written to {path}")


@app.command("customers", add_help_option=False,
             context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def customers(ctx: typer.Context) -> None:
    """Customer look-up and 360 latency, encryption on vs off (bench/customers_bench.py, from the repository
    root; its options: [bold]omnicanal bench customers --help[/])."""
    import runpy

    script = Path("bench/customers_bench.py")
    if not script.exists():
        console.print(f"[red]✗[/] {script} not found: run from the repository root.")
        raise typer.Exit(1)
    runpy.run_path(str(script))["run"](list(ctx.args))
